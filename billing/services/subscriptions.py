"""Subscriptions: a billing point on a plan (and variant) from a date to an (exclusive)
date, never two at once."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from billing.models import (
    BillRunItem,
    Subscription,
)
from billspree.core.errors import Conflict
from billspree.core.services import audit_record
from meters.models import BillingPoint
from tariffs.models import Plan, PlanVariant


def _check_subscription(*, plan, variant, start_date, end_date) -> None:
    errors: dict[str, list[str]] = {}
    if variant is not None and variant.plan_id != plan.pk:
        errors["variant"] = [f"{variant} is a variant of {variant.plan}, not of {plan}."]
    if end_date is not None and end_date <= start_date:
        errors["end_date"] = [f"The end date must be after the start date {start_date}."]
    if errors:
        raise ValidationError(errors)


def _check_overlap(*, billing_point, start_date, end_date, exclude_pk=None) -> None:
    others = Subscription.objects.filter(billing_point=billing_point)
    if exclude_pk:
        others = others.exclude(pk=exclude_pk)
    if end_date is not None:
        others = others.filter(start_date__lt=end_date)
    others = others.filter(Q(end_date__isnull=True) | Q(end_date__gt=start_date))
    other = others.first()
    if other is not None:
        until = other.end_date or "open end"
        raise ValidationError({"start_date": [
            f"{billing_point} is already subscribed to {other.plan} from {other.start_date} "
            f"to {until}; end that subscription first."
        ]})


@transaction.atomic
def subscription_create(
    *, billing_point: BillingPoint, plan: Plan, variant: PlanVariant | None = None,
    start_date: date, end_date: date | None = None, note: str = "", batch=None, actor=None,
    api_key=None,
) -> Subscription:
    _check_subscription(plan=plan, variant=variant, start_date=start_date, end_date=end_date)
    BillingPoint.objects.select_for_update().filter(pk=billing_point.pk).first()
    _check_overlap(billing_point=billing_point, start_date=start_date, end_date=end_date)
    sub = Subscription.objects.create(
        billing_point=billing_point, plan=plan, variant=variant, start_date=start_date,
        end_date=end_date, note=note, batch=batch,
    )
    audit_record(action="subscription.create", actor=actor, api_key=api_key,
                 target=str(sub.public_id), detail={"billing_point": str(billing_point)})
    return sub


@transaction.atomic
def subscription_update(
    *, subscription: Subscription, actor=None, api_key=None, **fields: Any
) -> Subscription:
    sub = Subscription.objects.select_for_update().get(pk=subscription.pk)
    allowed = {"plan", "variant", "start_date", "end_date", "note", "batch"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in unknown})
    for name, value in fields.items():
        setattr(sub, name, value)
    _check_subscription(plan=sub.plan, variant=sub.variant, start_date=sub.start_date,
                        end_date=sub.end_date)
    _check_overlap(billing_point=sub.billing_point, start_date=sub.start_date,
                   end_date=sub.end_date, exclude_pk=sub.pk)
    sub.save()
    audit_record(action="subscription.update", actor=actor, api_key=api_key,
                 target=str(sub.public_id), detail={k: str(v) for k, v in fields.items()})
    return sub


@transaction.atomic
def subscription_delete(*, subscription: Subscription, actor=None, api_key=None) -> None:
    if subscription.invoices.exists():
        raise Conflict("This subscription has invoices; set an end date instead.")
    if BillRunItem.objects.filter(subscription=subscription).exists():
        raise Conflict("This subscription is part of a bill run; set an end date instead.")
    audit_record(action="subscription.delete", actor=actor, api_key=api_key,
                 target=str(subscription.public_id))
    subscription.delete()
