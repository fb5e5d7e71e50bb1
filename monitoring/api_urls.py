"""REST endpoints of monitoring, mounted under /api/v1/."""

from django.urls import path

from monitoring import api

urlpatterns = [
    path("reports/energy/", api.EnergyReportView.as_view(), name="report-energy"),
]
