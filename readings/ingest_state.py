"""What one ingestion batch carries between its chunks: rows' results, meters, states.

Plain data and the state arithmetic, no SQL and no rules, so the rules
(``readings.rules``), the SQL (``readings.ingest_sql``), the engine
(``readings.ingest``) and the gateway fast path can all import it without a loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from billspree.core.timefmt import api_instant
from readings.models import Quality, ReadingAnomaly, ReadingRevision, Upload
from readings.registers import Point

#: Typical daily use is averaged over about this many days of recent readings.
WINDOW_DAYS = 30.0
#: PostgreSQL cannot store it in text; a serial containing it names no meter.
NUL = "\x00"


@dataclass(slots=True)
class RowResult:
    line: int
    meter_number: str
    read_at: datetime | None = None
    value: Decimal | None = None
    quality: str = Quality.ACTUAL
    status: str = "pending"  # created, unchanged, replaced, rejected
    errors: list[tuple[str, str]] = field(default_factory=list)
    anomaly: str = ""
    meter_id: int | None = None
    quality_given: bool = False
    #: set by ``reading_enter``: what the reading changed in billing (None elsewhere)
    impacts: list | None = None

    def reject(self, column: str, reason: str) -> None:
        self.status = "rejected"
        self.errors.append((column, reason))

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "meterNumber": self.meter_number,
            "readAt": api_instant(self.read_at),
            "value": str(self.value) if self.value is not None else None,
            "status": self.status,
            "anomaly": self.anomaly or None,
            "errors": [{"field": f, "message": m} for f, m in self.errors],
        }



@dataclass(slots=True)
class MeterInfo:
    id: int
    serial: str
    cap: Decimal
    digits: int
    tz: tzinfo
    assignments: list[tuple[datetime, datetime | None, Decimal]]  # sorted by connected_at



@dataclass(slots=True)
class State:
    """A meter's latest reading and its ~30-day window of use (floats: it is a statistic)."""

    meter_id: int
    last: Point | None
    window_days: float
    window_use: float
    dirty: bool = False

    @property
    def daily_use(self) -> float | None:
        return self.window_use / self.window_days if self.window_days >= 1 else None


@dataclass
class Batch:
    """What one ingestion call needs across its chunks."""

    organization_id: int
    source: str
    upload: Upload | None
    replace: bool
    now: datetime
    default_tz: tzinfo
    meters: dict[str, MeterInfo | None] = field(default_factory=dict)
    #: Locked once per batch and saved once at its end: a million-row file touches each
    #: meter's state row twice, not once per chunk.
    states: dict[int, State] = field(default_factory=dict)
    #: Per meter, the earliest and latest instant written (created or replaced) and its
    #: latest reading when the batch began: what the consumption rollups must recompute.
    touched: dict[int, list[datetime]] = field(default_factory=dict)
    before: dict[int, datetime | None] = field(default_factory=dict)



@dataclass(slots=True)
class Stored:
    """A reading already in the table at a row's (meter, instant)."""

    value: Decimal
    total: Decimal
    source: str
    quality: str
    upload_id: int | None


@dataclass
class ChunkWrites:
    """What one chunk writes, gathered while its rows are decided and written at its end."""

    inserts: list[tuple] = field(default_factory=list)
    updates: list[tuple] = field(default_factory=list)
    revisions: list[ReadingRevision] = field(default_factory=list)
    anomalies: list[ReadingAnomaly] = field(default_factory=list)
    rebuild_since: dict[int, datetime] = field(default_factory=dict)
    #: The last back-filled row accepted per meter in this chunk (not yet in the table).
    backfilled: dict[int, Point] = field(default_factory=dict)



@lru_cache(maxsize=256)
def zone(name: str) -> tzinfo:
    """A property's time zone by name (cached: every row of a batch asks)."""
    return ZoneInfo(str(name))


def utcnow() -> datetime:
    return datetime.now(UTC)


def assignment_at(
    meter: MeterInfo, instant: datetime
) -> tuple[datetime, datetime | None, Decimal] | None:
    """The assignment covering the instant; its removal instant counts (the final reading)."""
    for connected, removed, initial in reversed(meter.assignments):
        if connected <= instant and (removed is None or instant <= removed):
            return connected, removed, initial
    return None



def advance_state(
    state: State, r: RowResult, prev: Point | None, delta: Decimal, total: Decimal
) -> None:
    """Move the latest reading forward and fold the interval into the ~30-day window.

    The gateway fast path repeats this arithmetic in SQL (``readings.ingest_snapshot``,
    float8 in the same order): change one, change the other; ``tests/readings/
    test_snapshot.py`` compares the state rows both paths leave."""
    last = state.last
    if last is not None and r.read_at < last.at:
        return
    if last is not None and r.read_at == last.at:
        state.last = Point(r.read_at, r.value, total)
        state.dirty = True
        return
    if prev is not None and not r.anomaly and delta >= 0:
        days = (r.read_at - prev.at).total_seconds() / 86400
        if state.window_days + days > WINDOW_DAYS and state.window_days > 0:
            keep = max(WINDOW_DAYS - days, 0.0) / state.window_days
            state.window_days *= keep
            state.window_use *= keep
        state.window_days += days
        state.window_use += float(delta)
    state.last = Point(r.read_at, r.value, total)
    state.dirty = True


