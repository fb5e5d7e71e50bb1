"""Register arithmetic: pure, no database, shared by ingestion, selectors and billing.

A meter's register counts up to ``10 ** digits`` and wraps to zero. Everything that turns
two register positions into a quantity (the ingestion rules, consumption between two
readings, the billing engine's boundary readings) goes through :func:`advance`, so the
rollover rule is stated once; the SQL that rebuilds unwrapped totals
(``readings.ingest_sql.recompute_totals``) repeats it in SQL with :data:`ROLLOVER_SHARE`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

#: A drop in the register is a rollover only if the implied use is under this share of
#: the register's range (a 5-digit register going 99,950 → 30 used 80, plausible; going
#: 50,000 → 100 would mean 50,100 units, i.e. a misread).
ROLLOVER_SHARE = Decimal("0.1")
DAY_SECONDS = Decimal(86400)


@dataclass(slots=True)
class Point:
    """A known register position: a reading, or an assignment's initial value (total None)."""

    at: datetime
    value: Decimal
    total: Decimal | None



@lru_cache(maxsize=64)
def capacity(digits: int) -> Decimal:
    """The register's range: a ``digits``-digit register wraps at ``10 ** digits``."""
    return Decimal(10) ** digits


def advance(prev: Decimal, value: Decimal, cap: Decimal) -> tuple[Decimal, str]:
    """Register advance from ``prev`` to ``value``: (delta, "normal" | "rollover" | "drop")."""
    delta = value - prev
    if delta >= 0:
        return delta, "normal"
    rolled = value + cap - prev
    if rolled <= cap * ROLLOVER_SHARE:
        return rolled, "rollover"
    return delta, "drop"



def metered(start_total: Decimal, end_total: Decimal, multiplier: Decimal) -> Decimal:
    """Billed units between two unwrapped totals: a current-transformer meter counts a
    fraction of the energy, and its multiplier (1 for a direct meter) scales it back."""
    return (end_total - start_total) * multiplier
