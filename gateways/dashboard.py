"""The gateways card on the dashboard: how many gateways answer."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from billspree.core.dashboard import Card
from gateways.selectors import health_summary


def cards(request: HttpRequest) -> list[Card]:
    summary = health_summary()
    if not summary["total"]:
        return []
    offline = summary["offline"]
    online = summary["online"] + summary["degraded"]
    return [
        Card(
            label="Gateways online",
            value=f"{online}/{summary['total'] - summary['disabled']}",
            foot=f"{offline} offline" if offline else "All gateways answering",
            url=reverse("gateways:index"),
            tone="red" if offline else ("amber" if summary["degraded"] else "green"),
        )
    ]
