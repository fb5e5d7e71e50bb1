"""``{% load when %}``: the template side of :mod:`billspree.core.timefmt`.

``where`` (the filter argument) is a time zone or anything that has one (a property, a
billing point, an invoice, an organization); without it the active zone, the
organization's, is used.

- ``{{ value|day:where }}`` → "1 Dec 2026"; ``|day_long`` → "1 December 2026"
- ``{{ value|moment:where }}`` → "1 Dec 2026 06:00"; ``|moment_seconds`` → "… 06:00:12"
- ``{{ value|month:where }}`` → "Nov 2026"; ``|month_long`` → "November 2026"
- ``{{ end|last_day:where }}`` → "30 Nov 2026" for an exclusive end of 1 Dec
- ``{{ invoice|period }}`` → "1–30 Nov 2026" (its ``period_start``/``period_end``, in its
  property's zone); ``{% period start end where %}`` for any other pair
- ``{% days first last %}`` → "1–30 Nov 2026" for inclusive local days
- ``{{ value|detail_value:where }}``: an audit detail value; an ISO instant as ``moment``
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template

from billspree.core import timefmt

register = template.Library()


@register.filter
def day(value, where: Any = None) -> str:
    return timefmt.format_day(value, where or None)


@register.filter
def day_long(value, where: Any = None) -> str:
    return timefmt.format_day(value, where or None, month="long")


@register.filter
def moment(value, where: Any = None) -> str:
    return timefmt.format_instant(value, where or None)


@register.filter
def moment_seconds(value, where: Any = None) -> str:
    return timefmt.format_instant(value, where or None, seconds=True)


@register.filter
def month(value, where: Any = None) -> str:
    return "" if value in (None, "") else timefmt.format_month(value, where or None)


@register.filter
def month_long(value, where: Any = None) -> str:
    return "" if value in (None, "") else timefmt.format_month(value, where or None,
                                                               month="long")


@register.filter
def last_day(value, where: Any = None) -> str:
    """The last day included before an exclusive end: "30 Nov 2026" for 1 Dec."""
    return "" if value in (None, "") else timefmt.format_day(timefmt.last_day(value,
                                                                               where or None))


@register.filter(name="period")
def period_of(obj, where: Any = None) -> str:
    """An object's ``[period_start, period_end)`` in its own (or ``where``'s) zone."""
    if obj in (None, ""):
        return ""
    start, end = obj.period_start, obj.period_end
    return timefmt.format_period(start, end, where or _own_zone(obj, start))


@register.simple_tag
def days(first, last) -> str:
    """Inclusive local days already worked out (a statement's first and last day)."""
    return "" if first in (None, "") else timefmt.format_days(first, last or first)


@register.simple_tag(name="period")
def period_tag(start, end, where: Any = None) -> str:
    return timefmt.format_period(start, end, where or None)


def _own_zone(obj, start) -> Any:
    """Instants need a zone (the object's, else the active one); local dates do not."""
    if not hasattr(start, "tzinfo"):
        return None
    try:
        return timefmt.zone(obj)
    except TypeError:
        return None


@register.filter
def detail_value(value, where: Any = None) -> Any:
    """A value of an audit event's detail: an ISO instant ("2026-11-30T23:00:00+00:00", as
    services record them) is shown like every other instant; anything else as it is."""
    if isinstance(value, str) and "T" in value and len(value) >= 19:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        if parsed.tzinfo is not None:
            return timefmt.format_instant(parsed, where or None)
    return value
