"""Fields and mixins the tenants API shares: instants, connectionID, tenant refs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    PublicIdRelatedField,
)
from billspree.core.limits import date_in_range, date_range_message
from billspree.core.timefmt import api_instant
from meters.models import BillingPoint


@extend_schema_field(OpenApiTypes.STR)
class InstantField(serializers.Field):
    """A date (property midnight) or an aware ISO 8601 timestamp; shown as a timestamp."""

    default_error_messages = {
        "invalid": "Give a date (YYYY-MM-DD) or a timestamp with offset (ISO 8601).",
        "naive": "This timestamp has no offset; add one (e.g. +01:00) or give a plain date.",
        "out_of_range": date_range_message(),
    }

    def to_internal_value(self, data: Any) -> date | datetime:
        text = str(data).strip()
        try:
            moment = parse_datetime(text) if "T" in text or " " in text else parse_date(text)
        except ValueError:
            moment = None
        if moment is None:
            self.fail("invalid")
        if isinstance(moment, datetime) and moment.tzinfo is None:
            self.fail("naive")
        if not date_in_range(moment):
            self.fail("out_of_range")
        return moment

    def to_representation(self, value: datetime) -> str:
        return api_instant(value)


class ConnectionIdField(PublicIdRelatedField):
    """A billing point by its connection ID (``connectionID``), as integrators name it."""

    default_error_messages = {
        "does_not_exist": "No billing point with connectionID '{value}' in this organization.",
        "invalid": "Not a valid connectionID.",
    }

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("queryset", BillingPoint.objects.all())
        kwargs.setdefault("slug_field", "connection_id")
        kwargs.setdefault("source", "billing_point")
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Alternative to billing_point: its connection ID.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str | int) or not str(data).strip():
            self.fail("invalid")
        queryset = self.get_queryset()
        try:
            return queryset.get(connection_id=str(data).strip())
        except queryset.model.DoesNotExist:
            self.fail("does_not_exist", value=data)


class BillingPointOrConnectionMixin:
    """``billing_point`` (id) or ``connectionID``: one of them, and if both, the same."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        raw = getattr(self, "initial_data", {}) or {}
        if "billing_point" not in attrs:
            raise serializers.ValidationError(
                {"billing_point": ["Give billing_point (an id) or connectionID."]}
            )
        if raw.get("billing_point") and raw.get("connectionID"):
            by_id = self.fields["billing_point"].to_internal_value(raw["billing_point"])
            if by_id != attrs["billing_point"]:
                raise serializers.ValidationError(
                    {"connectionID": ["billing_point and connectionID name different points."]}
                )
        return super().validate(attrs)  # type: ignore[misc]


class TenantRef(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    customer_number = serializers.CharField()


class ActorMixin:
    def actor(self) -> Any:
        return self.request.user  # type: ignore[attr-defined]


class RowActionMixin(ActorMixin):
    """A POST that acts on one row of ``queryset`` (by public id): the body is parsed by
    ``input_class``, :meth:`act` calls the service, the answer is the row it returns shown
    by ``output_class``."""

    input_class: type[serializers.Serializer]
    output_class: type[serializers.Serializer]

    def act(self, row: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def act_on(self, request: Request, id: str) -> Response:
        row = get_object_or_404(self.queryset, public_id=id)  # type: ignore[attr-defined]
        ser = self.input_class(data=request.data)
        ser.is_valid(raise_exception=True)
        return Response(self.output_class(self.act(row, ser.validated_data)).data)
