"""Rate lists, their versions (price changes from a date), charge rules, holiday calendars."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billspree.core.errors import Conflict
from billspree.core.limits import date_in_range, date_range_message
from tariffs.models import (
    ChargeRule,
    Holiday,
    HolidayCalendar,
    RateList,
    RateListVersion,
    RoundingMode,
)
from tariffs.services.common import (
    CASH_ROUNDING_MOVED,
    audit,
    check_unique,
    clean_currency,
    clean_name,
    clean_unique_name,
    delete,
    money_options,
)
from tariffs.validation import Errors, clean_rule

# --- rate lists and versions ------------------------------------------------------------


@transaction.atomic
def rate_list_create(
    *, name: str, currency: str, effective_from: date, effective_to: date | None = None,
    description: str = "", rounding_mode: str = RoundingMode.HALF_UP, actor: Any = None,
) -> RateList:
    """A rate list with its first (empty) version from ``effective_from``, open-ended or
    ending before ``effective_to`` (exclusive): a tariff known to expire is entered at once."""
    errors = Errors()
    name = clean_name(name, errors)
    currency = clean_currency(currency, errors)
    options = money_options({"rounding_mode": rounding_mode}, errors)
    if not isinstance(effective_from, date):
        errors.add("effective_from", "Enter the date the prices start (YYYY-MM-DD).")
    elif effective_to is not None and effective_to <= effective_from:
        errors.add("effective_to", f"Must be after {effective_from:%Y-%m-%d}, when the prices "
                   "start (it is the first day without them).")
    if name:
        check_unique(RateList, errors, name=name)
    errors.raise_if_any()
    rate_list = RateList.objects.create(
        name=name, currency=currency, description=description or "", **options
    )
    RateListVersion.objects.create(rate_list=rate_list, number=1, effective_from=effective_from,
                                   effective_to=effective_to)
    audit("rate_list.create", rate_list, actor, currency=currency, effective_from=effective_from,
           **({"effective_to": effective_to} if effective_to else {}))
    return rate_list


UNCHANGED: Any = object()
"""Default of ``rate_list_update(effective_to=...)``: leave the end of the prices as it is."""


@transaction.atomic
def rate_list_update(
    *, rate_list: RateList, actor: Any = None, effective_to: Any = UNCHANGED, **fields: Any
) -> RateList:
    """Change a rate list's name, description, rounding; with ``effective_to`` also set (or
    clear, with None) the day its prices stop (``rate_list_end``): both or neither. Given
    ``effective_to`` and no other field, only the end changes."""
    if effective_to is not UNCHANGED:
        rate_list_end(rate_list=rate_list, effective_to=effective_to, actor=actor)
        if not fields:
            return rate_list
    errors = Errors()
    allowed = {"name", "description", "rounding_mode", "currency"}
    for key in sorted(set(fields) - allowed):
        errors.add(key, CASH_ROUNDING_MOVED if key == "cash_rounding"
                   else "This field cannot be changed.")
    if "currency" in fields and str(fields["currency"]).upper() != str(rate_list.currency):
        errors.add("currency", f"The currency of a rate list is fixed ({rate_list.currency}); "
                   "create a new rate list for another currency.")
    values = money_options(fields, errors)
    if "name" in fields:
        values["name"] = clean_unique_name(RateList, fields["name"], errors, exclude=rate_list)
    if "description" in fields:
        values["description"] = fields["description"] or ""
    errors.raise_if_any()
    for key, value in values.items():
        setattr(rate_list, key, value)
    rate_list.save()
    audit("rate_list.update", rate_list, actor, **values)
    return rate_list


@transaction.atomic
def rate_list_end(
    *, rate_list: RateList, effective_to: date | None, actor: Any = None
) -> RateListVersion:
    """Set (or clear, with None) the day the rate list's prices stop: the exclusive end of
    its last version."""
    RateList.objects.select_for_update().filter(pk=rate_list.pk).first()
    last = rate_list.versions.order_by("-effective_from").first()
    if last is None:
        raise ValidationError({"effective_to": ["This rate list has no prices to end."]})
    if effective_to is not None and effective_to <= last.effective_from:
        raise ValidationError({"effective_to": [
            f"Must be after {last.effective_from:%Y-%m-%d}, when the last version starts."
        ]})
    last.effective_to = effective_to
    last.save(update_fields=["effective_to"])
    audit("rate_list.end", rate_list, actor, effective_to=effective_to or "open")
    return last


@transaction.atomic
def rate_list_version_delete(*, version: RateListVersion, actor: Any = None) -> None:
    """Undo the latest price change: the previous version takes its days back."""
    rate_list = version.rate_list
    RateList.objects.select_for_update().filter(pk=rate_list.pk).first()
    versions = list(rate_list.versions.order_by("-effective_from"))
    if versions[0].pk != version.pk:
        raise Conflict("Only the latest version can be removed; history before it stays.")
    if len(versions) == 1:
        raise Conflict("A rate list keeps at least one version; delete the rate list instead.")
    previous = versions[1]
    end = version.effective_to
    delete(instance=version, actor=actor)
    previous.effective_to = end
    previous.save(update_fields=["effective_to"])


@transaction.atomic
def rate_list_delete(*, rate_list: RateList, actor: Any = None) -> None:
    if rate_list.plans.exists() or rate_list.plan_variants.exists():
        raise Conflict(f"{rate_list.name} is part of a plan; remove it from the plan first.")
    delete(instance=rate_list, actor=actor)


@transaction.atomic
def rate_list_version_create(
    *, rate_list: RateList, effective_from: date, note: str = "", copy_rules: bool = True,
    actor: Any = None,
) -> RateListVersion:
    """New prices from ``effective_from``: closes the current last version on that date and
    copies its rules (to be edited). History is never rewritten: the new version must start
    after the last one starts. Concurrent calls are serialised on the rate list row; the
    exclusion constraint is the last word."""
    RateList.objects.select_for_update().filter(pk=rate_list.pk).first()
    if not isinstance(effective_from, date):
        raise ValidationError({"effective_from": ["Enter the date the new prices start."]})
    latest = rate_list.versions.order_by("-effective_from").first()
    if latest is not None and effective_from <= latest.effective_from:
        raise ValidationError({"effective_from": [
            f"Must be after {latest.effective_from:%Y-%m-%d}, when version {latest.number} "
            "starts; past versions stay as they were."
        ]})
    if latest is not None and latest.effective_to and latest.effective_to < effective_from:
        raise ValidationError({"effective_from": [
            f"Version {latest.number} ends on {latest.effective_to:%Y-%m-%d}; a new version "
            "must start then or earlier so that no days are left without prices."
        ]})
    if latest is not None and (latest.effective_to is None or latest.effective_to > effective_from):
        latest.effective_to = effective_from
        latest.save(update_fields=["effective_to"])
    number = (latest.number if latest else 0) + 1
    try:
        with transaction.atomic():
            version = RateListVersion.objects.create(
                rate_list=rate_list, number=number, effective_from=effective_from,
                note=(note or "")[:200],
            )
    except IntegrityError as exc:
        raise Conflict("Another version was created at the same time; reload and retry.") from exc
    if latest is not None and copy_rules:
        _copy_rules(latest, version)
    audit("rate_list.version", rate_list, actor, number=number, effective_from=effective_from)
    return version


def _copy_rules(source: RateListVersion, target: RateListVersion) -> None:
    skip = {"id", "organization", "public_id", "version"}
    fields = [f.name for f in ChargeRule._meta.concrete_fields if f.name not in skip]
    ChargeRule.objects.bulk_create([
        ChargeRule(
            organization_id=target.organization_id, version=target,
            **{name: getattr(rule, name) for name in fields},
        )
        for rule in source.rules.all()
    ])


# --- charge rules -----------------------------------------------------------------------


def _rule_data(rule: ChargeRule | None, changes: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = {}
    if rule is not None:
        base = {
            "name": rule.name, "kind": rule.kind, "meter_type": rule.meter_type,
            "unit": rule.unit, "price": rule.price, "per": rule.per, "tiers": rule.tiers,
            "bands": rule.bands, "holiday_calendar": rule.holiday_calendar,
            "allowance": rule.allowance, "minimum_charge": rule.minimum_charge,
            "tax_rate": rule.tax_rate, "position": rule.position,
        }
    return {**base, **changes}


@transaction.atomic
def charge_rule_create(*, version: RateListVersion, actor: Any = None, **fields: Any) -> ChargeRule:
    values = clean_rule(_rule_data(None, fields))
    _rule_name_free(version, values["name"])
    rule = ChargeRule.objects.create(version=version, **values)
    audit("charge_rule.create", f"{version} · {rule.name}", actor, kind=rule.kind)
    return rule


@transaction.atomic
def charge_rule_update(*, rule: ChargeRule, actor: Any = None, **fields: Any) -> ChargeRule:
    values = clean_rule(_rule_data(rule, fields))
    _rule_name_free(rule.version, values["name"], exclude=rule)
    for key, value in values.items():
        setattr(rule, key, value)
    rule.save()
    audit("charge_rule.update", f"{rule.version} · {rule.name}", actor, **fields)
    return rule


@transaction.atomic
def charge_rule_delete(*, rule: ChargeRule, actor: Any = None) -> None:
    label = f"{rule.version} · {rule.name}"
    rule.delete()
    audit("charge_rule.delete", label, actor)


def _rule_name_free(version: RateListVersion, name: str, exclude: ChargeRule | None = None) -> None:
    qs = version.rules.filter(name=name)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    if qs.exists():
        raise ValidationError({"name": [f"This version already has a rule named '{name}'."]})


# --- holiday calendars ------------------------------------------------------------------


def _clean_days(days: Any, errors: Errors) -> list[tuple[date, str]]:
    out, seen = [], set()
    for n, item in enumerate(days or [], start=1):
        day, label = (item if isinstance(item, list | tuple) else (item, ""))[:2]
        if isinstance(day, str):
            try:
                day = date.fromisoformat(day)
            except ValueError:
                errors.add("days", f"Row {n}: '{day}' is not a date (YYYY-MM-DD).")
                continue
        if not isinstance(day, date):
            errors.add("days", f"Row {n}: not a date.")
            continue
        if not date_in_range(day):
            errors.add("days", f"Row {n}: {date_range_message()}")
            continue
        if day in seen:
            errors.add("days", f"Row {n}: {day} is listed twice.")
        seen.add(day)
        out.append((day, str(label or "Holiday")[:200]))
    return out


@transaction.atomic
def holiday_calendar_save(
    *, name: str, days: list, calendar: HolidayCalendar | None = None, description: str = "",
    actor: Any = None,
) -> HolidayCalendar:
    """Create or replace a holiday calendar; ``days`` are (date, name) pairs."""
    errors = Errors()
    name = clean_unique_name(HolidayCalendar, name, errors, exclude=calendar)
    cleaned = _clean_days(days, errors)
    errors.raise_if_any()
    if calendar is None:
        calendar = HolidayCalendar.objects.create(name=name, description=description)
    else:
        calendar.name, calendar.description = name, description
        calendar.save()
        calendar.days.all().delete()
    Holiday.objects.bulk_create(
        [Holiday(organization_id=calendar.organization_id, calendar=calendar, date=d, name=n)
         for d, n in cleaned]
    )
    audit("holiday_calendar.save", calendar, actor, days=len(cleaned))
    return calendar
