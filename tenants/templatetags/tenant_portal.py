"""Number formatting of the tenant portal: ``{% load tenant_portal %}{{ value|reading }}``."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.template.defaultfilters import floatformat

register = template.Library()


@register.filter
def reading(value, places: int = 3) -> str:
    """A register value or a quantity as people read it: grouped thousands, at most
    ``places`` decimals and no trailing zeros (9744.6400 → "9,744.64", 6008.2000 →
    "6,008.2", 1000 → "1,000")."""
    if value is None or value == "":
        return ""
    try:
        d = Decimal(value).quantize(Decimal(1).scaleb(-int(places)), ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    exponent = d.normalize().as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return floatformat(d, f"{decimals}g")
