"""Readings of a meter: the list (paged) and the batch write."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationAPIView,
)
from billspree.core.api_fields import (
    QUANTITY_PLACES,
    BoundedDateTimeField,
    QuantityField,
)
from billspree.core.models import Role
from billspree.core.pagination import Pagination
from readings import api_batch as batch
from readings import selectors, services
from readings.api.query import instant_param, meter_from_query, meter_zone
from readings.models import Quality, Reading, Source


class ReadingItemSerializer(serializers.Serializer):
    """Documentation of one item; items are validated by the ingestion service."""

    meterNumber = serializers.CharField()  # noqa: N815 - the API's published field names
    readAt = serializers.CharField(help_text="ISO 8601; without offset: the property's time zone.")  # noqa: N815
    value = serializers.CharField(
        help_text='Register value, e.g. "1234.5" (decimal comma accepted).'
    )
    quality = serializers.ChoiceField(choices=["actual", "estimated", "corrected"], required=False)


class ReadingSerializer(serializers.Serializer):
    """A stored reading (``GET /readings/``)."""

    meterNumber = serializers.CharField(source="meter.serial_number")  # noqa: N815
    meter = serializers.UUIDField(source="meter.public_id")
    readAt = BoundedDateTimeField(source="read_at")  # noqa: N815
    value = QuantityField(help_text="Register value as a decimal string with exactly "
                          f"{QUANTITY_PLACES} decimal places.")
    source = serializers.ChoiceField(choices=Source.choices)
    quality = serializers.ChoiceField(choices=Quality.choices)
    anomaly = serializers.BooleanField(source="is_anomaly",
                                       help_text="Flagged as an implausible jump for review.")


class ReadingPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ReadingSerializer(many=True)


class ReadingsView(OrganizationAPIView):
    """``POST`` a batch of up to 10,000 readings; ``GET`` one meter's readings in a period.

    A batch answers ``200`` when every row is stored (now, or before: a duplicate),
    ``207`` when some rows were rejected and the others stored, and ``422`` when nothing
    was stored because rows were rejected (all of them, or any in an ``atomic`` batch);
    ``summary`` counts the rows, ``results[]`` says what happened to each, and a ``422``
    carries the usual ``error`` naming the rejected rows. A malformed body is a ``400``.
    """

    queryset = Reading.objects.all()
    write_role = Role.OPERATOR

    @extend_schema(
        parameters=[
            OpenApiParameter("meter", str, required=True, description="Meter id or meterNumber"),
            OpenApiParameter("from", str, description="Start (inclusive), ISO date or timestamp"
                             "; a plain date is midnight in the meter's property time zone"),
            OpenApiParameter("to", str, description="End (exclusive), as ``from``"),
            OpenApiParameter("page", int), OpenApiParameter("page_size", int),
        ],
        responses=ReadingPageSerializer,
    )
    def get(self, request: Request) -> Response:
        meter = meter_from_query(request)
        tz = meter_zone(request, meter)
        qs = selectors.readings_for_meter(
            meter=meter,
            start=instant_param(request, "from", tz),
            end=instant_param(request, "to", tz),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        for r in page:
            r.meter = meter  # one meter for the whole page: no query per row
        return paginator.get_paginated_response(ReadingSerializer(page, many=True).data)

    @extend_schema(
        request=inline_serializer(
            "ReadingBatch",
            {
                "readings": ReadingItemSerializer(many=True),
                "replace": serializers.BooleanField(required=False),
                "atomic": serializers.BooleanField(required=False),
            },
        ),
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER)],
        responses={
            200: batch.ReadingBatchResultSerializer,
            207: batch.ReadingBatchResultSerializer,
            422: batch.ReadingBatchRejectedSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        data = request.data
        items = data if isinstance(data, list) else (
            data.get("readings") if isinstance(data, dict) else None)
        if not isinstance(items, list):
            raise ValidationError(
                {"readings": ['Send a JSON list of readings, or {"readings": [...]}.']}
            )
        options = data if isinstance(data, dict) else {}
        body, replayed = services.reading_batch_submit(
            items=items,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            replace=_flag(options, "replace"),
            all_or_nothing=_flag(options, "atomic"),
            **self.audit_kwargs(),
        )
        code, body = batch.batch_answer(body)
        response = Response(body, status=code)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


def _flag(options: dict, name: str) -> bool:
    """``true``/``false`` (or the strings a form would send); anything else is a 400 naming
    the option, not a silent "no" (``"atomic": {}`` used to store half a batch)."""
    value = options.get(name)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str | int) and str(value).lower() in ("1", "true", "yes", "0", "false",
                                                               "no"):
        return str(value).lower() in ("1", "true", "yes")
    raise ValidationError({name: [f"{name} is true or false."]})
