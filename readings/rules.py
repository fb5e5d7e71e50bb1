"""Reading validation: every rule, its Python check, and its guard in the gateway fast path.

A reading reaches the table by one of two paths. The general engine
(``readings.ingest``) applies the Python checks below to every row. The gateway fast path
(``readings.ingest_snapshot``) stores the easy rows of a poll with one SQL statement and
hands every other row to the general engine. So each rule must either have a SQL guard, a
condition the statement requires of every row it takes (so it never takes a row the rule
would refuse or flag), or be marked ``fast_path=False`` with the reason the statement
never sees such a row (``ingest_snapshot.candidates`` leaves it to the general engine).

:data:`RULES` is that table. The statement's ``WHERE`` clauses are built from it
(:func:`snapshot_where`); ``tests/readings/test_rules.py`` fails for a rule with neither a
guard nor a reason, and ``tests/readings/test_snapshot.py`` runs a crafted row for each
rule through both paths and compares what they store. CONTRIBUTING.md ("Adding a reading
validation rule") has the steps.

The rules (issue 4, item 3), each producing a row error naming the field: unknown meter ·
meter not active at the instant (or before its connection) · value not a number, NaN,
negative, beyond the register's digits · timestamp in the future · lower than the
previous reading unless a plausible rollover (or an explicit ``replace``) · higher than
the following reading (back-fill) · same meter and instant: same value is a no-op,
another value a conflict unless ``replace`` (the old value is kept in
``ReadingRevision``) · a jump above 10× the meter's typical use is accepted and flagged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from readings.ingest_state import (
    NUL,
    Batch,
    MeterInfo,
    RowResult,
    State,
    Stored,
    assignment_at,
)
from readings.models import Quality
from readings.parsing import RowIn, parse_instant, parse_local_instant, parse_value
from readings.registers import Point, advance

#: A delta above this many times the meter's typical use for the interval is an anomaly.
ANOMALY_FACTOR = Decimal(10)
#: Meter clocks drift; a reading this far ahead of our clock is still accepted.
FUTURE_TOLERANCE = timedelta(minutes=5)


# --- rules on the row alone ----------------------------------------------------------------


_NUL_COLUMNS = (("meterNumber", "meter_number"), ("readAt", "read_at"), ("value", "value"),
                ("quality", "quality"))


def _nul_row(row: RowIn, serial: str) -> RowResult | None:
    """A row with a NUL character in a cell, rejected naming the cell: PostgreSQL cannot
    store NUL in text (the import would crash), and no meter number or date contains one.
    The meter number is echoed with NUL shown as U+2400 (the report and page store it)."""
    bad = [col for col, attr in _NUL_COLUMNS
           if isinstance(getattr(row, attr), str) and NUL in getattr(row, attr)]
    if not bad:
        return None
    result = RowResult(line=row.line, meter_number=serial.replace(NUL, "\u2400"))
    for column in bad:
        result.reject(column, "Contains a NUL character (\\x00); remove it from the cell.")
    return result


def check_row(batch: Batch, row: RowIn) -> RowResult:
    """Every rule that needs only the row and its meter; fills ``read_at``/``value``."""
    serial = str(row.meter_number or "").strip()
    if (nul := _nul_row(row, serial)) is not None:
        return nul
    result = RowResult(line=row.line, meter_number=serial)
    meter = batch.meters.get(serial) if serial else None
    if not serial:
        result.reject("meterNumber", "A meter number is required.")
    elif meter is None:
        result.reject("meterNumber", f"No meter with number {serial!r} in this organization.")
    value, why = parse_value(row.value)
    if why:
        result.reject("value", why)
    elif meter is not None and value >= meter.cap:
        result.reject("value", f"{value} does not fit the meter's {meter.digits}-digit register.")
    result.value = value
    # a CSV file may use the property's local date forms; the API and the rest stay ISO
    parse = parse_local_instant if batch.source == "upload" else parse_instant
    instant, why = parse(row.read_at, meter.tz if meter else batch.default_tz)
    if why:
        result.reject("readAt", why)
    result.read_at = instant
    _check_quality(batch, row, result)
    if instant is not None:
        _check_instant(batch, meter, instant, result)
    if meter is not None:
        result.meter_id = meter.id
    return result


def _check_quality(batch: Batch, row: RowIn, result: RowResult) -> None:
    raw = str(row.quality).strip().lower() if row.quality not in (None, "") else ""
    if not raw:
        result.quality = Quality.ESTIMATED if batch.source == "estimate" else Quality.ACTUAL
    elif raw in Quality.values:
        result.quality, result.quality_given = raw, True
    else:
        result.reject(
            "quality", f"Unknown quality {raw!r}; use one of {', '.join(Quality.values)}."
        )


def _check_instant(
    batch: Batch, meter: MeterInfo | None, instant: datetime, result: RowResult
) -> None:
    if instant > batch.now + FUTURE_TOLERANCE:
        result.reject("readAt", f"{instant:%Y-%m-%d %H:%M} UTC is in the future.")
        return
    if meter is None:
        return
    if not meter.assignments:
        result.reject(
            "meterNumber",
            f"Meter {meter.serial} is not installed at any billing point; assign it first.",
        )
        return
    first_connected = meter.assignments[0][0]
    if instant < first_connected:
        local = first_connected.astimezone(meter.tz)
        result.reject(
            "readAt", f"Before the meter was connected ({local:%Y-%m-%d %H:%M} {meter.tz})."
        )
        return
    if assignment_at(meter, instant) is None:
        result.reject("readAt", "The meter was not installed at a billing point at this instant.")


# --- rules against the stored readings ----------------------------------------------------


def dedupe_in_chunk(valid: list[RowResult]) -> list[RowResult]:
    """Sort by meter and instant; a repeated (meter, instant) is a no-op or a conflict."""
    valid.sort(key=lambda r: (r.meter_id, r.read_at))
    kept: list[RowResult] = []
    for r in valid:
        if kept and kept[-1].meter_id == r.meter_id and kept[-1].read_at == r.read_at:
            first = kept[-1]
            if first.value == r.value:
                r.status = "unchanged"
            else:
                r.reject(
                    "value",
                    f"Line {first.line} gives {first.value} for the same meter and instant.",
                )
            continue
        kept.append(r)
    return kept


def check_existing(batch: Batch, r: RowResult, existing: Stored | None) -> bool:
    """A row at an instant already stored: the same value is a no-op, another value a
    conflict unless ``replace``. False when the row goes no further."""
    if existing is not None and existing.value == r.value:
        r.status = "unchanged"
        return False
    if existing is not None and not batch.replace:
        r.reject(
            "value",
            f"{existing.value} is already recorded for this instant; "
            "send it with replace to correct it.",
        )
        return False
    return True


def check_order(
    batch, r: RowResult, meter: MeterInfo, prev: Point | None, nxt: Point | None
) -> Decimal:
    """Lower than the previous reading (unless a plausible rollover) or higher than the
    following one: refused, or with ``replace`` accepted as a correction and flagged.
    Returns the register advance from ``prev``."""
    delta = Decimal(0)
    if prev is not None:
        delta, kind = advance(prev.value, r.value, meter.cap)
        if kind == "drop":
            reason = f"Lower than the previous reading {prev.value} at {prev.at:%Y-%m-%d %H:%M} UTC"
            if not batch.replace:
                r.reject("value", reason + " and too far from the register's end to be a rollover.")
                return delta
            r.anomaly = reason + "; accepted as a correction."
    if nxt is not None and advance(r.value, nxt.value, meter.cap)[1] == "drop":
        reason = f"Higher than the following reading {nxt.value} at {nxt.at:%Y-%m-%d %H:%M} UTC"
        if not batch.replace:
            r.reject("value", reason + ".")
        else:
            r.anomaly = reason + "; accepted as a correction."
    return delta


def flag_jump(r: RowResult, state: State, prev: Point | None, delta: Decimal) -> None:
    """A jump above ``ANOMALY_FACTOR``× the meter's typical use is accepted and flagged."""
    typical = state.daily_use
    if r.anomaly or prev is None or not typical or typical <= 0 or delta <= 0:
        return
    days = max((r.read_at - prev.at).total_seconds() / 86400, 1.0)
    if float(delta) > float(ANOMALY_FACTOR) * typical * days:
        r.anomaly = (
            f"Used {delta.normalize():f} since {prev.at:%Y-%m-%d %H:%M} UTC; more than "
            f"{ANOMALY_FACTOR}× the typical {typical:.2f} a day."
        )


# --- the table ----------------------------------------------------------------------------------

#: The statement's stages a guard can sit in: ``cand`` filters the joined rows (aliases
#: ``v`` the value sent, ``s`` the meter's state row, ``m`` the meter, ``a`` its open
#: assignment); ``ok`` filters them again with the derived window (``c.wd``/``c.wu``
#: window days/use, ``c.days`` since the latest reading, ``c.value``/``c.last_value``).
STAGES = ("cand", "ok")


@dataclass(frozen=True)
class Rule:
    """One validation rule: where the general engine applies it and how the fast path
    keeps clear of it.

    ``sql`` is a condition every row the snapshot statement takes must meet (rows failing
    it go to the general engine, which applies ``check``); without one, ``fast_path`` is
    False and ``reason`` says why the statement never sees a row this rule would touch.
    """

    name: str
    check: Callable
    doc: str
    sql: str | None = None
    stage: str = "cand"
    fast_path: bool = True
    reason: str = ""

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise ValueError(f"Rule {self.name}: stage must be one of {STAGES}.")
        if self.sql is None and (self.fast_path or not self.reason):
            raise ValueError(
                f"Rule {self.name}: give it a SQL guard for the gateway fast path, or "
                "fast_path=False with the reason the fast path never takes such a row."
            )
        if self.sql is not None and not self.fast_path:
            raise ValueError(f"Rule {self.name}: a SQL guard means the fast path applies it.")


_CANDIDATES = "ingest_snapshot.candidates leaves it to the general engine: "

RULES: tuple[Rule, ...] = (
    Rule("nul", check_row, "A cell with a NUL character is refused naming the cell.",
         fast_path=False, reason=_CANDIDATES + "parse_value refuses a value with a NUL, and "
         "the meter is given by id."),
    Rule("meter_required", check_row, "A row without a meter number is refused.",
         fast_path=False, reason=_CANDIDATES + "a row without a meter id."),
    Rule("meter_known", check_row, "The meter must belong to the organization.",
         sql="m.organization_id = %(org)s"),  # the state row's lookup checks it too
    Rule("value_number", check_row, "The value must be a number, not NaN, not negative.",
         fast_path=False, reason=_CANDIDATES + "a value parse_value refuses."),
    Rule("value_fits", check_row, "The value must fit the meter's register digits.",
         sql="v.value < power(10::numeric, m.register_digits)"),
    Rule("read_at_valid", check_row, "The instant must be a valid date and time.",
         fast_path=False, reason="A snapshot's instant is an aware datetime from the caller, "
         "never text."),
    Rule("quality_known", _check_quality, "The quality, if given, must be a known one.",
         fast_path=False, reason="A snapshot has no quality column; its quality follows "
         "from the source."),
    Rule("not_future", _check_instant, "The instant must not be in the future.",
         fast_path=False, reason=_CANDIDATES + "every row of a snapshot whose instant is "
         "beyond FUTURE_TOLERANCE."),
    Rule("installed", _check_instant, "The meter must be installed at a billing point at "
         "the instant, and not read before its connection.",
         sql="a.connected_at <= s.last_read_at"),  # and a.removed_at IS NULL (the join)
    Rule("first_reading", check_order, "A meter's first reading counts from its "
         "assignment's initial value (the general engine makes the first total).",
         sql="s.last_total IS NOT NULL"),  # a state row left by a refused first reading
    Rule("same_instant", check_existing, "A row at a stored instant is unchanged or a "
         "conflict (unless replace).", sql="s.last_read_at < %(at)s"),
    Rule("following", check_order, "A back-filled row must not be higher than the "
         "following reading.", sql="s.last_read_at < %(at)s"),
    Rule("repeated_in_batch", dedupe_in_chunk, "One meter and instant twice in a batch: "
         "unchanged or a conflict.", fast_path=False,
         reason=_CANDIDATES + "every row of a meter given twice."),
    Rule("not_lower", check_order, "Lower than the previous reading: a rollover, or "
         "refused (unless replace).", sql="v.value >= s.last_value"),
    Rule("jump", flag_jump, "A jump above ANOMALY_FACTOR× the typical use is flagged.",
         stage="ok",
         sql=f"""NOT (c.wd >= 1 AND c.wu / c.wd > 0 AND c.value > c.last_value
               AND (c.value - c.last_value)::float8
                   > {float(ANOMALY_FACTOR)} * (c.wu / c.wd) * greatest(c.days, 1.0))"""),
)


def snapshot_where(stage: str) -> str:
    """The ``WHERE`` of one stage of the snapshot statement: every guard, each once."""
    guards = dict.fromkeys(r.sql for r in RULES if r.sql is not None and r.stage == stage)
    return "\n      AND ".join(guards)
