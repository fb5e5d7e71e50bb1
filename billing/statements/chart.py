"""A bar chart of monthly consumption as inline SVG, in pure Python.

Why not a charting library or JavaScript: the PDF renderer runs no scripts and must not
fetch anything, and a dozen rectangles with labels are cheaper to write as text than to
import a plotting stack into every worker.
"""

from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 330, 112
LEFT, RIGHT, TOP, BOTTOM = 34, 4, 20, 16
FONT = 'font-family="DejaVu Sans, sans-serif"'



def _nice_max(value: float) -> float:
    """The smallest 1/2/2.5/5 × 10^n at or above ``value`` (a round top for the axis)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 0.1
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 2.5, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:,.2f}".rstrip("0").rstrip(".")


def bar_chart_svg(*, labels: list[str], values: list[Decimal | None], current: list[bool],
                  unit: str, color: str, title: str) -> str:
    """SVG markup: one bar per label, the ``current`` bars in ``color``, the others grey,
    missing values as a dash on the axis (no data is not zero)."""
    top = _nice_max(max((float(v) for v in values if v is not None), default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(values), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="0" y="10" {FONT} font-size="9" font-weight="bold" fill="#334e68">'
        f'{escape(title)} ({escape(unit)})</text>',
    ]
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
                     f'stroke="{"#9aa5b1" if i == 0 else "#e4e7eb"}" stroke-width="0.7"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 2.5:.1f}" {FONT} font-size="7" '
                     f'fill="#6b7280" text-anchor="end">{_fmt(top * i / 4)}</text>')
    for i, (label, value, now) in enumerate(zip(labels, values, current, strict=True)):
        x = LEFT + slot * i + slot * 0.15
        w = slot * 0.7
        if value is None:
            parts.append(f'<line x1="{x:.1f}" y1="{TOP + plot_h - 2:.1f}" x2="{x + w:.1f}" '
                         f'y2="{TOP + plot_h - 2:.1f}" stroke="#9aa5b1" stroke-width="1.5"/>')
        else:
            h = plot_h * float(value) / top
            fill = color if now else "#b8c0cc"
            parts.append(f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{w:.1f}" '
                         f'height="{h:.1f}" fill="{fill}"/>')
        weight = ' font-weight="bold" fill="#111827"' if now else ' fill="#6b7280"'
        parts.append(f'<text x="{x + w / 2:.1f}" y="{HEIGHT - 4}" {FONT} font-size="7"{weight} '
                     f'text-anchor="middle">{escape(label)}</text>')
        if now and value is not None:
            parts.append(f'<text x="{x + w / 2:.1f}" y="{TOP + plot_h - h - 3:.1f}" {FONT} '
                         f'font-size="6.5" font-weight="bold" fill="#111827" '
                         f'text-anchor="middle">{_fmt(float(value))}</text>')
    parts.append("</svg>")
    return "".join(parts)
