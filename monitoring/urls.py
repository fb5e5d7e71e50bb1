from django.urls import path

from monitoring.views import energy

app_name = "monitoring"

urlpatterns = [
    path("reports/energy/", energy.EnergyReportView.as_view(), name="energy_report"),
]

from monitoring.views import meter_readings as _meter_readings  # noqa: E402

urlpatterns.append(path("meter-readings/", _meter_readings.MeterReadingsView.as_view(),
                        name="meter_readings"))
