"""What the tenants app shows on pages of the apps below it (see billspree.core.panels)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from billspree.core.models import Role
from billspree.core.panels import Panel
from tenants import selectors


def billing_point(request: HttpRequest, obj) -> list[Panel]:
    occupancy = selectors.occupancy_at(obj, timezone.now())
    owner = None
    if occupancy is None:
        owner = selectors.owners_by_billing_point([obj.pk]).get(obj.pk)
    context = {
        "billing_point": obj,
        "occupancy": occupancy,
        "owner": owner,
        "can_manage": bool(request.role) and Role.at_least(request.role, Role.MANAGER),
    }
    return [Panel("Occupant", "tenants/_occupancy_panel.html", context)]
