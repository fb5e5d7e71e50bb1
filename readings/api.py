"""REST endpoints of readings (thin: parse input, call a service or selector, shape output)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationViewSet,
)
from billspree.core.api_fields import (
    QUANTITY_PLACES,
    BoundedDateField,
    BoundedDateTimeField,
    QuantityField,
    fixed_str,
)
from billspree.core.api_parsers import FormParser, MultiPartParser
from billspree.core.files import private_file_response
from billspree.core.limits import date_in_range, date_range_message
from billspree.core.models import Role
from billspree.core.pagination import Pagination
from billspree.core.timefmt import api_instant
from meters.models import Meter
from readings import api_batch as batch
from readings import selectors, services
from readings.models import DailyConsumption, Quality, Reading, Source, Upload
from readings.parsing import parse_instant


class ReadingItemSerializer(serializers.Serializer):
    """Documentation of one item; items are validated by the ingestion service."""

    meterNumber = serializers.CharField()  # noqa: N815 - the API's published field names
    readAt = serializers.CharField(help_text="ISO 8601; without offset: the property's time zone.")  # noqa: N815
    value = serializers.CharField(
        help_text='Register value, e.g. "1234.5" (decimal comma accepted).'
    )
    quality = serializers.ChoiceField(choices=["actual", "estimated", "corrected"], required=False)


def _meter_from_query(request: Request) -> Meter:
    raw = request.query_params.get("meter") or request.query_params.get("meterNumber") or ""
    if not raw:
        raise ValidationError({"meter": ["Give ?meter=<meter id or meterNumber>."]})
    try:
        lookup = {"public_id": uuid.UUID(raw)}
    except ValueError:
        lookup = {"serial_number": raw}
    meter = Meter.objects.filter(**lookup).first()
    if meter is None:
        raise ValidationError({"meter": [f"No meter {raw!r} in this organization."]})
    return meter


def _meter_zone(request: Request, meter: Meter):
    """Plain dates in a query are local midnights of the meter's property (as reading upload
    and invoices read them), the organization's zone only for a meter never assigned."""
    from readings.rollups import meter_zones

    return meter_zones([meter.id], request.organization.time_zone).get(
        meter.id, request.organization.time_zone)


def _instant(request: Request, name: str, meter_tz) -> datetime | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        value, why = parse_instant(raw, meter_tz)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-12:00 is past datetime.max in UTC
        value, why = None, date_range_message()
    if value is not None and not date_in_range(value):
        why = date_range_message()
    if why:
        raise ValidationError({name: [why]})
    return value


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
        meter = _meter_from_query(request)
        tz = _meter_zone(request, meter)
        qs = selectors.readings_for_meter(
            meter=meter, start=_instant(request, "from", tz), end=_instant(request, "to", tz)
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


class ConsumptionReadingSerializer(serializers.Serializer):
    read_at = BoundedDateTimeField()
    value = serializers.CharField(help_text="The register value as stored.")


class ConsumptionBoundarySerializer(serializers.Serializer):
    at = BoundedDateTimeField()
    value = serializers.CharField(help_text="The register value used at this boundary.")
    basis = serializers.ChoiceField(choices=["read", "interpolated", "estimated"])
    readings = ConsumptionReadingSerializer(many=True, help_text="The readings it came from.")


class ConsumptionSegmentSerializer(serializers.Serializer):
    """One meter segment: (end − start) × multiplier = quantity, as on the invoice line."""

    to = BoundedDateTimeField()
    quantity = serializers.CharField(allow_null=True)
    multiplier = serializers.CharField()
    estimated = serializers.BooleanField()
    start = ConsumptionBoundarySerializer(allow_null=True)
    end = ConsumptionBoundarySerializer(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        return {"from": BoundedDateTimeField(), **fields}


class ConsumptionSerializer(serializers.Serializer):
    """OpenAPI of ``GET readings/consumption/``."""

    meter = serializers.UUIDField()
    meterNumber = serializers.CharField()  # noqa: N815
    to = BoundedDateTimeField(help_text="End (exclusive).")
    quantity = QuantityField(allow_null=True, help_text="Consumption × multiplier, 4 decimal "
                             "places; null when it cannot be measured or estimated.")
    unit = serializers.CharField()
    estimated = serializers.BooleanField(help_text="A boundary value was interpolated or "
                                         "estimated.")
    missing = serializers.BooleanField()
    notes = serializers.ListField(child=serializers.CharField())
    segments = ConsumptionSegmentSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        return {"from": BoundedDateTimeField(help_text="Start."), **fields}


class ConsumptionChartRowSerializer(serializers.Serializer):
    day = BoundedDateField(required=False, help_text="The local day (interval=day).")
    month = BoundedDateField(required=False, help_text="First day of the month "
                                  "(interval=month).")
    quantity = QuantityField()


class ConsumptionChartSerializer(serializers.Serializer):
    """OpenAPI of ``GET readings/consumption/chart/``."""

    meter = serializers.UUIDField()
    meterNumber = serializers.CharField()  # noqa: N815
    interval = serializers.ChoiceField(choices=["day", "month"])
    unit = serializers.CharField()
    results = ConsumptionChartRowSerializer(many=True)


class ConsumptionView(OrganizationAPIView):
    """What a meter consumed over [from, to): interpolated, with estimation flagged."""

    @extend_schema(
        parameters=[
            OpenApiParameter("meter", str, required=True),
            OpenApiParameter("from", str, required=True, description="Start (inclusive), "
                             "ISO date or timestamp; a plain date is midnight in the meter's "
                             "property time zone, as invoice periods are"),
            OpenApiParameter("to", str, required=True, description="End (exclusive), as "
                             "``from``"),
        ],
        responses=ConsumptionSerializer,
    )
    def get(self, request: Request) -> Response:
        meter = _meter_from_query(request)
        tz = _meter_zone(request, meter)
        start, end = _instant(request, "from", tz), _instant(request, "to", tz)
        if start is None or end is None or end <= start:
            raise ValidationError({"to": ["Give ?from= and a later ?to=."]})
        c = selectors.meter_consumption(meter_ids=[meter.id], start=start, end=end)[meter.id]
        return Response(
            {
                "meter": str(meter.public_id),
                "meterNumber": meter.serial_number,
                "from": api_instant(start),
                "to": api_instant(end),
                "quantity": None if c.quantity is None else fixed_str(c.quantity, QUANTITY_PLACES),
                "unit": meter.unit,
                "estimated": c.flagged,
                "missing": c.missing,
                "notes": c.notes,
                "segments": [_segment_payload(part, meter) for part in c.parts],
            }
        )


def _boundary_payload(b) -> dict | None:
    if b is None:
        return None
    return {"at": api_instant(b.at), "value": f"{b.value:f}", "basis": b.basis,
            "readings": [{"read_at": api_instant(p.at), "value": f"{p.value:f}"}
                         for p in b.sources]}


def _segment_payload(part, meter) -> dict:
    """One meter segment: start and end values used, the readings behind them, so that
    (end − start) × multiplier = quantity (the same trace as the invoice line)."""
    return {"from": api_instant(part.start), "to": api_instant(part.end),
            "quantity": None if part.quantity is None else str(part.quantity),
            "multiplier": f"{meter.multiplier:f}", "estimated": part.flagged,
            "start": _boundary_payload(part.first), "end": _boundary_payload(part.last)}


class ConsumptionChartView(OrganizationAPIView):
    """A meter's daily or monthly consumption from the rollups (complete local days only)."""

    queryset = DailyConsumption.objects.all()

    @extend_schema(
        parameters=[
            OpenApiParameter("meter", str, required=True, description="Meter id or meterNumber"),
            OpenApiParameter("interval", str, enum=["day", "month"], description="Default day"),
            OpenApiParameter("from", str, description="First local date (YYYY-MM-DD)"),
            OpenApiParameter("to", str, description="Last local date, inclusive"),
        ],
        responses=ConsumptionChartSerializer,
    )
    def get(self, request: Request) -> Response:
        meter = _meter_from_query(request)
        interval = request.query_params.get("interval", "day")
        if interval not in ("day", "month"):
            raise ValidationError({"interval": ["Use day or month."]})
        first, last = _date(request, "from"), _date(request, "to")
        rows = selectors.consumption_rollup(meter=meter, interval=interval, first=first, last=last)
        return Response(
            {
                "meter": str(meter.public_id),
                "meterNumber": meter.serial_number,
                "interval": interval,
                "unit": meter.unit,
                "results": [{interval: d.isoformat(), "quantity": fixed_str(q, QUANTITY_PLACES)}
                            for d, q in rows],
            }
        )


def _date(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: [f"Not a date (YYYY-MM-DD): {raw!r}."]}) from None
    if not date_in_range(day):
        raise ValidationError({name: [date_range_message()]})
    return day


class UploadSerializer(OrganizationModelSerializer):
    progress = serializers.IntegerField(source="progress_percent", read_only=True)
    #: What the import changed in billing, in the words of ``POST readings/`` (empty until done).
    affects_invoices = batch.AffectsInvoicesField(source="impacts", read_only=True)

    class Meta:
        model = Upload
        fields = [
            "id",
            "source",
            "status",
            "filename",
            "replace",
            "all_or_nothing",
            "rows_total",
            "rows_done",
            "progress",
            "created_count",
            "unchanged_count",
            "replaced_count",
            "anomaly_count",
            "error_count",
            "errors",
            "failure",
            "affects_invoices",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class UploadCreateSerializer(serializers.Serializer):
    file = serializers.FileField()
    replace = serializers.BooleanField(default=False)
    all_or_nothing = serializers.BooleanField(default=True)


class UploadViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, OrganizationViewSet
):
    """CSV uploads: ``POST`` a file (processed in the background), poll its status."""

    queryset = Upload.objects.select_related("created_by", "api_key")
    serializer_class = UploadSerializer
    parser_classes = [MultiPartParser, FormParser]
    write_role = Role.OPERATOR
    filterset_fields = ["status", "source"]
    ordering_fields = ["created_at"]

    @extend_schema(
        request=UploadCreateSerializer, responses={202: UploadSerializer},
        description=(
            "Upload a CSV of readings, imported in the background (poll the upload). Columns "
            "``meterNumber, readAt, value[, quality]``, ``,`` or ``;`` separated, decimal "
            "comma accepted; ``GET /api/v1/readings/uploads/template/`` gives a template "
            "with one example row. ``readAt`` is ISO 8601 (``2026-12-03``, "
            "``2026-12-03T14:00:00+01:00``) or the local form of the meter's property: "
            "``03.12.2026`` or ``3.12.2026 14:00`` (day.month.year), ``3/12/2026`` "
            "(day/month/year; month/day/year for properties in US time zones), always with "
            "a four-digit year; without an offset, local to the property's time zone. The "
            "JSON batch (``POST /api/v1/readings/``) takes ISO 8601 only."
        ),
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        form = UploadCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = services.upload_create(**form.validated_data, **self.audit_kwargs())
        upload.refresh_from_db()
        return Response(UploadSerializer(upload).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=False, methods=["get"], url_path="template", url_name="template")
    def template(self, request: Request) -> HttpResponse:
        """A CSV template: the header and one example row (a meter of the organization)."""
        body = selectors.upload_template_csv(
            default_tz=ZoneInfo(str(request.organization.time_zone)), now=timezone.now()
        )
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="readings-template.csv"'
        return response

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=True, methods=["get"], url_path="file", url_name="file")
    def original_file(self, request: Request, id: str | None = None) -> HttpResponse:
        """The CSV as it was sent (private storage; 404 for an upload without a file)."""
        upload = self.get_object()
        return private_file_response(
            upload.file, filename=upload.filename or f"upload-{upload.public_id}.csv",
            content_type="text/csv",
        )

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=True, methods=["get"], url_path="errors.csv")
    def errors_csv(self, request: Request, id: str | None = None) -> HttpResponse:
        upload = self.get_object()
        response = HttpResponse(services.upload_error_csv(upload=upload), content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="upload-{upload.public_id}-errors.csv"'
        )
        return response
