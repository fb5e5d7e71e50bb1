"""State changes of tenants, ownership, occupancies, moves and RFID badges (the only
place that writes them); one module per subject, the public services re-exported here.

Overlaps are refused twice: a query under a row lock of the billing point (or badge)
gives a message naming the conflicting tenant and dates, and the exclusion constraint
catches whatever a concurrent transaction slipped in (mapped to the same message).
"""

from tenants.services.badges import badge_assign, badge_return
from tenants.services.common import Instant, to_instant
from tenants.services.moves import move_meters, move_register
from tenants.services.occupancy import occupancy_create, occupancy_end
from tenants.services.people import (
    ownership_set,
    tenant_create,
    tenant_delete,
    tenant_update,
)
from tenants.services.portal import (
    tenant_access_by_token,
    tenant_portal_accept,
    tenant_portal_invite,
    tenant_portal_mark_sent,
    tenant_portal_resend,
    tenant_portal_revoke,
    tenant_portal_signup,
)

__all__ = [
    "Instant",
    "badge_assign",
    "badge_return",
    "move_meters",
    "move_register",
    "occupancy_create",
    "occupancy_end",
    "ownership_set",
    "tenant_access_by_token",
    "tenant_create",
    "tenant_delete",
    "tenant_portal_accept",
    "tenant_portal_invite",
    "tenant_portal_mark_sent",
    "tenant_portal_resend",
    "tenant_portal_revoke",
    "tenant_portal_signup",
    "tenant_update",
    "to_instant",
]
