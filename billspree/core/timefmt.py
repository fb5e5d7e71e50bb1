"""How dates, times and periods are shown: the one formatter of every page, email, PDF and
export.

Time is stored in UTC; people read it in the time zone of the place it is about: the
property's (a bill period, a move, a meter reading) or, for things that belong to no
property (a bill run, an API key, a poll), the organization's. A UTC date on a page is a
bug: 00:00 in Zurich on 1 Dec is 23:00 UTC on 30 Nov, so a move-in shown in UTC lands on
the wrong day and a month's period shown in UTC starts on the last day of the month
before.

Periods are stored as ``[start, end)``: aware instants (invoices, occupancies) or local
dates (bill runs, building statements). People say the *inclusive* local dates: November
is "1–30 Nov 2026", never "1 Nov – 1 Dec" and never "(end exclusive)". An end at local
midnight means "up to and including the day before"; an end inside a day (a move at
14:00) includes that day.

Plain functions for Python callers (services' messages, exports, statements) and the
template filters of ``{% load when %}`` (:mod:`billspree.core.templatetags.when`) share
the same code, so a date looks the same wherever it is shown.

This is the one time module of the core (what the code-health issue calls ``core/time.py``):
local days, local midnights, periods and their formatting live here and nowhere else
(``readings.rollups`` and the statement selectors use it rather than their own copies).
It keeps the name ``timefmt`` because two dozen modules, the ``when`` template filters and
code being changed in parallel import it by that name; a ``core/time.py`` beside it would
be a second place, and renaming it would touch every one of them for no behaviour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import dateformat, timezone

ONE_DAY = timedelta(days=1)
DASH = "\u2013"  # en dash: "1–30 Nov 2026", "15 Nov – 2 Dec 2026"

#: Attribute paths from an object to its time zone, nearest first: a property's own, then
#: the property of a billing point, invoice or occupancy, then an organization's.
_ZONE_PATHS = (
    ("time_zone",),
    ("property", "time_zone"),
    ("billing_point", "property", "time_zone"),
    ("organization", "time_zone"),
)


def zone(where: Any = None) -> tzinfo:
    """The time zone to show a value in.

    ``where`` is a zone (``ZoneInfo`` or its name), or an object that has one: a property,
    a billing point, an invoice or anything with ``billing_point``, an organization. With
    nothing, the active time zone, which the portal sets to the organization's for each
    request (:class:`billspree.core.middleware.LocalTimeMiddleware`).
    """
    if where is None or where == "":
        return timezone.get_current_timezone()
    if isinstance(where, tzinfo):
        return where
    if isinstance(where, str):
        return ZoneInfo(where)
    for path in _ZONE_PATHS:
        value: Any = where
        for attr in path:
            value = getattr(value, attr, None)
            if value is None:
                break
        else:
            return zone(value)
    raise TypeError(f"No time zone in {where!r}")


def local_date(value: date | datetime | None, where: Any = None) -> date | None:
    """The local calendar day of an instant (a plain date is already one)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            raise ValueError(f"A naive datetime cannot be shown: {value!r}")
        return value.astimezone(zone(where)).date()
    return value


def local_midnight(day: date, where: Any = None) -> datetime:
    """The instant a local day begins (00:00 where ``where`` is; DST days start there too)."""
    return datetime.combine(day, time(0), tzinfo=zone(where))


def month_start(day: date, where: Any = None, back: int = 0) -> datetime:
    """The instant the local month ``back`` months before ``day``'s begins (negative: after),
    where ``where`` is; months are counted from year 0, so December + 1 is January."""
    year, month = divmod(day.year * 12 + day.month - 1 - back, 12)
    return local_midnight(date(year, month + 1, 1), where)


def local_datetime(value: datetime, where: Any = None) -> datetime:
    if timezone.is_naive(value):
        raise ValueError(f"A naive datetime cannot be shown: {value!r}")
    return value.astimezone(zone(where))


def last_day(end: date | datetime, where: Any = None) -> date:
    """The last day included in a period that ends (exclusively) at ``end``.

    A date, or an instant at local midnight, ends the period with the day before; an
    instant inside a local day (a move at 14:00) includes that day.
    """
    if isinstance(end, datetime):
        local = local_datetime(end, where)
        return local.date() - ONE_DAY if local.time() == time(0) else local.date()
    return end - ONE_DAY


def period_days(
    start: date | datetime, end: date | datetime | None, where: Any = None
) -> tuple[date, date | None]:
    """``[start, end)`` as the inclusive local days (first, last); last is None if open."""
    first = local_date(start, where)
    return first, (None if end is None else max(first, last_day(end, where)))


def format_day(value: date | datetime | None, where: Any = None, *, month: str = "short") -> str:
    """"1 Dec 2026" (or "1 December 2026" with ``month="long"``); "" for nothing."""
    day = local_date(value, where)
    if day is None:
        return ""
    return f"{day.day} {_month(day, month)} {day.year}"


def format_instant(
    value: datetime | None, where: Any = None, *, seconds: bool = False, zone_name: bool = False
) -> str:
    """"1 Dec 2026 06:00" in the local time zone (optionally "… CET"); "" for nothing."""
    if value is None:
        return ""
    local = local_datetime(value, where)
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    text = f"{local.day} {_month(local.date(), 'short')} {local.year} {clock}"
    return f"{text} {local.tzname()}" if zone_name else text


def format_days(first: date, last: date | None) -> str:
    """Inclusive days as people say them, sharing what the two ends have in common:
    "1 Dec 2026", "1–30 Nov 2026", "15 Nov – 2 Dec 2026", "1 Dec 2026 – 31 Jan 2027",
    "from 1 Dec 2026" (open end)."""
    if last is None:
        return f"from {format_day(first)}"
    if first == last:
        return format_day(first)
    if first.year != last.year:
        return f"{format_day(first)} {DASH} {format_day(last)}"
    if first.month != last.month:
        return f"{first.day} {_month(first, 'short')} {DASH} {format_day(last)}"
    return f"{first.day}{DASH}{format_day(last)}"


def format_period(
    start: date | datetime | None, end: date | datetime | None, where: Any = None
) -> str:
    """A stored ``[start, end)`` period as its inclusive local days ("1–30 Nov 2026")."""
    if start is None:
        return ""
    return format_days(*period_days(start, end, where))


def format_month(value: date | datetime, where: Any = None, *, month: str = "short") -> str:
    """"Nov 2026" (or "November 2026"): the local month an instant or day falls in."""
    day = local_date(value, where)
    return f"{_month(day, month)} {day.year}"


def api_instant(value: datetime | None) -> str | None:
    """An instant as the API gives it: ISO 8601 in UTC with the ``Z`` designator
    ("2026-11-30T23:00:00Z"), exactly as DRF's ``DateTimeField`` renders one, so that
    hand-built payloads and serializers agree. Local calendar dates stay "YYYY-MM-DD"."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        return value.isoformat()
    if timezone.is_naive(value):
        raise ValueError(f"A naive datetime cannot be given out: {value!r}")
    text = value.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def month_name(day: date, style: str = "short") -> str:
    """"Nov" (or "November") of a local day."""
    return _month(day, style)


def _month(day: date, style: str) -> str:
    """The month's name through Django's (translatable) date format, not the C locale."""
    return dateformat.format(day, "F" if style == "long" else "M")
