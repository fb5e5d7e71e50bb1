"""Portal pages of tenants: list, detail, forms, the "register a move" flow, a billing
point's occupancy timeline and RFID badges. Thin: forms parse, services write."""

from tenants.views.badges import BadgeListView, BadgeReturnView
from tenants.views.moves import (
    MoveDetailView,
    MoveListView,
    MoveRegisterView,
    billing_point_moves_url,
)
from tenants.views.occupancy import (
    BillingPointOccupancyView,
    OccupancyEndView,
    OccupancyOverviewView,
    OwnerSetView,
    timeline_bars,
)
from tenants.views.people import (
    TenantBadgeAssignView,
    TenantCreateView,
    TenantDetailView,
    TenantListView,
    TenantOccupancyCreateView,
    TenantUpdateView,
)
from tenants.views.portal_access import (
    TenantPortalInviteView,
    TenantPortalResendView,
    TenantPortalRevokeView,
)

__all__ = [
    "BadgeListView",
    "BadgeReturnView",
    "BillingPointOccupancyView",
    "MoveDetailView",
    "MoveListView",
    "MoveRegisterView",
    "OccupancyEndView",
    "OccupancyOverviewView",
    "OwnerSetView",
    "TenantBadgeAssignView",
    "TenantCreateView",
    "TenantDetailView",
    "TenantListView",
    "TenantOccupancyCreateView",
    "TenantPortalInviteView",
    "TenantPortalResendView",
    "TenantPortalRevokeView",
    "TenantUpdateView",
    "billing_point_moves_url",
    "timeline_bars",
]
