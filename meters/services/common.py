"""Parsing and helpers shared by the meters services (and the API and portal)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_date, parse_datetime

from billspree.core import timefmt
from billspree.core.limits import date_in_range, date_range_message
from meters.models import Meter

Actor = AbstractBaseUser | None
Instant = date | datetime | str


# --- parsing shared by services, API and portal ----------------------------------------


def to_instant(value: Instant | None, tz: Any, *, field: str) -> datetime:
    """An aware instant. A plain date means midnight in ``tz`` (the property's time zone),
    because people say "connected on 1 March" and mean the local day, not UTC."""
    if isinstance(value, str):
        value = _parse_text_instant(value.strip(), field)
    if isinstance(value, date) and not date_in_range(value):
        raise ValidationError({field: [date_range_message()]})
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError({field: ["Give a time zone with the time (or a plain date)."]})
        return value
    if isinstance(value, date):
        zone = ZoneInfo(tz) if isinstance(tz, str) else tz
        return datetime.combine(value, time(0), tzinfo=zone)
    raise ValidationError({field: ["A date (YYYY-MM-DD) or an ISO date and time is required."]})


def _parse_text_instant(text: str, field: str) -> date | datetime:
    try:
        parsed = parse_date(text) or parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationError(
            {field: [f"'{text}' is not a date (YYYY-MM-DD) or an ISO date and time."]}
        )
    return parsed


def to_register(value: Any, *, field: str, meter: Meter | None = None) -> Decimal:
    """A register value: a finite, non-negative decimal that fits the meter's register."""
    try:
        number = Decimal(str(value).strip().replace(",", ".")) if value not in (None, "") else None
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise ValidationError({field: [f"'{value}' is not a register value."]})
    if number < 0:
        raise ValidationError({field: ["A register value cannot be negative."]})
    if meter is not None and number >= Decimal(10) ** meter.register_digits:
        raise ValidationError(
            {
                field: [
                    f"{number} does not fit the {meter.register_digits}-digit register of "
                    f"meter {meter.serial_number}."
                ]
            }
        )
    return number


def fmt_instant(moment: datetime, tz: Any = None) -> str:
    """The day of a local midnight ("1 Dec 2026"), else the local time with the zone's
    abbreviation, through the one formatter (:mod:`billspree.core.timefmt`)."""
    zone = str(tz) if tz else moment.tzinfo
    if timefmt.local_datetime(moment, zone).time() == time(0):
        return timefmt.format_day(moment, zone)
    return timefmt.format_instant(moment, zone, zone_name=True)


def reject_unknown(fields: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ValidationError({k: ["This field cannot be set here."] for k in unknown})


def clean_and_save(
    obj: Any, *, unique_field: str, unique_message: str, strip: tuple[str, ...] = ()
) -> Any:
    """Strip the ``strip`` text fields, full_clean for field rules, then save; a unique
    clash names the field (``unique_message`` has ``{}`` for the value). Returns ``obj``."""
    for name in strip:
        setattr(obj, name, (getattr(obj, name) or "").strip())
    unique_message = unique_message.format(getattr(obj, unique_field))
    obj.full_clean(exclude=["organization"], validate_unique=False, validate_constraints=False)
    model = type(obj)
    clash = model.objects.filter(**{unique_field: getattr(obj, unique_field)}).exclude(pk=obj.pk)
    if clash.exists():
        raise ValidationError({unique_field: [unique_message]})
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:  # a concurrent insert of the same natural key
        raise ValidationError({unique_field: [unique_message]}) from exc
    return obj


def changed_fields(obj: Any, fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if getattr(obj, k) != v}
