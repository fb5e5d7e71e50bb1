"""Celery tasks of the gateways app: ids in, one service call, nothing else.

django-celery-beat runs ``gateway_poll_task`` for each gateway on its interval (the
``PeriodicTask`` is kept by ``services.gateway_create/update``). Repeated deliveries of
the same slot are harmless: the service claims the slot first and stops if it is taken.
"""

from __future__ import annotations

from datetime import datetime

from celery import shared_task
from django.db import OperationalError

from billspree.core.scoping import organization_context
from gateways import services
from gateways.models import Gateway
from gateways.services.wire_lock import GatewayBusy


@shared_task(
    autoretry_for=(OperationalError, GatewayBusy),
    retry_backoff=5,
    retry_jitter=False,
    max_retries=3,
    acks_late=True,
)
def gateway_poll_task(gateway_id: int, manual: bool = False, slot: str | None = None) -> str:
    """Poll one gateway; if another process is talking to it for longer than the wire
    lock's wait, try again a little later (the slot is still free). ``slot``: the manual
    slot "Poll now" claimed (ISO 8601)."""
    gateway = (
        Gateway.objects.unscoped().select_related("organization").filter(pk=gateway_id).first()
    )
    if gateway is None:
        return "gone"
    claimed = datetime.fromisoformat(slot) if slot else None
    with organization_context(gateway.organization):
        run = services.gateway_poll(gateway=gateway, manual=manual, slot=claimed)
    return run.summary if run else "slot already polled"


@shared_task
def gateways_history_prune() -> int:
    """Daily: drop poll runs and gateway errors older than 90 days, organization by
    organization (scheduled by the migration ``0002_history_prune_schedule``)."""
    from billspree.core.models import Organization

    deleted = 0
    for org in Organization.objects.all():
        with organization_context(org):
            deleted += services.errors_prune()
    return deleted
