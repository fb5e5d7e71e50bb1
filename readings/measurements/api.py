"""``/measurements/``: post a batch of measurements (all or nothing), list a device's.

A batch answers ``200`` when every row is stored (now, or before with the same value:
``unchanged``, so a repeated request changes nothing) and ``422`` when any row is
refused: nothing is stored, ``error.fields`` names each refused row as
``measurements[<index>].<field>`` with the reason, and ``results[]`` has every row.
"""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import OrganizationAPIView
from billspree.core.api_errors import ErrorDetailSerializer, error_body
from billspree.core.api_fields import BoundedDateTimeField
from billspree.core.models import Role
from billspree.core.pagination import Pagination
from meters.models import Meter, Sensor
from readings.api.query import instant_param
from readings.measurements import selectors
from readings.measurements.ingest import BATCH_LIMIT, MeasurementIn, measurement_ingest
from readings.measurements.models import Measurement, Quantity, Source

UNPROCESSABLE = 422
FIELDS_LIMIT = 100


class MeasurementItemSerializer(serializers.Serializer):
    """Documentation of one item; items are validated by the ingestion service."""

    meterNumber = serializers.CharField(  # noqa: N815 - the API's published field names
        required=False, help_text="The meter's number, for electrical quantities.")
    sensorNumber = serializers.CharField(  # noqa: N815
        required=False, help_text="Or the environmental sensor's, for temperature/humidity.")
    quantity = serializers.ChoiceField(choices=Quantity.choices)
    measuredAt = serializers.CharField(  # noqa: N815
        help_text="ISO 8601; without offset: the device's property's time zone.")
    value = serializers.FloatField(help_text='A number (or a string, "21,5" accepted).')
    unit = serializers.CharField(
        required=False, help_text="Optional: W, kW, MW (power), V, kV, A, mA, Hz, °C, %; "
        "converted to the quantity's stored unit.")


class MeasurementRowSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    device = serializers.CharField()
    quantity = serializers.CharField()
    measuredAt = BoundedDateTimeField(allow_null=True)  # noqa: N815
    value = serializers.FloatField(allow_null=True, help_text="In the stored unit.")
    status = serializers.ChoiceField(
        choices=["created", "unchanged", "replaced", "rejected", "not_imported"])
    errors = inline_serializer("MeasurementRowError", {
        "field": serializers.CharField(), "message": serializers.CharField()}, many=True)


class MeasurementBatchSerializer(serializers.Serializer):
    committed = serializers.BooleanField()
    summary = inline_serializer("MeasurementBatchSummary", {
        k: serializers.IntegerField()
        for k in ("received", "created", "unchanged", "replaced", "rejected", "not_imported")})
    results = MeasurementRowSerializer(many=True)


class MeasurementBatchRejectedSerializer(MeasurementBatchSerializer):
    error = ErrorDetailSerializer()


class MeasurementSerializer(serializers.Serializer):
    quantity = serializers.CharField(source="series.quantity")
    unit = serializers.CharField(source="series.unit")
    measuredAt = BoundedDateTimeField(source="measured_at")  # noqa: N815
    value = serializers.FloatField()
    source = serializers.ChoiceField(choices=Source.choices)


class MeasurementPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = MeasurementSerializer(many=True)


def _device(request: Request):
    """The meter (``?meter=``) or sensor (``?sensor=``) asked for: its id or number."""
    for name, model in (("meter", Meter), ("sensor", Sensor)):
        raw = request.query_params.get(name)
        if raw:
            try:
                lookup = {"public_id": uuid.UUID(raw)}
            except ValueError:
                lookup = {"serial_number": raw}
            device = model.objects.filter(**lookup).first()
            if device is None:
                raise ValidationError({name: [f"No {name} {raw[:64]!r} in this organization."]})
            return name, device
    raise ValidationError({"meter": ["Give ?meter=<meter id or number> or ?sensor=<sensor id "
                                     "or number>."]})


class MeasurementsView(OrganizationAPIView):
    """``POST`` up to 10,000 measurements (all or nothing); ``GET`` a device's measurements."""

    queryset = Measurement.objects.all()
    write_role = Role.OPERATOR

    @extend_schema(
        parameters=[
            OpenApiParameter("meter", str, description="Meter id or number"),
            OpenApiParameter("sensor", str, description="Or sensor id or number"),
            OpenApiParameter("quantity", str, enum=[q.value for q in Quantity]),
            OpenApiParameter("from", str, description="Start (inclusive), ISO timestamp"),
            OpenApiParameter("to", str, description="End (exclusive), ISO timestamp"),
            OpenApiParameter("page", int), OpenApiParameter("page_size", int),
        ],
        responses=MeasurementPageSerializer,
    )
    def get(self, request: Request) -> Response:
        kind, device = _device(request)
        tz = request.organization.time_zone
        start, end = instant_param(request, "from", tz), instant_param(request, "to", tz)
        series = {s.pk: s for s in selectors.series_of_device(
            **{kind: device}, quantity=request.query_params.get("quantity") or None)}
        qs = selectors.measurements_of(series_ids=list(series), start=start, end=end)
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        for row in page:
            row.series = series[row.series_id]  # no query per row
        return paginator.get_paginated_response(MeasurementSerializer(page, many=True).data)

    @extend_schema(
        request=inline_serializer("MeasurementBatch", {
            "measurements": MeasurementItemSerializer(many=True),
            "replace": serializers.BooleanField(
                required=False, help_text="Overwrite values stored for the same instants."),
        }),
        responses={200: MeasurementBatchSerializer, 422: MeasurementBatchRejectedSerializer},
        description="All or nothing: any refused row stores nothing (422). Idempotent: a "
        "row stored before with the same value is `unchanged`.",
    )
    def post(self, request: Request) -> Response:
        data = request.data
        items = data.get("measurements") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ValidationError({"measurements": [
                'Send {"measurements": [...]} (or a JSON list of measurements).']})
        if len(items) > BATCH_LIMIT:
            raise ValidationError({"measurements": [f"At most {BATCH_LIMIT} per request."]})
        replace = data.get("replace", False) if isinstance(data, dict) else False
        if not isinstance(replace, bool):
            raise ValidationError({"replace": ["replace is true or false."]})
        outcome = measurement_ingest(
            rows=[_row(i, item) for i, item in enumerate(items)], source=Source.API,
            replace=replace)
        return _answer(outcome, len(items))


def _row(index: int, item) -> MeasurementIn:
    if not isinstance(item, dict):
        return MeasurementIn(index)
    return MeasurementIn(index, item.get("meterNumber"), item.get("sensorNumber"),
                         item.get("quantity"), item.get("measuredAt"), item.get("value"),
                         item.get("unit"))


def _answer(outcome, received: int) -> Response:
    results = []
    for r in outcome.results:
        row = r.as_dict()
        row["index"] = row.pop("line")
        results.append(row)
    body = {"committed": outcome.committed, "summary": {"received": received, **outcome.counts},
            "results": results}
    if outcome.committed:
        return Response(body, status=200)
    fields: dict[str, list[str]] = {}
    for r in outcome.rejected[:FIELDS_LIMIT]:
        for name, message in r.errors:
            fields.setdefault(f"measurements[{r.line}].{name}", []).append(message)
    first = next(iter(fields.items()))
    message = (f"{len(outcome.rejected)} of {received} measurements were refused; nothing was "
               f"stored. First: {first[0]}: {first[1][0]}")
    return Response({**error_body(UNPROCESSABLE, "measurements_rejected", message, fields),
                     **body}, status=UNPROCESSABLE)
