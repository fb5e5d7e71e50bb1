from django.urls import path

from monitoring.views import energy
from monitoring.views import load as load_views

app_name = "monitoring"

urlpatterns = [
    path("reports/energy/", energy.EnergyReportView.as_view(), name="energy_report"),
    path("load/", load_views.LoadView.as_view(), name="load"),
    path("extremes/", load_views.ExtremesView.as_view(), name="extremes"),
]
