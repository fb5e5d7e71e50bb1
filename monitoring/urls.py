from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("reports/energy/", views.EnergyReportView.as_view(), name="energy_report"),
]
