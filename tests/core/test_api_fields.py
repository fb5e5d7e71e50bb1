"""The API's number fields: money in the currency's places (ISO 4217), quantities in fixed
places; inputs parsed without floats."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework import serializers

from billspree.core.api_fields import (
    RATE_PLACES,
    UNIT_PRICE_PLACES,
    MoneyField,
    QuantityField,
    money_str,
)


@pytest.mark.parametrize(("value", "currency", "expected"), [
    (Decimal("12.3"), "CHF", "12.30"),
    (Decimal("1230.0000"), "JPY", "1230"),
    (Decimal("1.23"), "KWD", "1.230"),
    (Decimal("-0.0000"), "EUR", "0.00"),  # never "-0.00"
    (Decimal("1E+3"), "EUR", "1000.00"),  # never an exponent
    (Decimal("-95.08"), "EUR", "-95.08"),
])
def test_money_has_exactly_the_currencys_places(value, currency, expected):
    assert money_str(value, currency) == expected


class Row(serializers.Serializer):
    total = MoneyField()
    fee = MoneyField(currency_source="invoice.currency", allow_null=True)
    quantity = QuantityField()
    unit_price = QuantityField(places=UNIT_PRICE_PLACES)
    rate = QuantityField(places=RATE_PLACES)


def test_the_currency_comes_from_the_object_a_related_one_or_the_context():
    row = {"total": Decimal("5"), "currency": "JPY", "invoice": {"currency": "KWD"},
           "fee": Decimal("0.5"), "quantity": Decimal("3"), "unit_price": Decimal("0.041"),
           "rate": Decimal("8.1")}
    assert Row(row).data == {"total": "5", "fee": "0.500", "quantity": "3.0000",
                             "unit_price": "0.041000", "rate": "8.10"}
    bare = {**row, "invoice": None, "fee": None}
    del bare["currency"]
    assert Row(bare, context={"currency": "CHF"}).data["total"] == "5.00"
    with pytest.raises(ValueError, match="no currency"):
        Row(bare).data  # noqa: B018 - a programming error, not a silent default


def test_inputs_are_decimal_strings_within_the_places():
    class Money(serializers.Serializer):
        amount = MoneyField()
        quantity = QuantityField()

    good = Money(data={"amount": "12.30", "quantity": "2"})
    assert good.is_valid(), good.errors
    assert good.validated_data == {"amount": Decimal("12.30"), "quantity": Decimal("2")}
    bad = Money(data={"amount": 12.3, "quantity": "1.00001"})
    assert not bad.is_valid()
    assert set(bad.errors) == {"amount", "quantity"}
