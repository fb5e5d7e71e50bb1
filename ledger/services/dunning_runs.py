"""Dunning runs and resends: the recorded, queued side of sending reminders.

A **run** sends the reminders due on one day in a Celery task (``ledger.tasks``), never in
a web request: :func:`dunning_run_start` records it (queued) and queues the task after
commit; :func:`dunning_run_execute` (the task's body) claims it, sends through
:func:`ledger.services.dunning.dunning_run` (each notice counted on the run as it goes)
and records how it ended. Starting a day that has a queued or running run returns that
run (UNIQUE on live runs per organization and day backs this up when two starts race);
a finished day can be run again and sends only what is still due (the notices are
idempotent per invoice and level). The schedule records one run per day.

A **resend** emails a notice's letter again to the tenant's current address, as a new
delivery row (queued, then sent or failed); the notice, its level and its fee stay as
they were.
"""

from __future__ import annotations

import logging
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billspree.core.errors import Conflict
from billspree.core.queue import enqueue_on_commit
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from billspree.core.timefmt import local_date
from ledger.models import (
    DunningDelivery,
    DunningDeliveryKind,
    DunningNotice,
    DunningRun,
    DunningRunStatus,
    DunningRunTrigger,
)
from ledger.models.dunning import LIVE_RUN_STATUSES
from ledger.services import dunning as dunning_services

log = logging.getLogger(__name__)


def organization_today() -> date:
    return local_date(timezone.now(), require_organization())


def live_run(day: date) -> DunningRun | None:
    return DunningRun.objects.filter(run_on=day, status__in=LIVE_RUN_STATUSES).first()


def dunning_run_start(*, day: date | None = None, trigger: str = DunningRunTrigger.PORTAL,
                      actor=None, api_key=None, enqueue: bool = True) -> DunningRun:
    """Record a run of ``day`` (default: today in the organization's zone) and queue it.

    Idempotent: while a run of the day is queued or running, that run is returned (also
    when a concurrent start wins the race). ``created_now`` on the answer says which.
    A scheduled start of a day that already has a scheduled run that did not fail returns
    that run. ``enqueue=False`` leaves the sending to the caller (the beat task runs it
    inline)."""
    today = organization_today()
    day = day or today
    if day > today:
        raise ValidationError({"date": [
            f"{day} is in the future (today is {today}): reminders are sent on their day."]})
    existing = _existing(day, trigger)
    if existing is not None:
        existing.created_now = False
        return existing
    user = dunning_services.acting_user(actor)
    try:
        with transaction.atomic():
            run = DunningRun.objects.create(
                run_on=day, trigger=trigger, started_by=user, started_by_key=api_key,
                planned=len(dunning_services.dunning_preview(day)))
            audit_record(action="dunning_run.start", actor=actor, api_key=api_key,
                         target=f"dunning run {day}",
                         detail={"run": str(run.public_id), "date": day.isoformat(),
                                 "trigger": trigger, "planned": run.planned})
            if enqueue:
                enqueue_on_commit("ledger.tasks.dunning_run_task", run.pk)
    except IntegrityError:
        existing = _existing(day, trigger)
        if existing is None:
            raise
        existing.created_now = False
        return existing
    run.created_now = True
    return run


def _existing(day: date, trigger: str) -> DunningRun | None:
    found = live_run(day)
    if found is None and trigger == DunningRunTrigger.SCHEDULE:
        found = (DunningRun.objects.filter(run_on=day, trigger=DunningRunTrigger.SCHEDULE)
                 .exclude(status=DunningRunStatus.FAILED).first())
    return found


def dunning_run_execute(*, run: DunningRun) -> DunningRun:
    """Send the run's reminders (the task's body). Only a queued run is claimed, so a
    redelivered message does nothing; what went wrong is recorded on the run (``failed``
    with the error), and starting the day again finishes the job."""
    claimed = DunningRun.objects.filter(pk=run.pk, status=DunningRunStatus.QUEUED).update(
        status=DunningRunStatus.RUNNING, started_at=timezone.now())
    if not claimed:
        run.refresh_from_db()
        return run
    run.refresh_from_db()
    actor = run.started_by
    try:
        result = dunning_services.dunning_run(today=run.run_on, actor=actor,
                                              api_key=run.started_by_key, run=run)
    except Exception as exc:
        log.exception("dunning run %s failed", run.pk)
        DunningRun.objects.filter(pk=run.pk).update(
            status=DunningRunStatus.FAILED, finished_at=timezone.now(),
            error=f"{exc.__class__.__name__}: {exc}"[:2000])
    else:
        DunningRun.objects.filter(pk=run.pk).update(
            status=DunningRunStatus.FAILED if result.failed else DunningRunStatus.DONE,
            finished_at=timezone.now())
    run.refresh_from_db()
    audit_record(action="dunning_run.finish", actor=actor, api_key=run.started_by_key,
                 target=f"dunning run {run.run_on}",
                 detail={"run": str(run.public_id), "status": run.status, "sent": run.sent,
                         "skipped": run.skipped, "failed": run.failed})
    return run


# --- resend --------------------------------------------------------------------------------

@transaction.atomic
def dunning_notice_resend(*, notice: DunningNotice, actor=None, api_key=None) -> DunningDelivery:
    """Queue the notice's letter by email to the tenant's current address: a new delivery
    (the notice keeps its first delivery, its level and its fee; nothing is charged)."""
    tenant = notice.account.tenant
    if not notice.letter:
        raise Conflict("This notice has no letter to send.")
    if not (tenant.email or "").strip():
        raise ValidationError({"recipient": [
            f"{tenant.name} has no email address: add one to the tenant, or print the "
            "letter and post it."]})
    delivery = DunningDelivery.objects.create(
        notice=notice, kind=DunningDeliveryKind.RESEND, recipient=tenant.email.strip(),
        requested_by=dunning_services.acting_user(actor))
    audit_record(action="dunning_notice.resend", actor=actor, api_key=api_key,
                 target=f"invoice {notice.invoice.number}",
                 detail={"notice": str(notice.public_id), "level": notice.level.name,
                         "recipient": delivery.recipient})
    enqueue_on_commit("ledger.tasks.dunning_delivery_send", delivery.pk)
    return delivery


def dunning_delivery_send(*, delivery: DunningDelivery) -> DunningDelivery:
    """Send a queued delivery (the task's body); a delivery is sent at most once."""
    from ledger.models import DunningDeliveryStatus

    with transaction.atomic():
        row = (DunningDelivery.objects.select_for_update()
               .select_related("notice__invoice", "notice__level", "notice__account__tenant")
               .filter(pk=delivery.pk, status=DunningDeliveryStatus.QUEUED).first())
        if row is None:
            delivery.refresh_from_db()
            return delivery
        error = dunning_services.send_letter(
            row.notice, dunning_services.notice_due(row.notice), to=row.recipient)
        row.status = DunningDeliveryStatus.FAILED if error else DunningDeliveryStatus.SENT
        row.error = error
        row.sent_at = None if error else timezone.now()
        row.save(update_fields=["status", "error", "sent_at"])
    return row
