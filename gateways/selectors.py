"""Read queries of gateways (health summaries for pages, dashboard and API)."""

from __future__ import annotations

from datetime import datetime

from gateways.models import Gateway, Health


def health_summary(now: datetime | None = None) -> dict[str, int]:
    """Gateways of the current organization counted by health (every key present)."""
    counts = {h.value: 0 for h in Health}
    fields = [
        "enabled", "last_poll_at", "last_success_at", "last_error_at", "consecutive_failures",
        "offline_after", "poll_interval_s", "created_at",
    ]
    for gateway in Gateway.objects.only(*fields):
        counts[gateway.health(now)] += 1
    counts["total"] = sum(counts.values())
    return counts
