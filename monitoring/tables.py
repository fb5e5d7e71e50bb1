"""A report table: what every monitoring page shows and every export writes.

A page's selector returns typed values (``Decimal``/``float``/``int`` numbers, ``date``,
aware ``datetime``, ``str``, ``None``), never formatted text; a :class:`Table` names the
columns, their kind and unit, and carries the rows. The page renders it (formatted
through :mod:`billspree.core.timefmt` and :func:`billspree.core.charts.format_quantity`)
and :mod:`monitoring.exports` writes the *same rows* as CSV, XLSX (numbers as numbers,
dates as dates in the property's zone) and PDF, so an export never disagrees with the page.

``rows`` may be a generator: exports stream it and never hold it all in memory; a page
should only hand a generator to an export, not render one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

TEXT, NUMBER, PERCENT, DATE, DATETIME, MONTH = (
    "text", "number", "percent", "date", "datetime", "month")
KINDS = frozenset({TEXT, NUMBER, PERCENT, DATE, DATETIME, MONTH})


@dataclass(frozen=True, slots=True)
class Column:
    """``kind``: text, number, percent (a number of per cent, 2.5 = 2.5 %), date, datetime
    (aware; shown and exported in the table's zone), month (a ``date`` on the 1st)."""

    key: str
    label: str
    kind: str = TEXT
    unit: str = ""
    #: decimals shown on the page and used as the XLSX number format (None: as it comes)
    digits: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown column kind {self.kind!r}")

    @property
    def heading(self) -> str:
        """"Consumption (kWh)": the label with its unit, as in an export's header row."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


@dataclass(slots=True)
class Table:
    """One table of a report. ``name`` is a slug, unique on its page: the export file
    (``<name>.csv``) and the XLSX sheet are named after it."""

    name: str
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    zone: ZoneInfo
    #: lines printed under the title (period, filters, what "incomplete" means …)
    notes: list[str] = field(default_factory=list)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)
