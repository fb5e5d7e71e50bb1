"""REST endpoints of the readings app, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from readings import api
from readings.measurements import api as measurements_api

router = SimpleRouter()
router.register("readings/uploads", api.UploadViewSet, basename="reading-upload")

urlpatterns = [
    path("readings/", api.ReadingsView.as_view(), name="readings"),
    path("readings/consumption/", api.ConsumptionView.as_view(), name="reading-consumption"),
    path(
        "readings/consumption/chart/",
        api.ConsumptionChartView.as_view(),
        name="reading-consumption-chart",
    ),
    path("measurements/", measurements_api.MeasurementsView.as_view(), name="measurements"),
    *router.urls,
]

# raw data exports (streamed CSV; the portal's download forms use them too)
from readings.api import export as export_api  # noqa: E402

urlpatterns += [
    path("readings/export.csv", export_api.ReadingsExportView.as_view(), name="readings-export"),
    path("measurements/export.csv", export_api.MeasurementsExportView.as_view(),
         name="measurements-export"),
]
