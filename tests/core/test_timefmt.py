"""The one formatter of dates, times and periods (billspree.core.timefmt), by hand.

Expected strings are written from the calendar, not from the code: Zurich is UTC+1 in
winter and UTC+2 in summer (2026: summer time from 29 Mar 01:00 UTC to 25 Oct 01:00 UTC),
New York is UTC-5 / UTC-4 (2026: from 8 Mar to 1 Nov).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.utils import timezone

from billspree.core import timefmt

ZH = ZoneInfo("Europe/Zurich")
NY = ZoneInfo("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def zh(*args) -> datetime:
    return datetime(*args, tzinfo=ZH)


@pytest.mark.parametrize(
    ("start", "end", "where", "expected"),
    [
        # November stored as local midnights: 31 Oct 23:00 UTC – 30 Nov 23:00 UTC
        (utc(2026, 10, 31, 23), utc(2026, 11, 30, 23), "Europe/Zurich", "1–30 Nov 2026"),
        (date(2026, 11, 1), date(2026, 12, 1), None, "1–30 Nov 2026"),
        (date(2026, 11, 15), date(2026, 12, 3), None, "15 Nov – 2 Dec 2026"),
        (date(2026, 12, 1), date(2027, 2, 1), None, "1 Dec 2026 – 31 Jan 2027"),
        (date(2026, 12, 15), date(2027, 1, 15), None, "15 Dec 2026 – 14 Jan 2027"),
        # a period ending at local midnight of the 1st ends on the last day of the month
        (zh(2026, 12, 1), zh(2027, 1, 1), ZH, "1–31 Dec 2026"),
        (utc(2026, 11, 30, 23), utc(2026, 12, 31, 23), ZH, "1–31 Dec 2026"),
        # DST days: 29 Mar 2026 has 23 hours, 25 Oct 2026 has 25, each is one day
        (zh(2026, 3, 29), zh(2026, 3, 30), ZH, "29 Mar 2026"),
        (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22), ZH, "29 Mar 2026"),
        (utc(2026, 10, 24, 22), utc(2026, 10, 25, 23), ZH, "25 Oct 2026"),
        (zh(2026, 3, 1), zh(2026, 4, 1), ZH, "1–31 Mar 2026"),  # 31 Mar 00:00 is +02:00
        (zh(2026, 10, 1), zh(2026, 11, 1), ZH, "1–31 Oct 2026"),
        # leap February
        (date(2028, 2, 1), date(2028, 3, 1), None, "1–29 Feb 2028"),
        # an end inside a local day (a move at 14:00) includes that day
        (zh(2026, 11, 1), zh(2026, 11, 15, 14), ZH, "1–15 Nov 2026"),
        # west of UTC: November in New York is 1 Nov 04:00 UTC – 1 Dec 05:00 UTC
        (utc(2026, 11, 1, 4), utc(2026, 12, 1, 5), NY, "1–30 Nov 2026"),
        # open end
        (zh(2026, 12, 1), None, ZH, "from 1 Dec 2026"),
    ],
)
def test_period_as_inclusive_local_days(start, end, where, expected):
    assert timefmt.format_period(start, end, where) == expected


@pytest.mark.parametrize(
    ("value", "where", "day", "instant"),
    [
        # just after local midnight: the previous day in UTC, the 1st on site
        (utc(2026, 11, 30, 23, 15), ZH, "1 Dec 2026", "1 Dec 2026 00:15"),
        (utc(2026, 12, 31, 23, 5), ZH, "1 Jan 2027", "1 Jan 2027 00:05"),
        (utc(2026, 12, 1, 3), NY, "30 Nov 2026", "30 Nov 2026 22:00"),
        # summer time: a 05:00 UTC run is 07:00 in Zurich in July, 06:00 in December
        (utc(2026, 7, 1, 5), ZH, "1 Jul 2026", "1 Jul 2026 07:00"),
        (utc(2026, 12, 1, 5), ZH, "1 Dec 2026", "1 Dec 2026 06:00"),
        # the hour after spring forward: 01:30 UTC on 29 Mar is 03:30 CEST
        (utc(2026, 3, 29, 1, 30), ZH, "29 Mar 2026", "29 Mar 2026 03:30"),
        (date(2026, 11, 1), ZH, "1 Nov 2026", None),
    ],
)
def test_instants_in_the_local_zone(value, where, day, instant):
    assert timefmt.format_day(value, where) == day
    if instant:
        assert timefmt.format_instant(value, where) == instant


def test_fall_back_hour_is_told_apart_by_the_zone_name():
    """02:30 happens twice on 25 Oct 2026 in Zurich: 00:30 UTC (CEST), 01:30 UTC (CET)."""
    first = timefmt.format_instant(utc(2026, 10, 25, 0, 30), ZH, zone_name=True)
    second = timefmt.format_instant(utc(2026, 10, 25, 1, 30), ZH, zone_name=True)
    assert (first, second) == ("25 Oct 2026 02:30 CEST", "25 Oct 2026 02:30 CET")


def test_the_zone_comes_from_the_object_or_the_active_zone():
    prop = SimpleNamespace(time_zone=ZH)
    invoice = SimpleNamespace(billing_point=SimpleNamespace(property=prop))
    org = SimpleNamespace(time_zone="America/New_York")
    at = utc(2026, 11, 30, 23, 30)
    assert timefmt.format_day(at, prop) == "1 Dec 2026"
    assert timefmt.format_day(at, invoice) == "1 Dec 2026"
    assert timefmt.format_day(at, org) == "30 Nov 2026"
    assert timefmt.format_day(at) == "30 Nov 2026"  # the settings' UTC
    with timezone.override(ZH):
        assert timefmt.format_day(at) == "1 Dec 2026"
    with pytest.raises(TypeError):
        timefmt.zone(object())


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        timefmt.format_day(datetime(2026, 11, 1), ZH)  # noqa: DTZ001


def test_months_are_local_months():
    assert timefmt.format_month(utc(2026, 10, 31, 23), ZH) == "Nov 2026"
    assert timefmt.format_month(utc(2026, 10, 31, 23), ZH, month="long") == "November 2026"


def test_template_filters_use_the_same_formatter():
    invoice = SimpleNamespace(
        period_start=utc(2026, 10, 31, 23), period_end=utc(2026, 11, 30, 23),
        billing_point=SimpleNamespace(property=SimpleNamespace(time_zone=ZH)),
    )
    run = SimpleNamespace(period_start=date(2026, 11, 1), period_end=date(2026, 12, 1))
    html = Template(
        "{% load when %}{{ inv|period }}|{{ run|period }}|{% period a b tz %}|"
        "{{ a|day:inv }}|{{ a|moment:tz }}|{{ a|month_long:tz }}|{{ none|day }}"
    ).render(Context({"inv": invoice, "run": run, "a": invoice.period_start,
                      "b": invoice.period_end, "tz": "Europe/Zurich", "none": None}))
    assert html == (
        "1–30 Nov 2026|1–30 Nov 2026|1–30 Nov 2026|1 Nov 2026|1 Nov 2026 00:00|"
        "November 2026|"
    )
