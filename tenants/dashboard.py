"""Dashboard cards of tenants: how many billing points are occupied and vacant now; the
tenants step of the getting-started checklist; tenant events in words."""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from billspree.core.dashboard import Activity, Card, Step, by_action, count
from meters.models import BillingPoint
from tenants.models import Occupancy, Tenant


def cards(request: HttpRequest) -> list[Card]:
    now = timezone.now()
    total = BillingPoint.objects.exclude(kind=BillingPoint.Kind.COMMON_AREA).count()
    if not total:
        return []
    occupied = (
        Occupancy.objects.filter(move_in__lte=now)
        .filter(Q(move_out__isnull=True) | Q(move_out__gt=now))
        .exclude(billing_point__kind=BillingPoint.Kind.COMMON_AREA)
        .values("billing_point")
        .distinct()
        .count()
    )
    vacant = total - occupied
    return [
        Card(
            label="Occupancy",
            value=f"{occupied} / {total}",
            foot=f"{vacant} vacant, billed to the owner" if vacant else "Every unit is occupied",
            url=reverse("tenants:index"),
            tone="amber" if vacant else "green",
        )
    ]


def setup_steps(request: HttpRequest) -> list[Step]:
    counts = Tenant.objects.aggregate(
        tenants=Count("pk", distinct=True),
        housed=Count("pk", filter=Q(occupancies__isnull=False), distinct=True),
    )
    return [Step(50, "Add tenants and move them in", counts["housed"] > 0,
                 reverse("tenants:index"),
                 f"{count(counts['tenants'], 'tenant')}, {counts['housed']} with a unit"
                 if counts["tenants"] else "")]


_NUMBER = re.compile(r"\(([^()]*)\)\s*$")
_VERBS = {
    "tenant.create": "added tenant", "tenant.update": "changed tenant",
    "tenant.delete": "deleted tenant", "portal.invite": "invited to the tenant portal",
    "portal.resend": "re-sent the portal invitation of", "portal.revoke":
    "revoked the portal access of", "portal.accept": "accepted the portal invitation as",
    "ownership.set": "set the owner:", "badge.assign": "handed out badge",
    "badge.return": "took back badge", "occupancy.create": "moved in",
    "occupancy.end": "ended the occupancy of",
}


def describe(events: Sequence) -> dict[int, Activity]:
    """Tenants are named "Name (customer number)"; one query links the ones that exist."""
    ours = by_action(events, "tenants.")
    if not ours:
        return {}
    numbers = {m.group(1) for e in ours if (m := _NUMBER.search(e.target))}
    ids = dict(Tenant.objects.filter(customer_number__in=numbers)
               .values_list("customer_number", "public_id")) if numbers else {}
    out: dict[int, Activity] = {}
    for e in ours:
        key = e.action.removeprefix("tenants.")
        d = e.detail if isinstance(e.detail, dict) else {}
        if key == "move.register":
            out[e.pk] = Activity("registered a", "move", reverse("tenants:move_list"),
                                 f"at {e.target.removeprefix('Move at ')}: "
                                 f"{d.get('outgoing') or 'vacancy'} → {d.get('incoming')}")
            continue
        match = _NUMBER.search(e.target)
        tid = ids.get(match.group(1)) if match else None
        url = reverse("tenants:detail", args=[tid]) if tid and key != "tenant.delete" else ""
        out[e.pk] = Activity(_VERBS.get(key, key.replace(".", " ")), e.target, url)
    return out
