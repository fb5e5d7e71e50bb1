"""The API's number formats: one field for money, one for quantities (and unit prices, rates).

Why: an integrator reconciling invoices must be able to compare strings. Before this the
preview said ``"95.08"`` and the stored invoice ``"95.0800"``, quantities came out as
``"300"`` or ``"300.0000"`` depending on the endpoint. Now:

* **Money** (:class:`MoneyField`): a decimal string with exactly the currency's decimal
  places (ISO 4217 minor unit): CHF ``"12.30"``, JPY ``"1230"``, KWD ``"1.230"``, never
  a float. The currency is read from the serialized object (``currency_source``, a dotted
  path such as ``"invoice.currency"``) or, for objects that carry none (preview lines),
  from the serializer context's ``"currency"``.
* **Quantities** (:class:`QuantityField`): a decimal string with a fixed number of places:
  quantities and register values :data:`QUANTITY_PLACES` (4, as stored), unit prices
  :data:`UNIT_PRICE_PLACES` (6, as stored), VAT rates in percent :data:`RATE_PLACES` (2).

Amounts are rounded to the minor unit before they are stored, so formatting never changes
a stored value; the quantize here (half up, like PostgreSQL's ``numeric``) only pads.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from babel.numbers import get_currency_precision
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import get_attribute

from billspree.core.limits import date_in_range, date_range_message

QUANTITY_PLACES = 4
UNIT_PRICE_PLACES = 6
RATE_PLACES = 2

MONEY_HELP = (
    "Amount as a decimal string with exactly the currency's decimal places "
    '(CHF "12.30", JPY "1230", KWD "1.230").'
)


@lru_cache(maxsize=64)
def currency_places(currency: str) -> int:
    """Decimal places of a currency's minor unit (ISO 4217: CHF 2, JPY 0, KWD 3)."""
    return get_currency_precision(str(currency).upper())


def fixed_str(value: Decimal, places: int) -> str:
    """``value`` with exactly ``places`` decimals, half up, no exponent, no ``-0``."""
    quantized = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if quantized.is_zero():
        quantized = abs(quantized)
    return f"{quantized:f}"


def money_str(value: Decimal | None, currency: str) -> str | None:
    """An amount in the API's one money form (see :class:`MoneyField`)."""
    return None if value is None else fixed_str(value, currency_places(currency))


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$", "example": "12.30"}
)
class MoneyField(serializers.Field):
    """An amount of money: a decimal string with exactly its currency's decimal places.

    ``MoneyField()`` reads the currency from the object's ``currency``;
    ``MoneyField(currency_source="invoice.currency")`` from a related object; objects
    without one (engine dataclasses of a preview line) take ``context["currency"]``.
    Input (for a writable use) is parsed into a ``Decimal``; checking it against the
    currency's places is the service's job, which knows the currency.
    """

    default_error_messages = {"invalid": "Enter an amount as a decimal string, e.g. \"12.30\"."}

    def __init__(self, *, currency_source: str = "currency", **kwargs: Any):
        kwargs.setdefault("help_text", MONEY_HELP)
        self.currency_source = currency_source
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        value = super().get_attribute(instance)
        return value, self._currency(instance)

    def _currency(self, instance: Any) -> str:
        try:
            currency = get_attribute(instance, self.currency_source.split("."))
        except (KeyError, AttributeError):
            currency = None
        currency = currency or self.context.get("currency")
        if not currency:  # a programming error, not bad input
            raise ValueError(f"{self.field_name}: no currency to format the amount in.")
        return str(currency)

    def to_representation(self, value: Any) -> str | None:
        amount, currency = value
        return money_str(amount, currency)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool | float):
            self.fail("invalid")  # floats lose cents; send a string
        try:
            amount = Decimal(str(data).strip())
        except (InvalidOperation, ValueError):
            self.fail("invalid")
        if not amount.is_finite():
            self.fail("invalid")
        return amount


class QuantityField(serializers.DecimalField):
    """A quantity (or register value, unit price, rate) as a decimal string with exactly
    ``places`` decimals: 4 for quantities (the default), :data:`UNIT_PRICE_PLACES` for unit
    prices, :data:`RATE_PLACES` for VAT rates in percent. Input with more places is refused
    with a message naming the field."""

    def __init__(self, *, places: int = QUANTITY_PLACES, max_digits: int | None = None,
                 **kwargs: Any):
        kwargs.setdefault("help_text", _quantity_help(places))
        super().__init__(max_digits=max_digits, decimal_places=places, coerce_to_string=True,
                         rounding=ROUND_HALF_UP, **kwargs)

    def to_representation(self, value: Any) -> str | None:
        if value is None:
            return None
        return fixed_str(Decimal(str(value)), self.decimal_places)


def _quantity_help(places: int) -> str:
    what = {QUANTITY_PLACES: "Quantity", UNIT_PRICE_PLACES: "Unit price",
            RATE_PLACES: "Rate in percent"}.get(places, "Number")
    return f"{what} as a decimal string with exactly {places} decimal places."


def _quantity_schema(places: int, direction: str) -> dict[str, Any]:
    """Answers have exactly ``places`` decimals; requests may have fewer ("10")."""
    exact = direction == "response"
    pattern = rf"^-?\d+\.\d{{{places}}}$" if exact and places else (
        rf"^-?\d+(\.\d{{0,{places}}})?$" if places else r"^-?\d+$")
    return {"type": "string", "format": "decimal", "pattern": pattern,
            "example": fixed_str(Decimal("12.5"), places)}


class QuantityFieldSchema(OpenApiSerializerFieldExtension):
    """drf-spectacular: the exact pattern of a quantity field depends on its places."""

    target_class = QuantityField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        return _quantity_schema(self.target.decimal_places, direction)

class BoundedDateField(serializers.DateField):
    """A calendar date within :mod:`billspree.core.limits`; outside it, 400 with the range.

    Why: year 1 or 9999 parses, then period arithmetic overflows (500). Every date the
    API takes is this field: ``OrganizationModelSerializer`` maps model ``DateField`` to it,
    declared fields use it, and ``tests/core/test_bad_input.py`` fails on any other.
    """

    default_error_messages = {"out_of_range": date_range_message()}

    def to_internal_value(self, value: Any) -> Any:
        day = super().to_internal_value(value)
        if not date_in_range(day):
            self.fail("out_of_range")
        return day


class BoundedDateTimeField(serializers.DateTimeField):
    """An instant within :mod:`billspree.core.limits` (see :class:`BoundedDateField`); an
    instant whose conversion to UTC overflows (``9999-12-31T23:00:00-12:00``) gets the same
    message instead of a 500."""

    default_error_messages = {"out_of_range": date_range_message(),
                              "overflow": date_range_message()}

    def to_internal_value(self, value: Any) -> Any:
        try:
            instant = super().to_internal_value(value)
        except OverflowError:
            self.fail("out_of_range")
        if not date_in_range(instant):
            self.fail("out_of_range")
        return instant


__all__ = [
    "MONEY_HELP",
    "QUANTITY_PLACES",
    "RATE_PLACES",
    "UNIT_PRICE_PLACES",
    "BoundedDateField",
    "BoundedDateTimeField",
    "MoneyField",
    "QuantityField",
    "currency_places",
    "fixed_str",
    "money_str",
]
