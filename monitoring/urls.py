from django.urls import path

from monitoring.views import energy

app_name = "monitoring"

urlpatterns = [
    path("reports/energy/", energy.EnergyReportView.as_view(), name="energy_report"),
]

from monitoring.views import losses  # noqa: E402

urlpatterns += [
    path("losses/", losses.LossListView.as_view(), name="losses"),
    path("losses/<uuid:public_id>/", losses.LossDetailView.as_view(), name="loss_detail"),
]
