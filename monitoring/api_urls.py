"""REST endpoints of monitoring, mounted under /api/v1/."""

from django.urls import path

from monitoring.api import energy
from monitoring.api import load as load_api

urlpatterns = [
    path("reports/energy/", energy.EnergyReportView.as_view(), name="report-energy"),
    path("monitoring/load/", load_api.LoadView.as_view(), name="monitoring-load"),
    path("monitoring/extremes/", load_api.ExtremesView.as_view(), name="monitoring-extremes"),
]

from monitoring.api import dashboard  # noqa: E402

urlpatterns += [
    path("monitoring/dashboard/", dashboard.DashboardView.as_view(), name="monitoring-dashboard"),
from monitoring.api import environment as environment_api  # noqa: E402
from monitoring.api import trends as trends_api  # noqa: E402

urlpatterns += [
    path("monitoring/trends/", trends_api.TrendView.as_view(), name="monitoring-trends"),
    path("monitoring/environment/", environment_api.EnvironmentView.as_view(),
         name="monitoring-environment"),
]

from monitoring.api import meter_readings as _meter_readings  # noqa: E402

urlpatterns.append(path("monitoring/meter-readings/", _meter_readings.MeterReadingsView.as_view(),
                        name="monitoring-meter-readings"))
from monitoring.api import losses  # noqa: E402

urlpatterns += [
    path("monitoring/losses/", losses.LossReportView.as_view(), name="monitoring-losses"),
]
