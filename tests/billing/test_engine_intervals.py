"""Time-of-use interval data is loaded once for a batch, however many segments it prices
(``readings.selectors.interval_data``), and prices the same to the cent (the arithmetic is
in each test)."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing import services
from meters.models import MeterAssignment
from readings import selectors as readings_selectors
from tariffs import services as tariff_services
from tests.billing.builders import at, make_house, read

MON, TUE, WED, THU = (date(2026, 9, 7) + timedelta(days=n) for n in range(4))

BANDS = [
    {"name": "Peak", "days": ["weekday"], "start": "07:00", "end": "20:00", "price": "0.32"},
    {"name": "Off-peak", "days": ["weekday"], "start": "20:00", "end": "07:00", "price": "0.21"},
    {"name": "Weekend", "days": ["weekend", "holiday"], "start": "00:00", "end": "00:00",
     "price": "0.19"},
]
DEARER = [{**b, "price": {"Peak": "0.40", "Off-peak": "0.25"}.get(b["name"], b["price"])}
          for b in BANDS]


@pytest.fixture
def ctx(in_org_a):
    return in_org_a


def tou_house(*, price_changes: bool = False):
    """A house priced by time of use, read every hour from Monday 00:00 to Thursday 00:00
    (1 kWh an hour). With ``price_changes`` the rate list gets a dearer version from Tuesday
    and the first prices back from Wednesday: three segments instead of one."""
    h = make_house(flat="0.30", standing=False)
    tariff_services.charge_rule_update(rule=h.version.rules.get(name="Energy"),
                                       kind="time_of_use", bands=BANDS, price=None)
    if price_changes:
        for day, bands in ((TUE, DEARER), (WED, BANDS)):
            v = tariff_services.rate_list_version_create(rate_list=h.rate_list,
                                                         effective_from=day)
            tariff_services.charge_rule_update(rule=v.rules.get(name="Energy"), bands=bands)
    start = at(MON)
    read(h.meter, *[(start + timedelta(hours=n), str(1100 + n)) for n in range(73)])
    return h


def preview(*houses):
    return services.invoice_preview(subscriptions=[h.subscription for h in houses],
                                    start=MON, end=THU)


def test_queries_do_not_grow_with_time_of_use_segments(ctx, django_assert_max_num_queries):
    one, cut, *more = [tou_house(price_changes=n == 1) for n in range(5)]
    with CaptureQueriesContext(connection) as single:
        [inv] = preview(one).invoices
    assert len(inv.usages) == 1
    # three segments (two price changes) cost no more queries than one …
    with django_assert_max_num_queries(len(single.captured_queries)):
        [inv] = preview(cut).invoices
    assert len(inv.usages) == 3
    # … nor do four subscriptions' segments
    with django_assert_max_num_queries(len(single.captured_queries)):
        invoices = preview(one, *more).invoices
    assert len(invoices) == 4 and all(len(i.usages) == 1 for i in invoices)
    # the interval data is one query for the whole batch
    with CaptureQueriesContext(connection) as batch:
        preview(one, cut, *more)
    assert sum("readings_reading" in q["sql"] and "ORDER BY" in q["sql"]
               and '"read_at" >=' in q["sql"] for q in batch.captured_queries) == 1


def test_time_of_use_amounts_per_segment_to_the_cent(ctx):
    h = tou_house(price_changes=True)
    [inv] = preview(h).invoices
    # Monday and Wednesday (1 kWh an hour): peak 07–20 = 13 kWh × 0.32 = 4.16, off-peak
    # 00–07 and 20–24 = 11 kWh × 0.21 = 2.31; Tuesday (dearer): 13 × 0.40 = 5.20,
    # 11 × 0.25 = 2.75. Net 4.16 + 2.31 + 5.20 + 2.75 + 4.16 + 2.31 = 20.89;
    # VAT 19 % of 20.89 = 3.9691 → 3.97; total 24.86
    assert [(x.quantity, x.amount) for x in inv.lines] == [
        (D("13"), D("4.16")), (D("11"), D("2.31")),
        (D("13"), D("5.20")), (D("11"), D("2.75")),
        (D("13"), D("4.16")), (D("11"), D("2.31")),
    ]
    assert (inv.net_total, inv.tax_total, inv.total) == (D("20.89"), D("3.97"), D("24.86"))
    assert [u.quantity for u in inv.usages] == [D("24"), D("24"), D("24")]
    assert inv.can_bill


def test_interval_data_of_many_segments_in_one_query(ctx, django_assert_num_queries):
    h = tou_house()
    daily = make_house(flat="0.30")
    read(daily.meter, (at(MON), "1100"), (at(TUE), "1124"), (at(WED), "1148"))
    periods = [(at(MON), at(TUE)), (at(TUE), at(WED)), (at(WED), at(THU))]
    found = readings_selectors.segment_consumption(
        MeterAssignment.objects.filter(meter__in=[h.meter, daily.meter]),
        at(MON), at(THU), periods,
    )
    segments = [s for s, _ in found]
    assert len(segments) == 6
    with django_assert_num_queries(1):
        data = readings_selectors.interval_data(segments=segments)
    for s in segments:
        intervals = data[(s.meter.id, s.start, s.end)]
        if s.meter.id == daily.meter.id:
            assert intervals == ()  # a day apart: not interval data
        else:  # 24 hours of 1 kWh, from the segment's start to its end, readings included
            assert len(intervals) == 24
            assert intervals[0].start == s.start and intervals[-1].end == s.end
            assert {i.quantity for i in intervals} == {D("1")}
    assert readings_selectors.interval_data(segments=[]) == {}
