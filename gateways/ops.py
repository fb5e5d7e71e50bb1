"""Gateways as operators see them, across organizations (``billspree.core.ops``)."""

from __future__ import annotations

from django.utils import timezone

from billspree.core.ops import Check
from gateways.models import Gateway, Health


def checks() -> list[Check]:
    now = timezone.now()
    enabled = list(
        Gateway.objects.unscoped()
        .filter(enabled=True)
        .only(
            "organization_id", "enabled", "last_poll_at", "last_success_at", "last_error_at",
            "consecutive_failures", "offline_after", "poll_interval_s", "created_at",
        )
    )
    if not enabled:
        return [Check("Gateways", None, "No enabled gateways.")]
    offline = [g for g in enabled if g.health(now) == Health.OFFLINE]
    if not offline:
        return [Check("Gateways", True, f"All {len(enabled)} enabled gateways online or "
                                        "not polled yet")]
    orgs = len({g.organization_id for g in offline})
    return [Check("Gateways", None, f"{len(offline)} of {len(enabled)} enabled gateways "
                                    f"offline, in {orgs} organization(s)")]
