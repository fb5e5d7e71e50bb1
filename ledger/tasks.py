"""Celery tasks: dunning. Thin: the daily sweep picks the organizations whose local day
has reached the dunning hour; each organization's run is one service call in its context,
for its own local "today". Runs are idempotent, so the hourly sweep repeating a day, or a
redelivered message, sends nothing twice.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from billspree.core.models import Organization
from billspree.core.queue import enqueue_many_on_commit
from billspree.core.scoping import organization_context

__all__ = ["dunning_organization", "dunning_sweep"]


@shared_task
def dunning_sweep() -> int:
    """Hourly (``CELERY_BEAT_SCHEDULE``): queue today's run of each organization whose
    local time is past ``DUNNING_LOCAL_HOUR``; how many were queued."""
    hour = getattr(settings, "DUNNING_LOCAL_HOUR", 7)
    now = timezone.now()
    ids = [org.pk for org in Organization.objects.all()
           if now.astimezone(org.time_zone).hour >= hour]
    enqueue_many_on_commit("ledger.tasks.dunning_organization", [(pk,) for pk in ids])
    return len(ids)


@shared_task(acks_late=True)
def dunning_organization(organization_id: int) -> int:
    """Send the reminders due today (the organization's local date); how many."""
    from ledger.services.dunning import dunning_run

    org = Organization.objects.filter(pk=organization_id).first()
    if org is None:
        return 0
    with organization_context(org):
        result = dunning_run(today=timezone.localdate(timezone=org.time_zone))
    return len(result.sent)
