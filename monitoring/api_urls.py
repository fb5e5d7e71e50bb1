"""REST endpoints of monitoring, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from monitoring.api import (
    dashboard,
    energy,
    environment,
    exports,
    load,
    losses,
    meter_readings,
    schedules,
    trends,
)

router = SimpleRouter()
router.register("exports", exports.ExportJobViewSet, basename="export")
router.register("scheduled-reports", schedules.ScheduledReportViewSet,
                basename="scheduled-report")

urlpatterns = [
    path("reports/energy/", energy.EnergyReportView.as_view(), name="report-energy"),
    path("monitoring/dashboard/", dashboard.DashboardView.as_view(), name="monitoring-dashboard"),
    path("monitoring/trends/", trends.TrendView.as_view(), name="monitoring-trends"),
    path("monitoring/environment/", environment.EnvironmentView.as_view(),
         name="monitoring-environment"),
    path("monitoring/load/", load.LoadView.as_view(), name="monitoring-load"),
    path("monitoring/extremes/", load.ExtremesView.as_view(), name="monitoring-extremes"),
    path("monitoring/meter-readings/", meter_readings.MeterReadingsView.as_view(),
         name="monitoring-meter-readings"),
    path("monitoring/losses/", losses.LossReportView.as_view(), name="monitoring-losses"),
    *router.urls,
]
