"""Template tags other apps' pages may use to show occupancy without importing tenants
in Python (e.g. a billing point's page in meters):

    {% load tenants_tags %}{% occupancy_summary billing_point %}
"""

from __future__ import annotations

from django import template
from django.utils import timezone

from tenants import selectors

register = template.Library()


@register.inclusion_tag("tenants/_occupancy_summary.html", takes_context=True)
def occupancy_summary(context, billing_point) -> dict:
    """Who occupies the billing point now (or its owner when vacant), with links to its
    occupancy timeline and to register a move there. Two queries."""
    occupancy = selectors.occupancy_at(billing_point, timezone.now())
    owner = None
    if occupancy is None:
        owner = selectors.owners_by_billing_point([billing_point.pk]).get(billing_point.pk)
    return {
        "billing_point": billing_point,
        "occupancy": occupancy,
        "owner": owner,
        "can_manage": context.get("can_manage", False),
    }
