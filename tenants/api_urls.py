"""REST endpoints of the tenants app, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from tenants import api

router = SimpleRouter()
router.register("tenants", api.TenantViewSet, basename="tenant")
router.register("ownerships", api.OwnershipViewSet, basename="ownership")
router.register("occupancies", api.OccupancyViewSet, basename="occupancy")
router.register("moves", api.MoveViewSet, basename="move")
router.register("badges", api.BadgeViewSet, basename="badge")
router.register("badge-assignments", api.BadgeAssignmentViewSet, basename="badge-assignment")
router.register("portal-accesses", api.TenantAccessViewSet, basename="portal-access")

urlpatterns = [
    path("occupancies/<uuid:id>/end/", api.OccupancyEndView.as_view(), name="occupancy-end"),
    path(
        "badge-assignments/<uuid:id>/return/",
        api.BadgeReturnView.as_view(),
        name="badge-assignment-return",
    ),
    *router.urls,
]
