"""Main meters against their sub-meters: the one arithmetic of a main-meter gap.

A **main meter** is a meter with sub-meters (``Meter.parent``): it measures what the
sub-meters measure again, plus what they do not (line losses, unmetered common use). The
building statement (``billing.selectors.building_statements``) and the loss pages and API
(``monitoring.selectors.losses``) both take the sub-meters, the gap and its share from
here, so the PDF and the page can never disagree on how a gap is computed:

* ``subs`` is the sum of the sub-meters' quantities, and *unknown* (``None``) as soon as
  one of them is unknown: a sub-meter without data is not zero consumption, and counting
  it as zero would show its whole use as loss;
* ``loss = main − subs`` (negative when the sub-meters read more than the main: a
  wiring or multiplier fault worth a look, never hidden);
* ``percent = loss × 100 / main``, rounded half-even to :data:`PERCENT_STEP` (0.1 %);
  unknown for a main of zero.

:func:`allocate` splits a quantity (common-area use) into parts by weights so that the
rounded parts add up to the rounded whole exactly (largest remainder, see there).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import TypeVar

from meters.models import Meter

PERCENT_STEP = Decimal("0.1")
#: Allocated quantities are rounded to this (0.001 kWh / m³).
ALLOCATION_STEP = Decimal("0.001")

K = TypeVar("K")


def sub_meters(main_ids: Iterable[int]) -> dict[int, list[int]]:
    """Each main meter's sub-meters (ids, by serial number), in one query."""
    out: dict[int, list[int]] = {m: [] for m in main_ids}
    rows = (Meter.objects.filter(parent_id__in=list(out)).order_by("serial_number")
            .values_list("pk", "parent_id"))
    for pk, parent in rows:
        out[parent].append(pk)
    return out


def total(quantities: Iterable[Decimal | None]) -> Decimal | None:
    """The sum, or ``None`` if any part is unknown (a meter without data is not zero)."""
    out = Decimal(0)
    for q in quantities:
        if q is None:
            return None
        out += q
    return out


def loss(main: Decimal | None, subs: Decimal | None) -> Decimal | None:
    """What the main meter measured that its sub-meters did not (``None`` if unknown)."""
    if main is None or subs is None:
        return None
    return main - subs


def loss_percent(main: Decimal | None, subs: Decimal | None) -> Decimal | None:
    """The loss as a share of the main meter, in per cent to 0.1 (``None`` if unknown or
    the main measured nothing)."""
    gap = loss(main, subs)
    if gap is None or not main:
        return None
    return (gap * 100 / main).quantize(PERCENT_STEP, rounding=ROUND_HALF_EVEN)


def allocate(whole: Decimal, weights: Sequence[tuple[K, Decimal]],
             step: Decimal = ALLOCATION_STEP) -> dict[K, Decimal]:
    """``whole`` split in proportion to ``weights`` (``(key, weight)`` in a stated order),
    each part a multiple of ``step`` and the parts adding up to ``whole`` rounded to
    ``step`` (half-even) *exactly*.

    Remainder rule (largest remainder): every part is first rounded down to ``step``; the
    steps left over (fewer than there are parts) go one each to the parts with the largest
    remainders, ties in the order of ``weights``. A negative whole is split as its
    magnitude and negated. Zero or negative weights get nothing; if no weight is positive
    the result is empty (nothing to allocate by).
    """
    target = whole.quantize(step, rounding=ROUND_HALF_EVEN)
    sign = -1 if target < 0 else 1
    target = abs(target)
    positive = [(k, w) for k, w in weights if w > 0]
    weight_sum = sum((w for _, w in positive), Decimal(0))
    if not positive:
        return {}
    parts: dict[K, Decimal] = {}
    remainders: list[tuple[Decimal, int, K]] = []
    for n, (key, w) in enumerate(positive):
        exact = target * w / weight_sum
        floor = exact.quantize(step, rounding=ROUND_FLOOR)
        parts[key] = floor
        remainders.append((exact - floor, n, key))
    left = int((target - sum(parts.values(), Decimal(0))) / step)
    for _, _, key in sorted(remainders, key=lambda r: (-r[0], r[1]))[:left]:
        parts[key] += step
    return {k: sign * v for k, v in parts.items()}


def equal_weights(keys: Iterable[K]) -> list[tuple[K, Decimal]]:
    return [(k, Decimal(1)) for k in keys]


def weights_of(values: Mapping[K, Decimal | None]) -> list[tuple[K, Decimal]]:
    """``{key: weight}`` as allocation weights (unknown counts as no weight)."""
    return [(k, v or Decimal(0)) for k, v in values.items()]
