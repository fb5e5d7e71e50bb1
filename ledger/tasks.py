"""Celery tasks: dunning. Thin: take ids, load (unscoped, to learn the organization), call
one service inside that organization's context.

The hourly sweep picks the organizations whose local day has reached the dunning hour and
records each one's scheduled run of its local "today" (once a day; a failed one is tried
again at the next sweep). ``dunning_run_task`` sends a run started in the portal or the
API; a redelivered message finds the run claimed and does nothing. ``dunning_delivery_send``
emails one queued resend of a letter.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from billspree.core.models import Organization
from billspree.core.queue import enqueue_many_on_commit
from billspree.core.scoping import organization_context

__all__ = ["dunning_delivery_send", "dunning_organization", "dunning_run_task",
           "dunning_sweep"]


@shared_task
def dunning_sweep() -> int:
    """Hourly (``CELERY_BEAT_SCHEDULE``): queue today's run of each organization whose
    local time is past ``DUNNING_LOCAL_HOUR``; how many were queued. Also closes runs
    whose worker died (running for longer than ``DUNNING_RUN_STALE_MINUTES``) and queues
    again runs that no worker picked up, so a day is never blocked."""
    hour = getattr(settings, "DUNNING_LOCAL_HOUR", 7)
    now = timezone.now()
    ids = [org.pk for org in Organization.objects.all()
           if now.astimezone(org.time_zone).hour >= hour]
    enqueue_many_on_commit("ledger.tasks.dunning_organization", [(pk,) for pk in ids])
    _unstick(now)
    return len(ids)


def _unstick(now) -> None:
    from ledger.models import DunningRun, DunningRunStatus

    stale = now - timedelta(minutes=getattr(settings, "DUNNING_RUN_STALE_MINUTES", 60))
    DunningRun.objects.unscoped().filter(
        status=DunningRunStatus.RUNNING, started_at__lt=stale).update(
        status=DunningRunStatus.FAILED, finished_at=now,
        error="The run stopped (its worker was lost); start the day again to send the rest.")
    waiting = list(DunningRun.objects.unscoped().filter(
        status=DunningRunStatus.QUEUED, created_at__lt=now - timedelta(minutes=5))
        .values_list("pk", flat=True))
    enqueue_many_on_commit("ledger.tasks.dunning_run_task", [(pk,) for pk in waiting])


@shared_task(acks_late=True)
def dunning_organization(organization_id: int) -> int:
    """Record and send the scheduled run of today (the organization's local date); how
    many reminders it sent (0 when today's scheduled run exists already)."""
    from ledger.models import DunningRunTrigger
    from ledger.services.dunning_runs import dunning_run_execute, dunning_run_start

    org = Organization.objects.filter(pk=organization_id).first()
    if org is None:
        return 0
    with organization_context(org):
        run = dunning_run_start(trigger=DunningRunTrigger.SCHEDULE, enqueue=False)
        if not run.created_now:
            return 0
        return dunning_run_execute(run=run).sent


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3,
             acks_late=True)
def dunning_run_task(run_id: int) -> str:
    """Send a recorded run (started in the portal or the API); its final status."""
    from ledger.models import DunningRun
    from ledger.services.dunning_runs import dunning_run_execute

    run = DunningRun.objects.unscoped().select_related("organization").filter(pk=run_id).first()
    if run is None:
        return "gone"
    with organization_context(run.organization):
        return dunning_run_execute(run=run).status


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3,
             acks_late=True)
def dunning_delivery_send(delivery_id: int) -> str:
    """Email one queued resend of a reminder letter; its status."""
    from ledger.models import DunningDelivery
    from ledger.services.dunning_runs import dunning_delivery_send as send

    delivery = DunningDelivery.objects.unscoped().select_related("organization").filter(
        pk=delivery_id).first()
    if delivery is None:
        return "gone"
    with organization_context(delivery.organization):
        return send(delivery=delivery).status
