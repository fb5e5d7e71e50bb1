"""The gateways card on the dashboard: how many gateways are offline (red), with a link to
them; gateway events in words."""

from __future__ import annotations

from collections.abc import Sequence

from django.http import HttpRequest
from django.urls import reverse

from billspree.core.dashboard import Activity, Card, by_action
from gateways.models import Gateway
from gateways.selectors import health_summary


def cards(request: HttpRequest) -> list[Card]:
    summary = health_summary()
    if not summary["total"]:
        return []
    offline, degraded = summary["offline"], summary["degraded"]
    watched = summary["total"] - summary["disabled"]
    if offline:
        foot = f"of {watched} not answering" + (f", {degraded} degraded" if degraded else "")
        tone, url = "red", reverse("gateways:index") + "?health=offline"
    elif degraded:
        foot, tone = f"{degraded} of {watched} degraded", "amber"
        url = reverse("gateways:index") + "?health=degraded"
    elif summary["online"] == watched:
        foot, tone, url = f"All {watched} gateways answering", "green", reverse("gateways:index")
    else:
        foot, tone = f"{summary['online']} of {watched} answering, the others not polled yet", ""
        url = reverse("gateways:index")
    return [Card(label="Gateways offline", value=offline, foot=foot, url=url, tone=tone)]


_VERBS = {"gateway.create": "added gateway", "gateway.update": "changed gateway",
          "gateway.delete": "deleted gateway", "gateway.poll_now": "polled gateway"}
_OTHER = {"register_map.create": "mapped meter", "register_map.update": "changed the mapping of",
          "register_map.delete": "unmapped meter",
          "register_map.register_switch": "switched the registers of",
          "profile.create": "created meter profile", "profile.update": "changed meter profile",
          "profile.delete": "deleted meter profile"}


def describe(events: Sequence) -> dict[int, Activity]:
    out = {e.pk: Activity(_OTHER[e.action], e.target) for e in events if e.action in _OTHER}
    ours = [e for e in by_action(events, "gateway.") if e.action in _VERBS]
    if not ours:
        return out
    ids = dict(Gateway.objects.filter(name__in={e.target for e in ours})
               .values_list("name", "public_id"))
    out.update({e.pk: Activity(_VERBS[e.action], e.target,
                               reverse("gateways:detail", args=[ids[e.target]])
                               if e.target in ids and e.action != "gateway.delete" else "")
                for e in ours})
    return out
