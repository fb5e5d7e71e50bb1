"""REST endpoints of the meters app, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from meters import api

router = SimpleRouter()
router.register("properties", api.PropertyViewSet, basename="property")
router.register("billing-points", api.BillingPointViewSet, basename="billing-point")
router.register("connections", api.BillingPointViewSet, basename="connection")
router.register("meters", api.MeterViewSet, basename="meter")
router.register("sensors", api.SensorViewSet, basename="sensor")
router.register("meter-assignments", api.MeterAssignmentViewSet, basename="meter-assignment")

urlpatterns = [
    path("meters/import/", api.MeterImportView.as_view(), name="meter-import"),
    path(
        "meter-assignments/<uuid:id>/close/",
        api.MeterAssignmentCloseView.as_view(),
        name="meter-assignment-close",
    ),
    path(
        "meter-assignments/<uuid:id>/replace/",
        api.MeterAssignmentReplaceView.as_view(),
        name="meter-assignment-replace",
    ),
    *router.urls,
]
