"""Shared by the tenants services: instants from dates, how periods are shown."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

from billspree.core import timefmt
from meters.models import BillingPoint, Property

TENANT_FIELDS = (
    "kind",
    "name",
    "contact_person",
    "email",
    "phone",
    "language",
    "customer_number",
    "street",
    "building_number",
    "postal_code",
    "town",
    "country",
    "notes",
)
OVERLAP_CONSTRAINTS = ("occupancy_no_overlap_per_billing_point", "badge_one_holder_at_a_time")

Instant = date | datetime


# --- time -------------------------------------------------------------------------------


def to_instant(value: Instant, tz: Any, *, field: str) -> datetime:
    """An aware instant; a plain date is midnight in ``tz`` (the property's time zone)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValidationError({field: ["Give a time zone (or a plain date)."]})
        return value
    if isinstance(value, date):
        zone = tz if not isinstance(tz, str) else ZoneInfo(tz)
        return datetime.combine(value, time(0), tzinfo=zone)
    raise ValidationError({field: ["A date or a date and time is required."]})


def tz_of(billing_point: BillingPoint) -> Any:
    return Property.objects.only("time_zone").get(pk=billing_point.property_id).time_zone


def fmt_instant(moment: datetime | None, tz: Any = None) -> str:
    """A date (or date and time) as people on site read it, through the one formatter:
    the day of a local midnight ("1 Dec 2026"), else the local time too."""
    if moment is None:
        return "open end"
    if timefmt.local_datetime(moment, tz).time() == time(0):
        return timefmt.format_day(moment, tz)
    return timefmt.format_instant(moment, tz)


def period_text(start: datetime, end: datetime | None, tz: Any = None) -> str:
    """An occupancy or badge period as a phrase: "over 1–31 Dec 2026" (inclusive local
    days), or "from 1 Dec 2026" while open."""
    text = timefmt.format_period(start, end, tz)
    return text if end is None else f"over {text}"
