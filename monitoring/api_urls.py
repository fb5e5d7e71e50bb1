"""REST endpoints of monitoring, mounted under /api/v1/."""

from django.urls import path

from monitoring.api import energy

urlpatterns = [
    path("reports/energy/", energy.EnergyReportView.as_view(), name="report-energy"),
]

from monitoring.api import meter_readings as _meter_readings  # noqa: E402

urlpatterns.append(path("monitoring/meter-readings/", _meter_readings.MeterReadingsView.as_view(),
                        name="monitoring-meter-readings"))
