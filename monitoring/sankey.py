"""An energy-flow (Sankey) picture of one main meter, drawn on the server as inline SVG.

One node on the left (the main meter), one per sub-meter and one for the unmetered
remainder on the right, each flow a band whose thickness is proportional to its kWh
(the same scale for all), labelled with its quantity and its share of the main meter.
Only geometry is computed here; ``templates/monitoring/_sankey.html`` draws it (colours
in ``static/css/losses.css``: no inline styles under the CSP).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from billspree.core.charts import format_quantity
from readings.losses import loss_percent

WIDTH = 760
NODE_W = 14
LEFT_X = 150
RIGHT_X = 470
#: the height the main meter's kWh are drawn over, and the least room per right-hand row
SCALE_H = 320
ROW_MIN = 18
GAP = 4
TOP = 24


@dataclass(frozen=True, slots=True)
class Flow:
    label: str
    value_text: str
    css: str
    path: str  # the band, a closed path
    node_y: float
    node_h: float
    label_y: float


@dataclass(frozen=True, slots=True)
class Sankey:
    width: int
    height: int
    title: str
    desc: str
    main_label: str
    main_value: str
    main_y: float
    main_h: float
    flows: list[Flow]
    left_x: int = LEFT_X
    right_x: int = RIGHT_X
    node_w: int = NODE_W
    note: str = ""


def _share(part: Decimal, main: Decimal) -> str:
    pct = loss_percent(main, main - part)  # part × 100 / main, rounded as losses are
    return f"{pct} %" if pct is not None else "–"


def _band(x0, y0, x1, y1, h) -> str:
    mid = (x0 + x1) / 2
    return (f"M{x0:.1f},{y0:.1f} C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {x1:.1f},{y1:.1f} "
            f"L{x1:.1f},{y1 + h:.1f} C{mid:.1f},{y1 + h:.1f} {mid:.1f},{y0 + h:.1f} "
            f"{x0:.1f},{y0 + h:.1f} Z")


def sankey(name: str, unit: str, main: Decimal, parts: list[tuple[str, Decimal]],
           period: str) -> Sankey | None:
    """``parts``: (label, quantity) of each sub-meter over the complete periods; the
    remainder is main − their sum (drawn only when positive; a negative one is said in
    the note). None when the main meter measured nothing."""
    if main <= 0:
        return None
    remainder = main - sum((q for _, q in parts), Decimal(0))
    flows_in = [(label, max(q, Decimal(0)), "flow-sub") for label, q in parts]
    note = ""
    if remainder > 0:
        flows_in.append(("Unmetered remainder", remainder, "flow-loss"))
    elif remainder < 0:
        note = (f"The sub-meters measured {format_quantity(-remainder, unit)} more than the "
                "main meter: check the wiring and the multipliers.")
    drawn = sum((q for _, q, _ in flows_in), Decimal(0))
    total = max(main, drawn)
    px = SCALE_H / float(total)
    flows, left_y, right_y = [], float(TOP), float(TOP)
    for label, q, css in flows_in:
        h = float(q) * px
        row = max(h, ROW_MIN)
        ny = right_y + (row - h) / 2
        flows.append(Flow(label, f"{format_quantity(q, unit)} ({_share(q, main)})", css,
                          _band(LEFT_X + NODE_W, left_y, RIGHT_X, ny, h), ny, max(h, 1.0),
                          right_y + row / 2))
        left_y += h
        right_y += row + GAP
    main_h = float(main) * px
    height = int(max(right_y, TOP + main_h) + TOP)
    desc = (f"Energy flow of {name}, {period}: {format_quantity(main, unit)} through the main "
            "meter; " + "; ".join(f"{f.label} {f.value_text}" for f in flows) + ".")
    return Sankey(WIDTH, height, f"Energy flow from main meter {name}", desc, name,
                  f"{format_quantity(main, unit)} (100 %)", float(TOP), main_h, flows,
                  note=note)
