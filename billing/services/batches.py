"""Billing batches: create / update / delete, their beat schedule, their subscriptions, and
the calendar maths of their cycle (which period a run bills, when the next run starts).

The schedule is one django-celery-beat ``PeriodicTask`` per batch, kept in step with the
batch by these services (as gateways do with their poll task): beat reads schedules from
the database, so editing a batch in the portal reschedules it without a restart. The
crontab fires at ``schedule_time`` on ``billing_day`` in the *organization's* time zone,
and only in the months a new period starts (every month for monthly batches; four months
for quarterly ones; one for yearly ones), so a run always bills the period that has just
ended.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from billing.models import BillingBatch, BillingCycle, Subscription
from billspree.core.errors import Conflict
from billspree.core.models import ApiKey
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from meters.models import Property

RUN_TASK = "billing.tasks.runs.bill_run_scheduled"
BATCH_FIELDS = {
    "name", "cycle", "billing_day", "anchor_month", "auto_issue", "send_statements",
    "schedule_enabled", "schedule_time", "notes",
}
CYCLE_MONTHS = {BillingCycle.MONTHLY: 1, BillingCycle.QUARTERLY: 3, BillingCycle.YEARLY: 12}


def _who(actor: AbstractBaseUser | None, api_key: ApiKey | None) -> dict[str, Any]:
    return {"actor": actor, "api_key": api_key}


# --- calendar maths (pure) ------------------------------------------------------------------


def _cycle_months(cycle: str) -> int:
    try:
        return CYCLE_MONTHS[BillingCycle(cycle)]
    except ValueError:
        raise ValueError(f"unknown billing cycle {cycle!r}") from None


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def _is_period_start(month: int, *, cycle: str, anchor_month: int) -> bool:
    """Whether a period of the cycle starts in ``month`` (1–12)."""
    return (month - anchor_month) % _cycle_months(cycle) == 0


def period_start_months(*, cycle: str, anchor_month: int) -> list[int]:
    """The months (1–12) a period starts in: the months a scheduled run happens."""
    return [m for m in range(1, 13) if _is_period_start(m, cycle=cycle, anchor_month=anchor_month)]


def batch_period(*, batch: BillingBatch, on: date) -> tuple[date, date]:
    """The last complete period of the batch's cycle ending on or before ``on``:
    ``(start, end)``, local dates, end exclusive.

    Monthly: the previous calendar month. Quarterly: quarters aligned so that one starts in
    ``anchor_month`` (anchor 2 → Feb–Apr, May–Jul, Aug–Oct, Nov–Jan). Yearly: twelve
    months from ``anchor_month``. On a period's first day that period has not ended yet, so
    the one before it is returned (a run on 1 December bills November).
    """
    months = _cycle_months(batch.cycle)
    anchor = 0 if months == 1 else batch.anchor_month - 1
    index = _month_index(on)
    end = index - (index - anchor) % months
    return _month_start(end - months), _month_start(end)


def _local_run(index: int, batch: BillingBatch, tz: ZoneInfo) -> datetime:
    day = _month_start(index).replace(day=batch.billing_day)
    at = batch.schedule_time
    if isinstance(at, str):
        at = time.fromisoformat(at)
    # Round-trip through UTC so a wall time skipped by DST lands on a real instant.
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC).astimezone(tz)


def batch_next_run(*, batch: BillingBatch, after: datetime, tz: str | None = None) -> datetime:
    """The first instant strictly after ``after`` (aware) at which the batch's schedule
    fires, in the organization's time zone (or ``tz``): ``schedule_time`` on ``billing_day``
    of the next month a period starts in. Whether the schedule is enabled is not looked at:
    the portal says "next run" or "would run" itself."""
    if after.tzinfo is None:
        raise ValueError("after must be an aware datetime")
    zone = ZoneInfo(tz or str(batch.organization.time_zone))
    index = _month_index(after.astimezone(zone).date())
    for month in range(index, index + 14):
        if not _is_period_start(month % 12 + 1, cycle=batch.cycle,
                                anchor_month=batch.anchor_month):
            continue
        moment = _local_run(month, batch, zone)
        if moment > after:
            return moment
    raise AssertionError("a schedule fires at least once a year")  # pragma: no cover


# --- schedule -------------------------------------------------------------------------------


def _task_name(batch: BillingBatch) -> str:
    return f"bill-batch-{batch.public_id}"


def _crontab(batch: BillingBatch):
    from django_celery_beat.models import CrontabSchedule

    at = batch.schedule_time
    fields = {
        "minute": str(at.minute), "hour": str(at.hour), "day_of_month": str(batch.billing_day),
        "month_of_year": ",".join(
            str(m) for m in period_start_months(cycle=batch.cycle,
                                                anchor_month=batch.anchor_month)
        ) if batch.cycle != BillingCycle.MONTHLY else "*",
        "day_of_week": "*", "timezone": str(require_organization().time_zone),
    }
    crontab = CrontabSchedule.objects.filter(**fields).order_by("pk").first()
    return crontab or CrontabSchedule.objects.create(**fields)


def batch_schedule_sync(*, batch: BillingBatch) -> None:
    """Create or update the batch's beat entry from the batch (and the organization's time
    zone: call again after the organization changes it)."""
    from django_celery_beat.models import PeriodicTask

    task, _ = PeriodicTask.objects.update_or_create(
        name=_task_name(batch),
        defaults={
            "task": RUN_TASK, "crontab": _crontab(batch), "interval": None,
            "args": json.dumps([batch.pk]), "enabled": batch.schedule_enabled,
            "description": f"Bill run of batch “{batch.name}” ({batch.get_cycle_display()})",
        },
    )
    if batch.periodic_task_id != task.pk:
        batch.periodic_task = task
        BillingBatch.objects.filter(pk=batch.pk).update(periodic_task=task)


def _schedule_remove(batch: BillingBatch) -> None:
    from django_celery_beat.models import PeriodicTask

    PeriodicTask.objects.filter(name=_task_name(batch)).delete()


# --- batches --------------------------------------------------------------------------------


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _check(batch: BillingBatch) -> None:
    errors: dict[str, list[str]] = {}
    batch.billing_day = _as_int(batch.billing_day)
    batch.anchor_month = _as_int(batch.anchor_month)
    if not batch.name:
        errors["name"] = ["Give the batch a name, e.g. “Monthly — Riverside”."]
    elif len(batch.name) > 100:
        errors["name"] = ["At most 100 characters."]
    elif BillingBatch.objects.filter(name__iexact=batch.name).exclude(pk=batch.pk).exists():
        errors["name"] = [f"A batch named “{batch.name}” exists already."]
    if batch.cycle not in BillingCycle.values:
        errors["cycle"] = [f"Choose monthly, quarterly or yearly (not “{batch.cycle}”)."]
    if batch.billing_day is None or not 1 <= batch.billing_day <= 28:
        errors["billing_day"] = ["The billing day must be between 1 and 28 (every month has it)."]
    if batch.anchor_month is None or not 1 <= batch.anchor_month <= 12:
        errors["anchor_month"] = ["The anchor month must be between 1 (January) and 12."]
    if errors:
        raise ValidationError(errors)


def _batch_save(batch: BillingBatch, fields: dict[str, Any]) -> BillingBatch:
    unknown = set(fields) - BATCH_FIELDS
    if unknown:
        raise ValidationError({k: ["This field cannot be set."] for k in sorted(unknown)})
    for key, value in fields.items():
        setattr(batch, key, value.strip() if isinstance(value, str) else value)
    _check(batch)
    batch.full_clean(exclude=["organization", "periodic_task"], validate_unique=False,
                     validate_constraints=False)
    batch.save()
    batch_schedule_sync(batch=batch)
    return batch


@transaction.atomic
def batch_create(
    *, actor: AbstractBaseUser | None = None, api_key: ApiKey | None = None, **fields: Any
) -> BillingBatch:
    """A new batch (no subscriptions yet) with its beat entry (enabled only if
    ``schedule_enabled``)."""
    batch = _batch_save(BillingBatch(organization=require_organization()), fields)
    audit_record(action="batch.create", target=batch.name,
                 detail={"cycle": batch.cycle, "billing_day": batch.billing_day,
                         "schedule_enabled": batch.schedule_enabled}, **_who(actor, api_key))
    return batch


@transaction.atomic
def batch_update(
    *, batch: BillingBatch, actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None, **fields: Any,
) -> BillingBatch:
    """Change a batch; the schedule follows. Runs already started keep the options they
    copied at start."""
    locked = BillingBatch.objects.select_for_update().get(pk=batch.pk)
    changed = {k: str(v) for k, v in fields.items() if getattr(locked, k, None) != v}
    _batch_save(locked, fields)
    if changed:
        audit_record(action="batch.update", target=locked.name, detail=changed,
                     **_who(actor, api_key))
    for field in BATCH_FIELDS | {"periodic_task_id"}:
        setattr(batch, field, getattr(locked, field))
    return locked


@transaction.atomic
def batch_delete(
    *, batch: BillingBatch, actor: AbstractBaseUser | None = None, api_key: ApiKey | None = None
) -> int:
    """Delete a batch that never ran; its subscriptions stay, in no batch. Returns how many
    subscriptions were detached. A batch with runs is history: refused (turn its schedule
    off instead)."""
    locked = BillingBatch.objects.select_for_update().get(pk=batch.pk)
    if locked.runs.exists():
        raise Conflict(
            f"“{locked.name}” has bill runs: it is kept as their history. Turn its schedule "
            "off and remove its subscriptions instead.", code="batch_has_runs",
        )
    detached = Subscription.objects.filter(batch=locked).update(batch=None)
    _schedule_remove(locked)
    name = locked.name
    locked.delete()
    audit_record(action="batch.delete", target=name, detail={"detached": detached},
                 **_who(actor, api_key))
    return detached


# --- subscriptions of a batch ---------------------------------------------------------------


def _billable_from(batch: BillingBatch, property: Property) -> date:
    """Subscriptions ending before the period a run would bill now are not added by
    property: there is nothing left to bill on them."""
    from django.utils import timezone

    today = timezone.localdate(timezone=ZoneInfo(str(property.time_zone)))
    return batch_period(batch=batch, on=today)[0]


@transaction.atomic
def batch_subscriptions_set(
    *, batch: BillingBatch, add: Iterable[Subscription] = (),
    remove: Iterable[Subscription] = (), property: Property | None = None,
    actor: AbstractBaseUser | None = None, api_key: ApiKey | None = None,
) -> int:
    """Put subscriptions in the batch and take others out, set-based (one UPDATE each way).

    ``add`` moves the given subscriptions here, even from another batch (a subscription is
    billed by one batch). ``property`` adds every subscription of that property that is in
    no batch yet and has not ended before the period a run would bill now; those in another
    batch stay there. Returns how many subscriptions changed.
    """
    locked = BillingBatch.objects.select_for_update().get(pk=batch.pk)
    add_ids = {s.pk for s in add}
    remove_ids = {s.pk for s in remove} - add_ids
    changed = 0
    if add_ids:
        changed += Subscription.objects.filter(pk__in=add_ids).exclude(batch=locked).update(
            batch=locked)
    if property is not None:
        changed += (
            Subscription.objects.filter(billing_point__property=property, batch__isnull=True)
            .filter(Q(end_date__isnull=True)
                    | Q(end_date__gt=_billable_from(locked, property)))
            .update(batch=locked)
        )
    if remove_ids:
        changed += Subscription.objects.filter(pk__in=remove_ids, batch=locked).update(
            batch=None)
    if changed:
        detail = {"added": len(add_ids), "removed": len(remove_ids), "changed": changed}
        if property is not None:
            detail["property"] = property.name
        audit_record(action="batch.subscriptions", target=locked.name, detail=detail,
                     **_who(actor, api_key))
    return changed


def batches_reschedule(*, organization) -> int:
    """Re-write every batch's beat entry of ``organization`` (their crontabs carry its time
    zone, so a change of the organization's time zone must move them)."""
    batches = list(BillingBatch.objects.unscoped().filter(organization=organization))
    for batch in batches:
        batch_schedule_sync(batch=batch)
    return len(batches)


def on_organization_changed(sender, *, organization, changed: set[str], **kwargs) -> None:
    if "time_zone" in changed:
        batches_reschedule(organization=organization)
