from django.urls import path

from monitoring.views import energy

app_name = "monitoring"

urlpatterns = [
    path("reports/energy/", energy.EnergyReportView.as_view(), name="energy_report"),
]

from monitoring.views import environment as environment_views  # noqa: E402
from monitoring.views import trends as trends_views  # noqa: E402

urlpatterns += [
    path("trends/", trends_views.TrendsView.as_view(), name="trends"),
    path("environment/", environment_views.EnvironmentView.as_view(), name="environment"),
]
