"""``reading_ingest_snapshot`` (the gateway path) against ``reading_ingest``: same rules,
same stored rows, same meter state, same rollups, for every case the set-based statement
takes and every case it leaves to the general engine.

Each case runs on twin meters with identical configuration: the ``S-`` twin through the
snapshot service (one call per instant, all ``S-`` meters together, as a poll does), the
``G-`` twin through ``reading_ingest`` with the same values, and everything stored is
compared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest

from billspree.core.scoping import organization_context
from meters.models import BillingPoint, MeterAssignment, Property
from readings.models import (
    DailyConsumption,
    MeterReadingState,
    Reading,
    ReadingAnomaly,
    Source,
)
from readings.parsing import RowIn
from readings.rules import RULES
from readings.services import reading_ingest, reading_ingest_snapshot
from tests.readings.helpers import NOW, T0, make_meter

pytestmark = pytest.mark.django_db

CASES = ("steady", "jump", "rollover", "drop", "big", "flat", "nan", "moved", "removed")


def _twins(case: str, tz: str = "Europe/Berlin") -> dict[str, object]:
    digits = 4 if case in ("rollover", "big") else 8
    return {
        side: make_meter(f"{side}-{case}", digits=digits, tz=tz, initial="100")
        for side in ("S", "G")
    }


def _value(case: str, step: int) -> Decimal | str:
    """The register of a case's meter at a step (a reading every 6 hours)."""
    base = Decimal(1000) + Decimal("2.5") * step
    if case == "rollover":
        return Decimal("9990") + 3 * step if step < 3 else Decimal(step - 3)
    if case == "jump" and step >= 12:
        base += 5000
    if case == "drop" and step == 14:
        return Decimal(900)
    if case == "big" and step == 9:
        return Decimal(12345)
    if case == "big":
        return Decimal(100) + step
    if case == "flat":
        return Decimal(1000)
    if case == "nan" and step == 5:
        return "NaN"
    return base


def _move(meters: dict, at) -> None:
    """End each twin's assignment at ``at`` and connect it elsewhere an hour later."""
    prop = Property.objects.get(name="House Europe/Berlin")
    for side, meter in meters.items():
        MeterAssignment.objects.filter(meter=meter).update(removed_at=at, final_reading=Decimal(1))
        point = BillingPoint.objects.create(
            property=prop, connection_id=f"BP2-{side}", name=f"Moved {side}"
        )
        MeterAssignment.objects.create(
            meter=meter, billing_point=point, connected_at=at + timedelta(hours=1),
            initial_reading=Decimal(50),
        )


def _stored(meter) -> list[tuple]:
    return list(
        Reading.objects.filter(meter=meter)
        .order_by("read_at")
        .values_list("read_at", "value", "total", "is_anomaly", "quality", "source")
    )


def _state(meter) -> tuple:
    s = MeterReadingState.objects.get(meter=meter)
    return (s.last_read_at, s.last_value, s.last_total, s.window_days, s.window_use)


def _statuses(outcome, count: int) -> list[str]:
    status = ["?"] * count
    for line in outcome.stored_lines:
        status[line] = "created"
    for r in outcome.results:
        status[r.line] = r.status
    return status


def test_snapshot_and_general_engine_store_the_same(in_org_a):
    twins = {case: _twins(case) for case in CASES}
    start = T0 + timedelta(days=2)
    fast_taken = 0
    for step in range(140):  # 35 days: the 30-day window is trimmed
        at = start + timedelta(hours=6 * step)
        if step == 20:
            _move(twins["moved"], at + timedelta(minutes=30))
        if step == 22:
            MeterAssignment.objects.filter(meter__in=twins["removed"].values()).update(
                removed_at=at - timedelta(minutes=1), final_reading=Decimal(1)
            )
        values = [_value(case, step) for case in CASES]
        snapshot = reading_ingest_snapshot(
            rows=[(twins[c]["S"].pk, f"S-{c}", v) for c, v in zip(CASES, values, strict=True)],
            read_at=at, source=Source.GATEWAY, now=NOW,
        )
        general = reading_ingest(
            rows=[RowIn(i, f"G-{c}", at, v) for i, (c, v) in enumerate(zip(CASES, values))],  # noqa: B905
            source=Source.GATEWAY, now=NOW,
        )
        fast_taken += len(snapshot.stored_lines)
        assert _statuses(snapshot, len(CASES)) == _statuses(general, len(CASES)), (step, at)
        assert snapshot.counts == general.counts, step
        fast = set(snapshot.stored_lines)
        assert [(r.line, r.errors, r.anomaly) for r in snapshot.results] == [
            (r.line, r.errors, r.anomaly) for r in general.results if r.line not in fast
        ]
    for case, pair in twins.items():
        s, g = pair["S"], pair["G"]
        assert _stored(s) == _stored(g), case
        assert _state(s) == _state(g), case
        assert list(
            DailyConsumption.objects.filter(meter=s).order_by("day").values_list("day", "quantity")
        ) == list(
            DailyConsumption.objects.filter(meter=g).order_by("day").values_list("day", "quantity")
        ), case
        assert ReadingAnomaly.objects.filter(meter=s).count() == ReadingAnomaly.objects.filter(
            meter=g
        ).count(), case
    # the statement did the bulk of the work, the rest went through the general engine
    assert fast_taken > 0.8 * 140 * len(CASES) - 140 * 3
    assert DailyConsumption.objects.filter(meter=twins["steady"]["S"]).count() >= 30
    assert ReadingAnomaly.objects.filter(meter=twins["jump"]["S"]).count() == 1


def test_a_repeated_snapshot_stores_nothing_new(in_org_a):
    meter = make_meter("E-1")
    at = T0 + timedelta(days=1)
    for value in ("10", "12"):
        first = reading_ingest_snapshot(
            rows=[(meter.pk, "E-1", Decimal(value))], read_at=at, source=Source.GATEWAY, now=NOW
        )
        at += timedelta(hours=1)
    again = reading_ingest_snapshot(
        rows=[(meter.pk, "E-1", Decimal("12"))], read_at=at - timedelta(hours=1),
        source=Source.GATEWAY, now=NOW,
    )
    assert first.stored_lines == [0]  # the second reading went through the statement
    assert again.stored_lines == [] and [r.status for r in again.results] == ["unchanged"]
    assert Reading.objects.filter(meter=meter).count() == 2


def test_snapshot_rows_the_statement_leaves_get_the_general_reasons(in_org_a, world_b):
    meter = make_meter("E-1")
    at = T0 + timedelta(days=1)
    reading_ingest_snapshot(
        rows=[(meter.pk, "E-1", Decimal(10))], read_at=at, source=Source.GATEWAY, now=NOW
    )
    later = at + timedelta(hours=1)
    outcome = reading_ingest_snapshot(
        rows=[
            (meter.pk, "E-1", Decimal(11)),
            (meter.pk, "E-1", Decimal(12)),  # the same meter twice in one snapshot
            (987654, "NOPE", Decimal(1)),  # not a meter of this organization
        ],
        read_at=later, source=Source.GATEWAY, now=NOW,
    )
    assert outcome.stored_lines == []
    by_line = {r.line: r for r in outcome.results}
    # as in any batch: the first value of the instant is stored, the other one conflicts
    assert [by_line[0].status, by_line[1].status] == ["created", "rejected"]
    assert by_line[2].errors == [
        ("meterNumber", "No meter with number 'NOPE' in this organization.")
    ]
    future = reading_ingest_snapshot(
        rows=[(meter.pk, "E-1", Decimal(13))], read_at=NOW + timedelta(hours=1),
        source=Source.GATEWAY, now=NOW,
    )
    assert future.stored_lines == [] and future.results[0].errors[0][0] == "readAt"
    assert list(
        Reading.objects.filter(meter=meter).order_by("read_at").values_list("value", flat=True)
    ) == [Decimal(10), Decimal(11)]


def test_the_prepared_statement_outlives_a_rollback_and_is_prepared_per_connection(in_org_a):
    from django.db import connection, transaction

    from readings import ingest_snapshot

    meter = make_meter("E-1")
    at = T0 + timedelta(days=1)

    def snap(value, when):
        return reading_ingest_snapshot(
            rows=[(meter.pk, "E-1", Decimal(value))], read_at=when, source=Source.GATEWAY, now=NOW
        )

    snap(10, at)
    with transaction.atomic():  # prepared (or run) here, then rolled back
        assert snap(11, at + timedelta(hours=1)).stored_lines == [0]
        transaction.set_rollback(True)
    assert snap(12, at + timedelta(hours=2)).stored_lines == [0]
    with connection.cursor() as cursor:  # what a new session looks like
        cursor.execute("DEALLOCATE ALL")
    ingest_snapshot._prepared.clear()
    assert snap(13, at + timedelta(hours=3)).stored_lines == [0]
    assert list(
        Reading.objects.filter(meter=meter).order_by("read_at").values_list("value", flat=True)
    ) == [Decimal(10), Decimal(12), Decimal(13)]


def test_snapshot_values_are_parsed_as_everywhere_else(in_org_a):
    meter = make_meter("E-1")
    at = T0 + timedelta(days=1)
    reading_ingest_snapshot(rows=[(meter.pk, "E-1", "10")], read_at=at, source="api", now=NOW)
    outcome = reading_ingest_snapshot(
        rows=[(meter.pk, "E-1", "12,5")], read_at=at + timedelta(hours=1), source="api", now=NOW
    )
    assert outcome.stored_lines == [0]
    assert list(
        Reading.objects.filter(meter=meter).order_by("read_at").values_list("value", flat=True)
    ) == [Decimal(10), Decimal("12.5")]


def test_the_statement_is_driven_by_the_values_whatever_the_statistics(in_org_a):
    """Every lookup is by the key of one table, for each value, in a plan made from
    statistics taken while the tables were small (the plan a new organization's first
    poll makes and keeps): no scan of a whole table or of an organization per value."""
    import re

    from django.db import connection

    from readings import ingest_snapshot

    meters = [make_meter(f"E-{n}") for n in range(5)]
    at = T0 + timedelta(days=1)
    rows = [(m.pk, m.serial_number, Decimal(10)) for m in meters]
    reading_ingest_snapshot(rows=rows, read_at=at, source=Source.GATEWAY, now=NOW)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
        ingest_snapshot._prepared.clear()
        for table in ("readings_meterreadingstate", "meters_meter", "meters_meterassignment",
                      "meters_billingpoint", "meters_property"):
            cursor.execute(f"ANALYZE {table}")  # noqa: S608 - constants
        ingest_snapshot._prepare(cursor)
        cursor.execute(
            f"{ingest_snapshot._PLAN_SET} EXPLAIN EXECUTE {ingest_snapshot._STATEMENT} "
            "(%s, %s, %s, %s, %s, %s, %s, %s)",
            [[m.pk for m in meters], [Decimal(11)] * 5, at + timedelta(hours=1),
             in_org_a.org.pk, "gateway", "actual", None, NOW],
        )
        plan = [line for (line,) in cursor.fetchall()]
        cursor.execute(ingest_snapshot._PLAN_RESET)
    text = "\n".join(plan)
    assert "Seq Scan" not in text and "Bitmap" not in text, text
    assert "organization_id_" not in text, text  # no organization index anywhere
    keys = {
        "readings_meterreadingstate": r"meter_id = (v_?\d*|ok_?\d*)\.meter_id",
        "meters_meter": r"id = v_?\d*\.meter_id",
        "meters_meterassignment": r"meter_id = v_?\d*\.meter_id",
        "meters_billingpoint": r"id = a\.billing_point_id",
        "meters_property": r"id = b\.property_id",
    }
    for number, line in enumerate(plan):
        scanned = re.search(r"Index Scan using \S+ on (\w+)", line)
        if scanned and scanned.group(1) in keys:
            condition = plan[number + 1]
            assert "Index Cond" in condition, (line, condition)
            assert re.search(keys[scanned.group(1)], condition), (line, condition)
    for table in keys:
        assert f" on {table} " in text, (table, text)


# --- one crafted row per rule of ``readings.rules.RULES`` -----------------------------------


@dataclass(frozen=True)
class Scenario:
    """Twin meters with a few ordinary daily readings (the first goes to the general
    engine, the others through the statement), then one crafted row the rule concerns.
    ``row`` gives (meter id or None, meter number, value) per side; ``hours`` is when the
    crafted row is read, after the connection; ``before`` changes the twins first."""

    value: object = Decimal(150)
    hours: float = 120
    digits: int = 6
    start: int = 100
    readings: int = 4
    row: Callable | None = None
    before: Callable | None = None
    extra_rows: int = 0
    taken: bool = False  # the crafted row is one the statement must take


def _remove_before(twins, at):
    MeterAssignment.objects.filter(meter__in=twins.values()).update(
        removed_at=at - timedelta(minutes=1), final_reading=Decimal(1)
    )


def _refused_first(twins, at):
    for side, meter in twins.items():
        outcome = reading_ingest(rows=[RowIn(0, meter.serial_number, at - timedelta(hours=12),
                                             Decimal(10))], source=Source.GATEWAY, now=NOW)
        assert outcome.counts["rejected"] == 1, side  # below the initial 100
    assert MeterReadingState.objects.filter(meter__in=twins.values()).count() == 2


def _other_organization(twins, at, side, value):
    """A meter of another organization, with its own state row (it has a reading)."""
    return (twins["B"].pk, f"{side}-B", value)


#: Rules that never reach the statement and cannot be crafted as a snapshot row.
UNCRAFTABLE = {
    "read_at_valid": "a snapshot's instant is a datetime, never text",
    "quality_known": "a snapshot has no quality column",
}

SCENARIOS: dict[str, list[Scenario]] = {
    "nul": [Scenario(value="15\x00")],
    "meter_required": [Scenario(row=lambda twins, at, side, value: (None, "", value))],
    "meter_known": [Scenario(row=_other_organization)],
    "value_number": [Scenario(value="abc"), Scenario(value="NaN"), Scenario(value="-3")],
    "value_fits": [Scenario(digits=3, start=890, value=Decimal(1000))],
    "not_future": [Scenario(hours=(NOW - T0).total_seconds() / 3600 + 1)],
    "installed": [Scenario(before=_remove_before),  # removed: no open assignment
                  Scenario(before=lambda twins, at: _move(twins, at - timedelta(hours=2)))],
    "first_reading": [Scenario(readings=0, hours=24),
                      # a state row without a reading: the first one was refused
                      Scenario(readings=0, hours=24, before=_refused_first)],
    "same_instant": [Scenario(hours=96, value=Decimal(141)),  # a conflict
                     Scenario(hours=96, value=Decimal(140))],  # unchanged
    "following": [Scenario(hours=84, value=Decimal(145)),  # above the next reading
                  Scenario(hours=84, value=Decimal(135))],  # a good back-fill
    "repeated_in_batch": [Scenario(extra_rows=1)],
    "not_lower": [Scenario(value=Decimal(130)), Scenario(digits=3, start=950, value=Decimal(5))],
    "jump": [Scenario(value=Decimal(640)), Scenario(value=Decimal(180), taken=True)],
}


def _swap(text: str) -> str:
    return text.replace("S-", "G-")


def _both(twins, at, scenario: Scenario, value, crafted: bool):
    """Send one instant to each twin: the S twin as a snapshot, the G twin as a batch."""
    rows = {}
    for side in ("S", "G"):
        meter = twins[side]
        if crafted and scenario.row is not None:
            rows[side] = [scenario.row(twins, at, side, value)]
        else:
            rows[side] = [(meter.pk, meter.serial_number, value)]
        if crafted and scenario.extra_rows:
            rows[side] += [(meter.pk, meter.serial_number, value + 1)] * scenario.extra_rows
    snapshot = reading_ingest_snapshot(rows=rows["S"], read_at=at, source=Source.GATEWAY, now=NOW)
    general = reading_ingest(
        rows=[RowIn(i, serial, at, v) for i, (_, serial, v) in enumerate(rows["G"])],
        source=Source.GATEWAY, now=NOW, keep_results=True,
    )
    count = len(rows["S"])
    assert _statuses(snapshot, count) == _statuses(general, count), at
    assert snapshot.counts == general.counts, at
    fast = set(snapshot.stored_lines)
    assert [(r.line, [(f, _swap(m)) for f, m in r.errors], _swap(r.anomaly))
            for r in snapshot.results] == [
        (r.line, [(f, _swap(m)) for f, m in r.errors], _swap(r.anomaly))
        for r in general.results if r.line not in fast
    ], at
    return snapshot


def _scenarios():
    return [
        pytest.param(rule.name, n, s, id=f"{rule.name}-{n}")
        for rule in RULES for n, s in enumerate(SCENARIOS.get(rule.name, []))
    ]


def test_every_rule_has_a_crafted_row_or_says_why_not():
    """A new rule in ``readings.rules.RULES`` needs a scenario here (or, if no snapshot row
    can violate it, an entry in UNCRAFTABLE); a guarded rule always needs one."""
    names = {rule.name for rule in RULES}
    assert set(SCENARIOS) | set(UNCRAFTABLE) == names, "add a Scenario for each new rule"
    for rule in RULES:
        if rule.sql is not None:
            assert SCENARIOS.get(rule.name), f"{rule.name} has a SQL guard and no crafted row"


@pytest.mark.parametrize(("rule", "number", "scenario"), _scenarios())
def test_each_rule_agrees_in_both_paths_on_a_crafted_row(in_org_a, world_b, rule, number, scenario):
    twins = {
        side: make_meter(f"{side}-{rule}", digits=scenario.digits, initial=str(scenario.start))
        for side in ("S", "G")
    }
    if scenario.row is _other_organization:
        with organization_context(world_b.org):
            twins["B"] = make_meter("B-1")
            reading_ingest(rows=[RowIn(0, "B-1", T0 + timedelta(days=1), Decimal(1))],
                           source=Source.GATEWAY, now=NOW)
    pair = {side: twins[side] for side in ("S", "G")}
    for day in range(1, scenario.readings + 1):
        snapshot = _both(twins, T0 + timedelta(days=day), scenario,
                         Decimal(scenario.start + 10 * day), crafted=False)
        # the statement takes ordinary rows: the crafted one below is left by a guard
        assert snapshot.stored_lines == ([] if day == 1 else [0]), day
    at = T0 + timedelta(hours=scenario.hours)
    if scenario.before is not None:
        scenario.before(pair, at)
    value = Decimal(scenario.value) if isinstance(scenario.value, int) else scenario.value
    snapshot = _both(twins, at, scenario, value, crafted=True)
    assert snapshot.stored_lines == ([0] if scenario.taken else []), rule
    assert _stored(pair["S"]) == _stored(pair["G"]), rule
    assert _state(pair["S"]) == _state(pair["G"]), rule
    assert ReadingAnomaly.objects.filter(meter=pair["S"]).count() == (
        ReadingAnomaly.objects.filter(meter=pair["G"]).count()
    ), rule
