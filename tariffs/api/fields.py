"""Typed API fields of a charge rule's tiers and time-of-use bands.

They are stored as validated JSON (``tariffs.validation``) and validated by the service,
which names the bad row ("Row 2: up_to 5 must be greater than 10"); these fields only
pass the input through and give the stored value in the API's number form (limits with
4 decimal places, prices with 6, like the rule's ``price``), and tell the OpenAPI schema
what they hold instead of "any JSON".
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billspree.core.api_fields import UNIT_PRICE_PLACES, QuantityField
from tariffs import pricing

HHMM = r"^\d{2}:\d{2}$"


class TierSerializer(serializers.Serializer):
    """A block: units up to ``up_to`` (open-ended: null, the last block) cost ``price``."""

    up_to = QuantityField(allow_null=True, help_text="Upper limit of the block in the rule's "
                          "unit, as a decimal string with exactly 4 decimal places "
                          "(input: any decimal); null for the last, open-ended block.")
    price = QuantityField(places=UNIT_PRICE_PLACES)


class BandSerializer(serializers.Serializer):
    """A time-of-use band: its days and wall-clock hours [start, end) and its price."""

    name = serializers.CharField()
    days = serializers.ListField(
        child=serializers.ChoiceField(choices=list(pricing.DAY_KINDS)), allow_empty=False,
        help_text="Day kinds: holiday (a day of the rule's holiday calendar), else weekend "
        "(Saturday, Sunday), else weekday.")
    start = serializers.RegexField(HHMM, help_text="Local time HH:MM (property time zone).")
    end = serializers.RegexField(HHMM, help_text="Local time HH:MM, exclusive; the same as "
                                 "start (or 00:00 after a start) runs to midnight.")
    price = QuantityField(places=UNIT_PRICE_PLACES)


class _RowsField(serializers.JSONField):
    """Input goes to the service as sent; output in the API's number form."""

    row_serializer: type[serializers.Serializer]

    def to_representation(self, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return self.row_serializer(value, many=True).data


@extend_schema_field(TierSerializer(many=True))
class TiersField(_RowsField):
    row_serializer = TierSerializer


@extend_schema_field(BandSerializer(many=True))
class BandsField(_RowsField):
    row_serializer = BandSerializer


class RateListSchema(OpenApiSerializerExtension):
    """A rate list answers ``effective_from`` / ``effective_to`` (its first version's start
    and its last version's end) although they are write-only fields of the serializer
    (creation / update inputs): the answer is shaped in ``to_representation``."""

    target_class = "tariffs.api.rate_lists.RateListSerializer"

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "response":
            schema["properties"]["effective_from"] = {
                "type": "string", "format": "date", "nullable": True,
                "description": "The first version's first day."}
            schema["properties"]["effective_to"] = {
                "type": "string", "format": "date", "nullable": True,
                "description": "The last version's end (exclusive); null: open-ended."}
            schema["required"] = sorted({*schema.get("required", []), "effective_from",
                                         "effective_to"})
        return schema
