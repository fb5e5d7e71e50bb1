"""REST endpoints of the meters app, mounted under /api/v1/."""

from rest_framework.routers import SimpleRouter

from meters import api

router = SimpleRouter()
router.register("properties", api.PropertyViewSet, basename="property")
router.register("billing-points", api.BillingPointViewSet, basename="billing-point")
router.register("connections", api.BillingPointViewSet, basename="connection")
router.register("meters", api.MeterViewSet, basename="meter")
router.register("meter-assignments", api.MeterAssignmentViewSet, basename="meter-assignment")

urlpatterns = router.urls
