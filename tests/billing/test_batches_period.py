"""Calendar maths of batches (pure): the period a run bills and when the schedule fires next,
by examples across year boundaries and DST, and by hypothesis over any date, cycle, anchor,
billing day and time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.models import BillingBatch
from billing.services import batch_next_run, batch_period
from billing.services.batches import period_start_months

BERLIN = ZoneInfo("Europe/Berlin")
MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}


def batch(cycle="monthly", anchor=1, day=1, at=time(6)) -> BillingBatch:
    return BillingBatch(name="t", cycle=cycle, anchor_month=anchor, billing_day=day,
                        schedule_time=at)


@pytest.mark.parametrize("cycle, anchor, on, expected", [
    ("monthly", 1, date(2026, 12, 1), (date(2026, 11, 1), date(2026, 12, 1))),
    ("monthly", 1, date(2026, 11, 30), (date(2026, 10, 1), date(2026, 11, 1))),
    ("monthly", 7, date(2026, 1, 15), (date(2025, 12, 1), date(2026, 1, 1))),
    ("monthly", 1, date(2024, 3, 1), (date(2024, 2, 1), date(2024, 3, 1))),
    ("quarterly", 1, date(2026, 1, 5), (date(2025, 10, 1), date(2026, 1, 1))),
    ("quarterly", 1, date(2026, 3, 31), (date(2025, 10, 1), date(2026, 1, 1))),
    ("quarterly", 1, date(2026, 4, 1), (date(2026, 1, 1), date(2026, 4, 1))),
    ("quarterly", 2, date(2026, 5, 1), (date(2026, 2, 1), date(2026, 5, 1))),
    ("quarterly", 2, date(2026, 4, 30), (date(2025, 11, 1), date(2026, 2, 1))),
    ("quarterly", 2, date(2026, 2, 10), (date(2025, 11, 1), date(2026, 2, 1))),
    ("quarterly", 2, date(2026, 1, 31), (date(2025, 8, 1), date(2025, 11, 1))),
    ("quarterly", 12, date(2027, 3, 1), (date(2026, 12, 1), date(2027, 3, 1))),
    ("yearly", 1, date(2027, 1, 1), (date(2026, 1, 1), date(2027, 1, 1))),
    ("yearly", 7, date(2026, 7, 1), (date(2025, 7, 1), date(2026, 7, 1))),
    ("yearly", 7, date(2026, 6, 30), (date(2024, 7, 1), date(2025, 7, 1))),
])
def test_period_examples(cycle, anchor, on, expected):
    assert batch_period(batch=batch(cycle, anchor), on=on) == expected


def test_run_months():
    assert period_start_months(cycle="monthly", anchor_month=5) == list(range(1, 13))
    assert period_start_months(cycle="quarterly", anchor_month=2) == [2, 5, 8, 11]
    assert period_start_months(cycle="quarterly", anchor_month=12) == [3, 6, 9, 12]
    assert period_start_months(cycle="yearly", anchor_month=7) == [7]


def _months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


@settings(max_examples=400, deadline=None)
@given(on=st.dates(date(1990, 1, 1), date(2200, 12, 31)),
       cycle=st.sampled_from(list(MONTHS)), anchor=st.integers(1, 12))
def test_period_is_the_last_complete_aligned_one(on, cycle, anchor):
    start, end = batch_period(batch=batch(cycle, anchor), on=on)
    months = MONTHS[cycle]
    assert start.day == end.day == 1
    assert _months_between(start, end) == months
    assert end <= on  # complete on ``on``
    assert _months_between(end, on) < months  # …and the last one: the next is not over
    if cycle != "monthly":
        assert (start.month - anchor) % months == 0


@pytest.mark.parametrize("b, after, expected", [
    # 1 Dec 06:00 Berlin (CET) = 05:00 UTC
    (batch(), datetime(2026, 11, 24, 10, tzinfo=UTC), datetime(2026, 12, 1, 5, tzinfo=UTC)),
    # exactly at a run: the next one, across the year boundary
    (batch(), datetime(2026, 12, 1, 5, tzinfo=UTC), datetime(2027, 1, 1, 5, tzinfo=UTC)),
    # a minute before
    (batch(), datetime(2026, 12, 1, 4, 59, tzinfo=UTC), datetime(2026, 12, 1, 5, tzinfo=UTC)),
    # summer time: 06:00 CEST = 04:00 UTC
    (batch(day=15), datetime(2026, 6, 20, tzinfo=UTC), datetime(2026, 7, 15, 4, tzinfo=UTC)),
    # quarterly anchored in February: after the November run comes February
    (batch("quarterly", 2), datetime(2026, 11, 5, tzinfo=UTC),
     datetime(2027, 2, 1, 5, tzinfo=UTC)),
    (batch("yearly", 7, day=28, at=time(23, 30)), datetime(2026, 7, 28, 21, 29, tzinfo=UTC),
     datetime(2026, 7, 28, 21, 30, tzinfo=UTC)),
    (batch("yearly", 7, day=28, at=time(23, 30)), datetime(2026, 7, 28, 21, 30, tzinfo=UTC),
     datetime(2027, 7, 28, 21, 30, tzinfo=UTC)),
    # 02:30 on the day clocks jump to 03:00 (28 Mar 2027): a real instant, 03:30 CEST
    (batch("yearly", 3, day=28, at=time(2, 30)), datetime(2027, 1, 1, tzinfo=UTC),
     datetime(2027, 3, 28, 1, 30, tzinfo=UTC)),
])
def test_next_run_examples(b, after, expected):
    got = batch_next_run(batch=b, after=after, tz="Europe/Berlin")
    assert got.tzinfo is not None
    assert got == expected


def test_next_run_needs_an_aware_instant():
    with pytest.raises(ValueError, match="aware"):
        batch_next_run(batch=batch(), after=datetime(2026, 1, 1), tz="UTC")  # noqa: DTZ001


@settings(max_examples=300, deadline=None)
@given(after=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1),  # noqa: DTZ001
                          timezones=st.just(UTC)),
       cycle=st.sampled_from(list(MONTHS)), anchor=st.integers(1, 12),
       day=st.integers(1, 28), hour=st.integers(0, 23), minute=st.integers(0, 59),
       tz=st.sampled_from(["Europe/Berlin", "America/New_York", "Asia/Kolkata", "UTC"]))
def test_next_run_is_the_first_firing_after(after, cycle, anchor, day, hour, minute, tz):
    b = batch(cycle, anchor, day, time(hour, minute))
    got = batch_next_run(batch=b, after=after, tz=tz)
    local = got.astimezone(ZoneInfo(tz))
    assert got > after
    assert local.day == day
    assert (local.month - anchor) % MONTHS[cycle] == 0 or cycle == "monthly"
    assert got - after <= timedelta(days=366 + 1)
    # nothing fires in between: the firing of the previous run month is not after ``after``
    before = batch_next_run(batch=b, after=got - timedelta(days=MONTHS[cycle] * 28), tz=tz)
    assert before == got or before <= after
    # the run bills the period that ended just before its month
    start, end = batch_period(batch=b, on=local.date())
    assert end == local.date().replace(day=1)
