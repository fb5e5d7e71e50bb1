"""The ingestion rules, through the one service every path uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from readings.models import MeterReadingState, Reading, ReadingAnomaly, ReadingRevision
from tests.readings.helpers import NOW, T0, ingest, make_meter

pytestmark = pytest.mark.django_db


def day(n: int, hour: int = 0) -> datetime:
    return T0 + timedelta(days=n, hours=hour)


def stored(meter) -> list[tuple]:
    return list(
        Reading.objects.filter(meter=meter).order_by("read_at").values_list("read_at", "value")
    )


def errors(outcome) -> list[tuple[int, str, str]]:
    return [(r.line, f, m) for r in outcome.results for f, m in r.errors]


def test_new_readings_are_created_with_totals(in_org_a):
    meter = make_meter()
    outcome = ingest(("E-1", day(1).isoformat(), "10"), ("E-1", day(2).isoformat(), "12,5"))
    assert outcome.counts["created"] == 2
    assert stored(meter) == [(day(1), Decimal("10")), (day(2), Decimal("12.5"))]
    assert list(Reading.objects.order_by("read_at").values_list("total", flat=True)) == [
        Decimal("10"),
        Decimal("12.5"),
    ]
    state = MeterReadingState.objects.get(meter=meter)
    assert (state.last_read_at, state.last_value) == (day(2), Decimal("12.5"))


@pytest.mark.parametrize(
    ("item", "field", "reason"),
    [
        (("NOPE", "2025-02-01T00:00:00Z", "1"), "meterNumber", "No meter with number 'NOPE'"),
        (("E-1", "2025-02-01T00:00:00Z", "abc"), "value", "Not a number"),
        (("E-1", "2025-02-01T00:00:00Z", "NaN"), "value", "Not a finite number"),
        (("E-1", "2025-02-01T00:00:00Z", "-1"), "value", "cannot be negative"),
        (("E-1", "2025-02-01T00:00:00Z", "1000000"), "value", "6-digit register"),
        (("E-1", "2025-02-01T00:00:00Z", "1.00001"), "value", "At most 4 decimal places"),
        (("E-1", "yesterday", "1"), "readAt", "Not an ISO date"),
        (("E-1", "2026-02-01T00:00:00Z", "1"), "readAt", "in the future"),
        (("E-1", "2024-12-01T00:00:00Z", "1"), "readAt", "Before the meter was connected"),
        (("E-1", "2025-03-30T02:30:00", "1"), "readAt", "does not exist in Europe/Berlin"),
        (("E-1", "2025-10-26T02:30:00", "1"), "readAt", "ambiguous"),
        (("E-1", "2025-02-01T00:00:00Z", "1", "guessed"), "quality", "Unknown quality"),
    ],
)
def test_bad_rows_say_which_field_and_why_and_change_nothing(in_org_a, item, field, reason):
    meter = make_meter()
    outcome = ingest(("E-1", "2025-01-15T00:00:00Z", "5"), item, all_or_nothing=True)
    assert not outcome.committed
    [(line, got_field, message)] = errors(outcome)
    assert (line, got_field) == (2, field)
    assert reason in message
    assert stored(meter) == []
    assert not MeterReadingState.objects.filter(meter=meter, last_read_at__isnull=False).exists()


def test_partial_batch_keeps_good_rows(in_org_a):
    meter = make_meter()
    outcome = ingest(("E-1", day(1).isoformat(), "5"), ("E-1", day(2).isoformat(), "x"))
    assert outcome.committed
    assert [r.status for r in outcome.results] == ["created", "rejected"]
    assert stored(meter) == [(day(1), Decimal("5"))]


def test_meter_not_active_after_removal(in_org_a):
    meter = make_meter()
    meter.assignments.update(removed_at=day(10), final_reading=Decimal("50"))
    outcome = ingest(("E-1", day(10).isoformat(), "50"), ("E-1", day(11).isoformat(), "51"))
    assert [r.status for r in outcome.results] == ["created", "rejected"]
    assert "not installed at a billing point at this instant" in outcome.results[1].errors[0][1]


def test_lower_than_previous_is_rejected_unless_plausible_rollover(in_org_a):
    meter = make_meter(digits=5)
    ingest(("E-1", day(1).isoformat(), "99950"))
    bad = ingest(("E-1", day(2).isoformat(), "50000"))
    assert bad.results[0].errors[0][0] == "value"
    assert "Lower than the previous reading 99950" in bad.results[0].errors[0][1]
    good = ingest(("E-1", day(2).isoformat(), "30"))
    assert good.results[0].status == "created"
    assert Reading.objects.get(meter=meter, read_at=day(2)).total == Decimal("100030")


def test_lower_than_initial_reading_is_rejected(in_org_a):
    make_meter(initial="500")
    outcome = ingest(("E-1", day(1).isoformat(), "400"))
    assert "Lower than the previous reading 500" in outcome.results[0].errors[0][1]


def test_duplicate_same_value_is_a_no_op_and_resubmission_creates_nothing(in_org_a):
    meter = make_meter()
    batch = [("E-1", day(d).isoformat(), str(d * 10)) for d in range(1, 6)]
    ingest(*batch)
    again = ingest(*batch)
    assert again.counts["unchanged"] == 5 and again.counts["created"] == 0
    assert len(stored(meter)) == 5


def test_different_value_at_same_instant_conflicts_unless_replace(in_org_a):
    meter = make_meter()
    ingest(
        ("E-1", day(1).isoformat(), "10"),
        ("E-1", day(2).isoformat(), "20"),
        ("E-1", day(3).isoformat(), "30"),
    )
    conflict = ingest(("E-1", day(2).isoformat(), "25"))
    assert "20.0000 is already recorded" in conflict.results[0].errors[0][1]
    assert stored(meter)[1] == (day(2), Decimal("20"))
    replaced = ingest(("E-1", day(2).isoformat(), "25"), replace=True)
    assert replaced.results[0].status == "replaced"
    reading = Reading.objects.get(meter=meter, read_at=day(2))
    assert (reading.value, reading.quality) == (Decimal("25"), "corrected")
    revision = ReadingRevision.objects.get()
    assert (revision.old_value, revision.new_value) == (Decimal("20"), Decimal("25"))


def test_replacing_across_rollover_rebuilds_later_totals(in_org_a):
    meter = make_meter(digits=3)
    ingest(
        ("E-1", day(1).isoformat(), "990"),
        ("E-1", day(2).isoformat(), "995"),
        ("E-1", day(3).isoformat(), "5"),
    )
    assert Reading.objects.get(meter=meter, read_at=day(3)).total == Decimal("1005")
    ingest(("E-1", day(2).isoformat(), "2"), replace=True)  # the register had already rolled
    totals = list(
        Reading.objects.filter(meter=meter).order_by("read_at").values_list("total", flat=True)
    )
    assert totals == [Decimal("990"), Decimal("1002"), Decimal("1005")]
    assert MeterReadingState.objects.get(meter=meter).last_total == Decimal("1005")


def test_backfill_must_fit_between_neighbours(in_org_a):
    meter = make_meter()
    ingest(("E-1", day(1).isoformat(), "10"), ("E-1", day(3).isoformat(), "30"))
    too_high = ingest(("E-1", day(2).isoformat(), "35"))
    assert "Higher than the following reading 30" in too_high.results[0].errors[0][1]
    fits = ingest(("E-1", day(2).isoformat(), "20"))
    assert fits.results[0].status == "created"
    assert [v for _, v in stored(meter)] == [Decimal("10"), Decimal("20"), Decimal("30")]


def test_conflicting_rows_in_one_batch(in_org_a):
    make_meter()
    outcome = ingest(("E-1", day(1).isoformat(), "10"), ("E-1", day(1).isoformat(), "11"))
    assert outcome.results[1].errors == [
        ("value", "Line 1 gives 10 for the same meter and instant.")
    ]


def test_implausible_jump_is_accepted_and_flagged(in_org_a):
    meter = make_meter()
    ingest(*[("E-1", day(d).isoformat(), str(d * 10)) for d in range(0, 10)])
    outcome = ingest(("E-1", day(10).isoformat(), "5000"))
    assert outcome.results[0].status == "created"
    assert "more than 10× the typical 10.00 a day" in outcome.results[0].anomaly
    assert Reading.objects.get(meter=meter, read_at=day(10)).is_anomaly
    anomaly = ReadingAnomaly.objects.get()
    assert anomaly.value == Decimal("5000") and anomaly.status == "open"
    assert (anomaly.previous_read_at, anomaly.previous_value) == (day(9), Decimal("90"))


def test_dates_are_local_midnight_in_the_property_time_zone(in_org_a):
    meter = make_meter(tz="Europe/Berlin")
    ingest(("E-1", "2025-02-01", "1"), ("E-1", "2025-07-01 06:00", "2"))
    assert [t for t, _ in stored(meter)] == [
        datetime(2025, 1, 31, 23, tzinfo=UTC),
        datetime(2025, 7, 1, 4, tzinfo=UTC),
    ]


def test_partitions_are_created_on_demand(in_org_a):
    from readings.partitions import existing_partitions

    make_meter(connected_at=datetime(2019, 1, 1, tzinfo=UTC))
    ingest(("E-1", "2019-06-15T00:00:00Z", "1"))
    assert (2019, 6) in existing_partitions()


def test_other_organizations_meter_is_unknown(in_org_a, world_b):
    from billspree.core.scoping import organization_context

    with organization_context(world_b.org):
        make_meter("B-1")
    outcome = ingest(("B-1", day(1).isoformat(), "1"))
    assert outcome.results[0].errors[0][0] == "meterNumber"
    assert Reading.objects.unscoped().count() == 0


def test_future_tolerance_uses_now(in_org_a):
    make_meter()
    outcome = ingest(("E-1", (NOW + timedelta(minutes=1)).isoformat(), "1"))
    assert outcome.results[0].status == "created"


def test_backfilled_rows_of_one_batch_are_checked_against_each_other(in_org_a):
    meter = make_meter()
    ingest(("E-1", day(1).isoformat(), "10"), ("E-1", day(9).isoformat(), "100"))
    outcome = ingest(("E-1", day(3).isoformat(), "50"), ("E-1", day(5).isoformat(), "40"))
    assert [r.status for r in outcome.results] == ["created", "rejected"]
    assert "Lower than the previous reading 50" in outcome.results[1].errors[0][1]
    assert [v for _, v in stored(meter)] == [Decimal("10"), Decimal("50"), Decimal("100")]
