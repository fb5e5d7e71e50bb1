"""Dashboard cards of the meter registry: billing points, and meters active vs in stock;
its steps of the getting-started checklist; its audit events in words.

A billing point without an active meter cannot be billed, so it is counted in amber: it
is usually a connection someone forgot to finish.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest
from django.urls import reverse

from billspree.core.dashboard import Activity, Card, Step, by_action, count
from billspree.core.portal import role_allows_url
from meters.models import BillingPoint, Meter, MeterAssignment, Property


def cards(request: HttpRequest) -> list[Card]:
    open_for_point = MeterAssignment.objects.filter(
        billing_point=OuterRef("pk"), removed_at__isnull=True
    )
    points = BillingPoint.objects.aggregate(
        total=Count("pk"), unmetered=Count("pk", filter=~Q(Exists(open_for_point)))
    )
    if not points["total"]:
        create = reverse("meters:property_create")
        return [
            Card(
                label="Properties",
                value=0,
                foot="Start by creating a property",
                url=create if role_allows_url(request.role, create) else reverse("meters:index"),
                tone="amber",
            )
        ]
    open_for_meter = MeterAssignment.objects.filter(meter=OuterRef("pk"), removed_at__isnull=True)
    meters = Meter.objects.aggregate(
        total=Count("pk"), active=Count("pk", filter=Q(Exists(open_for_meter)))
    )
    unmetered = points["unmetered"]
    return [
        Card(
            label="Billing points",
            value=points["total"],
            foot=f"{unmetered} without an active meter" if unmetered else "All have meters",
            url=reverse("meters:index"),
            tone="amber" if unmetered else "",
        ),
        Card(
            label="Active meters",
            value=f"{meters['active']} / {meters['total']}",
            foot=f"{meters['total'] - meters['active']} inactive (in stock or removed)",
            url=reverse("meters:meter_list") + "?status=active",
        ),
    ]


def setup_steps(request: HttpRequest) -> list[Step]:
    properties = Property.objects.count()
    counts = BillingPoint.objects.aggregate(
        points=Count("pk", distinct=True),
        metered=Count("pk", filter=Q(assignments__removed_at__isnull=True), distinct=True),
    )
    return [
        Step(10, "Add a property", properties > 0,
             reverse("meters:index") if properties else reverse("meters:property_create"),
             f"{count(properties, 'property', 'properties')} so far" if properties else ""),
        Step(20, "Add its billing points (units, shops, common areas)", counts["points"] > 0,
             reverse("meters:index"),
             f"{count(counts['points'], 'billing point')} so far" if counts["points"] else ""),
        Step(30, "Register meters and assign them to billing points", counts["metered"] > 0,
             reverse("meters:meter_list"),
             f"{counts['metered']} of {count(counts['points'], 'billing point')} metered"
             if counts["points"] else ""),
    ]


def describe(events: Sequence) -> dict[int, Activity]:
    """Properties and meters are named in the event (``target``); one query per kind
    finds the ones that still exist, so the words link to them."""
    ours = by_action(events, "meters.")
    if not ours:
        return {}
    names = {e.target for e in ours if e.action.startswith("meters.property.")}
    serials = {e.target.split(" ")[0] for e in ours if e.action.startswith(("meters.meter.",
               "meters.assignment."))}
    props = dict(Property.objects.filter(name__in=names).values_list("name", "public_id")) \
        if names else {}
    meters = dict(Meter.objects.filter(serial_number__in=serials)
                  .values_list("serial_number", "public_id")) if serials else {}
    out: dict[int, Activity] = {}
    for e in ours:
        kind, _, verb = e.action.removeprefix("meters.").partition(".")
        if kind == "property":
            pid = props.get(e.target)
            url = reverse("meters:property_detail", args=[pid]) if pid and verb != "delete" else ""
            out[e.pk] = Activity(_VERB.get(verb, verb) + " property", e.target, url)
        elif kind in ("meter", "assignment"):
            serial, _, rest = e.target.partition(" ")
            mid = meters.get(serial)
            url = reverse("meters:meter_detail", args=[mid]) if mid and verb != "delete" else ""
            if verb == "import":
                out[e.pk] = Activity("imported", e.target, reverse("meters:meter_list"))
            elif verb == "assign":
                out[e.pk] = Activity("connected meter", serial, url, _at(rest))
            elif verb == "remove":
                out[e.pk] = Activity("removed meter", serial, url, _at(rest))
            else:
                out[e.pk] = Activity(_VERB.get(verb, verb) + " meter", serial, url, _at(rest))
        elif kind == "billing_point":
            out[e.pk] = Activity(_VERB.get(verb, verb) + " billing point", e.target)
    return out


_VERB = {"create": "added", "update": "changed", "delete": "deleted", "record": "recorded"}


def _at(rest: str) -> str:
    """"→ SHOP-3" / "← SHOP-3" / "at SHOP-3" → "at SHOP-3"."""
    rest = rest.strip()
    for arrow in ("→", "←"):
        rest = rest.replace(arrow, "at")
    return rest
