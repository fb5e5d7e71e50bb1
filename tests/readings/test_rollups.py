"""Daily and monthly consumption rollups: kept by ingestion, equal to the selector."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db.models import Sum

from billspree.core.scoping import organization_context
from billspree.core.timefmt import format_day, local_midnight
from meters.models import BillingPoint, MeterAssignment
from readings.models import DailyConsumption, MonthlyConsumption
from readings.selectors import meter_consumption
from tests.charts_html import page_charts, points
from tests.readings.helpers import T0, ingest, make_meter

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat()


def days_of(meter) -> dict[date, Decimal]:
    return dict(
        DailyConsumption.objects.filter(meter=meter).values_list("day", "quantity").order_by("day")
    )


def assert_matches_selector(meter, tz=BERLIN) -> dict[date, Decimal]:
    """Every stored day equals the selector over the same local day; months sum their days."""
    stored = days_of(meter)
    assert stored, "no rollups"
    for day, quantity in stored.items():
        start, end = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
        expected = meter_consumption(meter_ids=[meter.id], start=start, end=end)[meter.id]
        assert not expected.estimated and not expected.missing
        assert quantity == expected.quantity, day
    for month in MonthlyConsumption.objects.filter(meter=meter):
        in_month = [q for d, q in stored.items() if d.replace(day=1) == month.month]
        assert (month.quantity, month.days) == (sum(in_month), len(in_month))
    return stored


def test_complete_days_equal_the_selector_across_rollover_and_multiplier(in_org_a):
    meter = make_meter(digits=3, multiplier="2.5", initial="900")
    values = [900 + 7 * n for n in range(40)]  # every 6 h, rolls over at 1000
    ingest(*[("E-1", at(6 * n + 1), str(v % 1000)) for n, v in enumerate(values)])
    stored = assert_matches_selector(meter)
    last_local = (T0 + timedelta(hours=6 * 39 + 1)).astimezone(BERLIN).date()
    assert max(stored) == last_local - timedelta(days=1)  # the latest day is not complete
    assert min(stored) == date(2025, 1, 1)  # from the connection's initial value
    assert sum(stored.values()) > 0


def test_a_replace_correction_updates_the_days_around_it(in_org_a):
    meter = make_meter()
    ingest(*[("E-1", at(6 * n), str(10 * n)) for n in range(20)])
    before = assert_matches_selector(meter)
    ingest(("E-1", at(6 * 12), "115"), replace=True)  # was 120, next to a local midnight
    after = assert_matches_selector(meter)
    assert after != before
    assert sum(after.values()) == sum(before.values())  # later totals unchanged


def test_out_of_order_ingestion_gives_the_same_rollups(in_org_a):
    meter = make_meter()
    items = [("E-1", at(5 * n), str(3 * n + n % 4)) for n in range(30)]
    ingest(*items[::2])
    ingest(*items[1::2])  # back-fills between stored readings
    shuffled = assert_matches_selector(meter)
    other = make_meter("E-2")
    ingest(*[("E-2", t, v) for _, t, v in items])
    assert shuffled == days_of(other)


def test_dst_days_have_23_and_25_hours(in_org_a):
    start = datetime(2025, 3, 29, tzinfo=BERLIN)
    meter = make_meter(connected_at=start.astimezone(UTC))
    hours = int((datetime(2025, 3, 31, 1, tzinfo=BERLIN) - start).total_seconds() // 3600)
    utc = start.astimezone(UTC)  # aware arithmetic in a zone is wall-clock: step in UTC
    ingest(*[("E-1", (utc + timedelta(hours=h)).isoformat(), str(h)) for h in range(hours + 1)])
    autumn = datetime(2025, 10, 25, tzinfo=BERLIN)
    autumn_meter = make_meter("E-2", connected_at=autumn.astimezone(UTC))
    ingest(
        *[
            ("E-2", (autumn.astimezone(UTC) + timedelta(hours=h)).isoformat(), str(h))
            for h in range(24 * 3)
        ]
    )
    assert days_of(meter)[date(2025, 3, 30)] == Decimal(23)
    assert days_of(autumn_meter)[date(2025, 10, 26)] == Decimal(25)
    assert_matches_selector(meter)
    assert_matches_selector(autumn_meter)


def test_re_ingesting_the_same_readings_changes_nothing(in_org_a):
    meter = make_meter()
    items = [("E-1", at(7 * n), str(4 * n)) for n in range(25)]
    ingest(*items)
    before = days_of(meter)
    months = list(MonthlyConsumption.objects.values_list("month", "quantity", "days"))
    outcome = ingest(*items)
    assert outcome.counts["unchanged"] == len(items)
    assert days_of(meter) == before
    assert list(MonthlyConsumption.objects.values_list("month", "quantity", "days")) == months


def test_days_of_a_replaced_meter_follow_its_assignment(in_org_a):
    old = make_meter("OLD", initial="1000")
    point = BillingPoint.objects.get(connection_id="BP-OLD")
    ingest(*[("OLD", at(12 * n), str(1000 + 5 * n)) for n in range(8)])
    MeterAssignment.objects.filter(meter=old).update(
        removed_at=T0 + timedelta(days=4), final_reading=Decimal("1050")
    )
    new = make_meter("NEW", connected_at=T0 + timedelta(days=4), initial="5", billing_point=point)
    ingest(*[("NEW", at(96 + 12 * n), str(5 + 3 * n)) for n in range(1, 8)])
    assert_matches_selector(new)
    call_command("readings_rollups", "--from", "2025-01-01", "--to", "2025-01-31")
    assert_matches_selector(old)


def test_months_sum_their_days_and_serve_the_chart_selector(
    in_org_a, django_capture_on_commit_callbacks
):
    meter = make_meter()
    with django_capture_on_commit_callbacks(execute=True):  # days beyond INLINE_DAYS: a task
        ingest(*[("E-1", at(24 * d), str(2 * d)) for d in range(75)])  # into mid-March
    stored = assert_matches_selector(meter)
    january = MonthlyConsumption.objects.get(meter=meter, month=date(2025, 1, 1))
    assert january.days == 31
    assert january.quantity == sum(q for d, q in stored.items() if d.month == 1)


def test_rollups_are_rolled_back_with_a_rejected_batch(in_org_a):
    make_meter()
    outcome = ingest(
        ("E-1", at(0), "1"), ("E-1", at(48), "5"), ("E-1", at(72), "x"), all_or_nothing=True
    )
    assert not outcome.committed
    assert not DailyConsumption.objects.exists() and not MonthlyConsumption.objects.exists()


def test_rebuild_command_restores_deleted_rollups(in_org_a, world_a):
    meter = make_meter()
    ingest(*[("E-1", at(10 * n), str(3 * n)) for n in range(30)])
    expected = days_of(meter)
    DailyConsumption.objects.all().delete()
    MonthlyConsumption.objects.all().delete()
    call_command(
        "readings_rollups",
        "--organization",
        str(world_a.org.pk),
        "--from",
        "2024-12-01",
        "--to",
        "2025-02-01",
    )
    assert days_of(meter) == expected
    assert MonthlyConsumption.objects.aggregate(s=Sum("quantity"))["s"] == sum(expected.values())


def test_chart_months_come_from_rollups_and_equal_the_selector(
    in_org_a, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    from readings.selectors import meter_consumption_periods, meter_months_consumption

    meter = make_meter()
    with django_capture_on_commit_callbacks(execute=True):
        ingest(*[("E-1", at(24 * d), str(2 * d)) for d in range(75)])
    edges = [datetime(2025, m, 1, tzinfo=BERLIN) for m in (1, 2, 3, 4)]
    periods = list(zip(edges, edges[1:], strict=False))
    charted = meter_months_consumption(meter=meter, periods=periods)
    direct = meter_consumption_periods(meter=meter, periods=periods)
    assert [c.quantity for c in charted[:2]] == [c.quantity for c in direct[:2]]
    assert charted[2].estimated and charted[2].quantity == direct[2].quantity  # March: selector
    MonthlyConsumption.objects.filter(month=date(2025, 1, 1)).update(quantity=Decimal("-1"))
    with django_assert_max_num_queries(2):
        first_two = meter_months_consumption(meter=meter, periods=periods[:2])
    assert first_two[0].quantity == Decimal("-1")  # read from the rollup, not recomputed


def test_rebuild_task_recomputes_a_range(in_org_a, world_a):
    from readings.tasks import rollups_rebuild_task

    meter = make_meter()
    ingest(*[("E-1", at(10 * n), str(3 * n)) for n in range(30)])
    expected = days_of(meter)
    DailyConsumption.objects.filter(day=date(2025, 1, 3)).update(quantity=Decimal(999))
    assert rollups_rebuild_task(world_a.org.pk, "2025-01-03", "2025-01-03") == 1
    assert days_of(meter) == expected


def test_meter_page_charts_days_from_the_rollups(world_a):
    from tests.conftest import login_client

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    with organization_context(world_a.org):
        meter = make_meter("DAY-1", connected_at=now - timedelta(days=20), tz="UTC")
        ingest(
            *[
                ("DAY-1", (now - timedelta(hours=12 * n)).isoformat(), str(200 - 6 * n))
                for n in range(12)
            ],
            now=now,
        )
        yesterday = now.date() - timedelta(days=1)
        assert days_of(meter)[yesterday] == Decimal(12)
    page = login_client(world_a.viewer, world_a.org).get(f"/readings/meters/{meter.public_id}/")
    assert page.status_code == 200
    assert b'data-testid="daily-chart"' in page.content
    days = page_charts(page.content)[f"meter-{meter.public_id}-days"]
    assert points(days)[f"{yesterday:%a} {format_day(yesterday)}"] == "12 kWh"


def test_days_long_before_the_first_reading_are_rolled_up_by_a_task_after_commit(
    in_org_a, django_capture_on_commit_callbacks
):
    from readings import rollups

    meter = make_meter(connected_at=T0 - timedelta(days=300), initial="0")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ingest(("E-1", at(0), "300"), ("E-1", at(48), "302"))
    inline = days_of(meter)
    assert len(inline) == rollups.INLINE_DAYS  # the latest days, in the batch's transaction
    # the queued rebuild, and the rollups' new version again on commit (readings.rollups)
    assert len(callbacks) == 2
    from readings.selectors import meter_consumption_periods, meter_months_consumption

    cut = min(inline)  # its month is only partly rolled up until the task ran: computed
    assert cut == date(2024, 11, 2)
    month = [(local_midnight(date(2024, 11, 1), BERLIN), local_midnight(date(2024, 12, 1), BERLIN))]
    charted = meter_months_consumption(meter=meter, periods=month)
    assert charted[0].quantity == meter_consumption_periods(meter=meter, periods=month)[0].quantity
    for callback in callbacks:  # the queued rebuild (eager in tests), the version
        callback()
    stored = assert_matches_selector(meter)
    first_day = (T0 - timedelta(days=300)).astimezone(BERLIN).date()
    assert list(stored) == [first_day + timedelta(days=n) for n in range(len(stored))]
    assert max(stored) == date(2025, 1, 2)
