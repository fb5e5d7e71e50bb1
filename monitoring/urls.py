from django.urls import path

from monitoring.views import energy, exports
from monitoring.views import energy
from monitoring.views import load as load_views

app_name = "monitoring"

urlpatterns = [
    path("reports/energy/", energy.EnergyReportView.as_view(), name="energy_report"),
    # exports (background jobs) and scheduled reports
    path("exports/", exports.ExportListView.as_view(), name="export_list"),
    path("exports/<uuid:id>/", exports.ExportDetailView.as_view(), name="export_detail"),
    path("exports/<uuid:id>/download/", exports.ExportDownloadView.as_view(),
         name="export_download"),
    path("schedules/", exports.ScheduleListView.as_view(), name="schedule_list"),
    path("schedules/new/", exports.ScheduleFormView.as_view(), name="schedule_new"),
    path("schedules/<uuid:id>/", exports.ScheduleFormView.as_view(), name="schedule_edit"),
    path("schedules/<uuid:id>/delete/", exports.ScheduleDeleteView.as_view(),
         name="schedule_delete"),
]

from monitoring.views import dashboard  # noqa: E402

urlpatterns += [
    path("", dashboard.EnergyDashboardView.as_view(), name="dashboard"),
    path("properties/<uuid:public_id>/", dashboard.PropertyDashboardView.as_view(),
         name="property_dashboard"),
]

from monitoring.views import environment as environment_views  # noqa: E402
from monitoring.views import trends as trends_views  # noqa: E402

urlpatterns += [
    path("trends/", trends_views.TrendsView.as_view(), name="trends"),
    path("environment/", environment_views.EnvironmentView.as_view(), name="environment"),
    path("load/", load_views.LoadView.as_view(), name="load"),
    path("extremes/", load_views.ExtremesView.as_view(), name="extremes"),
]

from monitoring.views import meter_readings as _meter_readings  # noqa: E402

urlpatterns.append(path("meter-readings/", _meter_readings.MeterReadingsView.as_view(),
                        name="meter_readings"))
from monitoring.views import losses  # noqa: E402

urlpatterns += [
    path("losses/", losses.LossListView.as_view(), name="losses"),
    path("losses/<uuid:public_id>/", losses.LossDetailView.as_view(), name="loss_detail"),
]
