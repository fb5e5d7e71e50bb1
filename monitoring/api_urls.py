"""REST endpoints of monitoring, mounted under /api/v1/."""

from django.urls import path

from monitoring.api import energy
from monitoring.api import load as load_api

urlpatterns = [
    path("reports/energy/", energy.EnergyReportView.as_view(), name="report-energy"),
    path("monitoring/load/", load_api.LoadView.as_view(), name="monitoring-load"),
    path("monitoring/extremes/", load_api.ExtremesView.as_view(), name="monitoring-extremes"),
]
