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
