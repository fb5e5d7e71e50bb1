from django.urls import path

from monitoring.views import energy

app_name = "monitoring"

urlpatterns = [
    path("reports/energy/", energy.EnergyReportView.as_view(), name="energy_report"),
]

from monitoring.views import dashboard  # noqa: E402

urlpatterns += [
    path("", dashboard.EnergyDashboardView.as_view(), name="dashboard"),
    path("properties/<uuid:public_id>/", dashboard.PropertyDashboardView.as_view(),
         name="property_dashboard"),
]
