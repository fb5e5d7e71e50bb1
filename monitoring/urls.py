from django.urls import path

from monitoring.views import (
    dashboard,
    energy,
    environment,
    exports,
    load,
    losses,
    meter_readings,
    trends,
)

app_name = "monitoring"

urlpatterns = [
    path("", dashboard.EnergyDashboardView.as_view(), name="dashboard"),
    path("properties/<uuid:public_id>/", dashboard.PropertyDashboardView.as_view(),
         name="property_dashboard"),
    path("reports/energy/", energy.EnergyReportView.as_view(), name="energy_report"),
    path("trends/", trends.TrendsView.as_view(), name="trends"),
    path("environment/", environment.EnvironmentView.as_view(), name="environment"),
    path("load/", load.LoadView.as_view(), name="load"),
    path("extremes/", load.ExtremesView.as_view(), name="extremes"),
    path("meter-readings/", meter_readings.MeterReadingsView.as_view(), name="meter_readings"),
    path("losses/", losses.LossListView.as_view(), name="losses"),
    path("losses/<uuid:public_id>/", losses.LossDetailView.as_view(), name="loss_detail"),
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
