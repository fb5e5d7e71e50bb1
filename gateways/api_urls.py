"""REST endpoints of the gateways app, mounted under /api/v1/."""

from rest_framework.routers import SimpleRouter

from gateways import api
from gateways.api.sensor_maps import SensorMapViewSet

router = SimpleRouter()
router.register("gateways", api.GatewayViewSet, basename="gateway")
router.register("gateway-profiles", api.ProfileViewSet, basename="gateway-profile")
router.register("register-maps", api.RegisterMapViewSet, basename="register-map")
router.register("sensor-maps", SensorMapViewSet, basename="sensor-map")
router.register("gateway-polls", api.PollRunViewSet, basename="gateway-poll")
router.register("gateway-errors", api.GatewayErrorViewSet, basename="gateway-error")

urlpatterns = router.urls
