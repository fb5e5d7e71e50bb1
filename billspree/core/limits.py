"""Limits of what the product can compute, in one place.

Why: a reading dated year 1 or year 9999 is accepted by Python and PostgreSQL but breaks
period arithmetic (``date + timedelta`` overflows, month stepping past 9999 raises), so it
surfaced as a 500 or a import stuck "pending". Every entry point (API fields, filters, CSV
import, forms) checks against these bounds and answers with the allowed range instead.
"""

from __future__ import annotations

import datetime as dt

DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2199, 12, 31)


def date_range_message() -> str:
    return f"Dates must be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}."


def date_in_range(value: dt.date | dt.datetime) -> bool:
    """True when ``value`` (a date or datetime, aware or naive) lies within the bounds."""
    day = value.date() if isinstance(value, dt.datetime) else value
    return DATE_MIN <= day <= DATE_MAX


def query_day(query, name: str) -> dt.date | None:
    """The ``YYYY-MM-DD`` day in query parameter ``name`` (None when absent), or a
    ``ValidationError`` on ``name`` saying why: the API and the report pages read their
    ``from``/``to`` alike."""
    from django.core.exceptions import ValidationError

    raw = (query.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: [f"Not a date (YYYY-MM-DD): {raw!r}."]}) from None
    if not date_in_range(day):
        raise ValidationError({name: [date_range_message()]})
    return day
