"""Template filters of the tariffs pages."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


def plain(value, min_places: int = 2) -> str:
    """A decimal without trailing zeros beyond ``min_places`` (12.400000 → 12.40)."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{number:f}"
    if "." not in text:
        return f"{text}.{'0' * min_places}" if min_places else text
    whole, frac = text.split(".")
    frac = frac.rstrip("0").ljust(min_places, "0")
    return f"{whole}.{frac}" if frac else whole


@register.filter
def price(value) -> str:
    return plain(value, 2)


@register.filter
def number(value) -> str:
    return plain(value, 0)
