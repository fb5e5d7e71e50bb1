"""REST endpoints of monitoring, mounted under /api/v1/."""

from django.urls import path

from monitoring.api import energy

urlpatterns = [
    path("reports/energy/", energy.EnergyReportView.as_view(), name="report-energy"),
]

from monitoring.api import losses  # noqa: E402

urlpatterns += [
    path("monitoring/losses/", losses.LossReportView.as_view(), name="monitoring-losses"),
]
