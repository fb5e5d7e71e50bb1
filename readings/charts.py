"""Chart data of one meter for the managers' meter page (drawn by ``{% chart %}``).

Months come from :func:`readings.selectors.meter_months_consumption` (rollups for complete
months, the consumption selector for the rest), days from the daily rollups: a kWh on
these charts is the kWh on the bill. The month in progress is shown *so far*: up to the
meter's latest reading, never projected to the month's end from recent daily use; a
month that starts after the latest reading has no value yet.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal

from django.utils import timezone

from billspree.core import charts
from meters.models import Meter
from readings import selectors
from readings.models import MeterReadingState

ESTIMATED = "partly estimated"
NO_DATA = "no data"


def month_starts(tz: tzinfo, months: int, now: datetime) -> list[datetime]:
    """Local midnights of the 1st of the last ``months`` months and of the next month."""
    local = now.astimezone(tz)
    starts = []
    for back in range(months - 1, -2, -1):
        y, m = divmod(local.year * 12 + local.month - 1 - back, 12)
        starts.append(datetime(y, m + 1, 1, tzinfo=tz))
    return starts


def last_read_at(meter: Meter) -> datetime | None:
    return (
        MeterReadingState.objects.filter(meter_id=meter.id)
        .values_list("last_read_at", flat=True)
        .first()
    )


def so_far_periods(
    starts: list[datetime], now: datetime, latest: datetime | None
) -> list[tuple[datetime, datetime] | None]:
    """[start, end) of each month, the one in progress cut at the latest reading; None for
    a month with no reading in it or before it yet (nothing to show, not a projection)."""
    out: list[tuple[datetime, datetime] | None] = []
    for start, end in zip(starts, starts[1:], strict=False):
        if latest is None or latest <= start:
            out.append(None)
        elif start <= now < end:
            out.append((start, min(end, latest)))
        else:
            out.append((start, end))
    return out


def month_quantities(
    meter: Meter, periods: list[tuple[datetime, datetime] | None]
) -> list[tuple[Decimal | None, bool]]:
    """(quantity, flagged) per period (None periods stay empty), in one selector call."""
    wanted = [p for p in periods if p is not None]
    found = iter(selectors.meter_months_consumption(meter=meter, periods=wanted) if wanted else [])
    out = []
    for p in periods:
        if p is None:
            out.append((None, False))
        else:
            c = next(found)
            out.append((c.quantity, c.flagged))
    return out


def meter_month_chart(
    *, meter: Meter, tz: tzinfo, months: int = 12, now: datetime | None = None,
    compare: bool = True,
) -> charts.Chart:
    """The last ``months`` local months of ``meter`` (this month so far), with the same
    months a year earlier as a comparison line when ``compare``."""
    now = now or timezone.now()
    latest = last_read_at(meter)
    back = months + 12 if compare else months
    starts = month_starts(tz, back, now)
    values = month_quantities(meter, so_far_periods(starts, now, latest))
    shown = values[-months:]
    chart = charts.month_chart(
        id=f"meter-{meter.public_id}-months",
        title=f"Consumption of {meter.serial_number} per month",
        unit=meter.unit,
        months=[s.date() for s in starts[-months - 1 : -1]],
        today=now.astimezone(tz).date(),
        x_title=f"Month ({tz})",
        zone=tz,
        note="The month in progress counts up to the latest reading. Lighter bars are "
        "partly estimated.",
    )
    chart.add(charts.Series(
        name="Consumption",
        values=[q for q, _ in shown],
        notes=[ESTIMATED if f else (NO_DATA if q is None else "") for q, f in shown],
        marks=["estimated" if f else "" for _, f in shown],
    ))
    if compare:
        earlier = values[:months]
        if any(q is not None for q, _ in earlier):
            chart.add(charts.Series(
                name="A year earlier",
                values=[q for q, _ in earlier],
                kind=charts.LINE,
                compare=True,
                notes=[ESTIMATED if f else "" for _, f in earlier],
            ))
    return chart


def meter_day_chart(
    *, meter: Meter, tz: tzinfo, days: int = 31, now: datetime | None = None
) -> charts.Chart:
    """The last ``days`` local days before today from the daily rollups (complete days only:
    a day ends at or before the latest reading)."""
    today = (now or timezone.now()).astimezone(tz).date()
    first = today - timedelta(days=days)
    stored = dict(selectors.consumption_rollup(meter=meter, interval="day", first=first))
    shown: list[date] = [first + timedelta(days=n) for n in range(days)]
    chart = charts.day_chart(
        id=f"meter-{meter.public_id}-days",
        title=f"Consumption of {meter.serial_number} per day",
        unit=meter.unit,
        days=shown,
        today=today,
        x_title=f"Day ({tz})",
        zone=tz,
    )
    quantities = [stored.get(d) for d in shown]
    chart.add(charts.Series(
        name="Consumption",
        values=quantities,
        notes=["" if q is not None else "not complete or no data" for q in quantities],
    ))
    return chart
