"""REST endpoints of tenants (thin: parse input, call a service or selector, shape output).

Dates may be given as ``YYYY-MM-DD`` (midnight in the property's time zone; for badges the
organization's) or as ISO 8601 timestamps with an offset.
"""

from tenants.api.badges import BadgeAssignmentViewSet, BadgeReturnView, BadgeViewSet
from tenants.api.occupancy import MoveViewSet, OccupancyEndView, OccupancyViewSet
from tenants.api.people import OwnershipViewSet, TenantViewSet
from tenants.api.portal import TenantAccessViewSet

__all__ = [
    "BadgeAssignmentViewSet",
    "BadgeReturnView",
    "BadgeViewSet",
    "MoveViewSet",
    "OccupancyEndView",
    "OccupancyViewSet",
    "OwnershipViewSet",
    "TenantAccessViewSet",
    "TenantViewSet",
]
