"""Field types and error renaming shared by the meters API."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billspree.core.api_base import (
    PublicIdRelatedField,
)
from billspree.core.errors import Conflict

ASSIGNMENT_NAMES = {
    "connected_at": "connectionDate",
    "removed_at": "removalDate",
    "initial_reading": "initialReading",
    "final_reading": "finalReading",
    "meter": "meterNumber",
    "new_meter": "newMeterNumber",
    "billing_point": "connectionID",
}
REPLACE_NAMES = {
    **ASSIGNMENT_NAMES,
    "removed_at": "replacementDate",
    "connected_at": "replacementDate",
    "meter": "newMeterNumber",
}


@contextmanager
def api_field_names(names: Mapping[str, str]) -> Iterator[None]:
    """Rename the field keys of a service's ValidationError/Conflict to the API's names."""
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise ValidationError({names.get(k, k): v for k, v in exc.message_dict.items()}) from exc
    except Conflict as exc:
        exc.fields = {names.get(k, k): v for k, v in exc.fields.items()}
        raise


# --- fields ----------------------------------------------------------------------------


class NaturalKeyField(PublicIdRelatedField):
    """A scoped relation by a natural key (connection ID, serial number), for the seed's API.

    Unknown values and other organizations' rows are the same 400 naming the field."""

    default_error_messages = {
        "does_not_exist": "No {model} with {key_label} '{value}' in this organization.",
        "invalid": "Not a valid value.",
    }

    def __init__(self, *, key_label: str, **kwargs: Any):
        self.key_label = key_label
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        queryset = self.get_queryset()
        if not isinstance(data, str | int) or not str(data).strip():
            self.fail("invalid")
        try:
            return queryset.get(**{self.slug_field: str(data).strip()})
        except queryset.model.DoesNotExist:
            self.fail(
                "does_not_exist",
                model=queryset.model._meta.verbose_name,
                key_label=self.key_label,
                value=data,
            )


@extend_schema_field(OpenApiTypes.STR)
class TimeZoneField(serializers.CharField):
    def to_representation(self, value: Any) -> str:
        return str(value)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise serializers.ValidationError(
                f"Unknown time zone '{text}' (use an IANA name like Europe/Berlin)."
            ) from exc
        return text


@extend_schema_field(OpenApiTypes.STR)
class CurrencyCodeField(serializers.CharField):
    def to_representation(self, value: Any) -> str:
        return str(value)

    def to_internal_value(self, data: Any) -> str:
        code = super().to_internal_value(data).upper()
        if code not in settings.CURRENCIES:
            raise serializers.ValidationError(
                f"Unsupported currency '{code}'. Use one of {', '.join(settings.CURRENCIES)}."
            )
        return code


@extend_schema_field(
    {
        "type": "string",
        "description": "A date (midnight in the property's time zone) or an "
        "ISO 8601 date and time with an offset.",
        "example": "2026-03-01",
    }
)
class InstantField(serializers.CharField):
    """Kept as text here; the service turns it into an aware instant in the right zone."""
