"""REST endpoints of readings (thin: parse input, call a service or selector, shape output)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationViewSet,
)
from billspree.core.models import Role
from billspree.core.pagination import Pagination
from meters.models import Meter
from readings import selectors, services
from readings.models import DailyConsumption, Reading, Upload
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
    value, why = parse_instant(raw, meter_tz)
    if why:
        raise ValidationError({name: [why]})
    return value


def _reading_json(meter: Meter, r: Reading) -> dict:
    return {
        "meterNumber": meter.serial_number,
        "meter": str(meter.public_id),
        "readAt": r.read_at.isoformat(),
        "value": str(r.value),
        "source": r.source,
        "quality": r.quality,
        "anomaly": r.is_anomaly,
    }


class ReadingsView(OrganizationAPIView):
    """``POST`` a batch of up to 10,000 readings; ``GET`` one meter's readings in a period."""

    queryset = Reading.objects.all()
    write_role = Role.OPERATOR

    @extend_schema(
        parameters=[
            OpenApiParameter("meter", str, required=True, description="Meter id or meterNumber"),
            OpenApiParameter("from", str, description="Start (inclusive), ISO date or timestamp"
                             "; a plain date is midnight in the meter's property time zone"),
            OpenApiParameter("to", str, description="End (exclusive), as ``from``"),
        ],
        responses=inline_serializer("ReadingList", {"results": ReadingItemSerializer(many=True)}),
    )
    def get(self, request: Request) -> Response:
        meter = _meter_from_query(request)
        tz = _meter_zone(request, meter)
        qs = selectors.readings_for_meter(
            meter=meter, start=_instant(request, "from", tz), end=_instant(request, "to", tz)
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response([_reading_json(meter, r) for r in page])

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
            200: inline_serializer(
                "ReadingBatchResult",
                {"counts": serializers.DictField(), "results": serializers.ListField()},
            )
        },
    )
    def post(self, request: Request) -> Response:
        data = request.data
        items = data if isinstance(data, list) else data.get("readings")
        if not isinstance(items, list):
            raise ValidationError(
                {"readings": ['Send a JSON list of readings, or {"readings": [...]}.']}
            )
        options = data if isinstance(data, dict) else {}
        body, replayed = services.reading_batch_submit(
            items=items,
            idempotency_key=request.headers.get("Idempotency-Key", ""),
            replace=_flag(options.get("replace")),
            all_or_nothing=_flag(options.get("atomic")),
            **self.audit_kwargs(),
        )
        response = Response(body, status=status.HTTP_200_OK)
        if replayed:
            response["Idempotent-Replayed"] = "true"
        return response


def _flag(value) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes")


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
        responses=inline_serializer(
            "Consumption",
            {
                "quantity": serializers.CharField(allow_null=True),
                "estimated": serializers.BooleanField(
                    help_text="The start or the end value was interpolated between readings "
                    "far from it, or estimated after the last reading (as on invoices)."),
                "segments": inline_serializer("ConsumptionSegment", {
                    "from": serializers.CharField(), "to": serializers.CharField(),
                    "quantity": serializers.CharField(allow_null=True),
                    "multiplier": serializers.CharField(),
                    "estimated": serializers.BooleanField(),
                    "start": inline_serializer("ConsumptionBoundary", {
                        "at": serializers.CharField(), "value": serializers.CharField(),
                        "basis": serializers.CharField(help_text="read, interpolated or "
                                                       "estimated"),
                        "readings": serializers.ListField(child=serializers.DictField()),
                    }, allow_null=True),
                    "end": inline_serializer("ConsumptionBoundaryEnd", {
                        "at": serializers.CharField(), "value": serializers.CharField(),
                        "basis": serializers.CharField(),
                        "readings": serializers.ListField(child=serializers.DictField()),
                    }, allow_null=True),
                }, many=True),
            },
        ),
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
                "from": start.isoformat(),
                "to": end.isoformat(),
                "quantity": None if c.quantity is None else str(c.quantity),
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
    return {"at": b.at.isoformat(), "value": f"{b.value:f}", "basis": b.basis,
            "readings": [{"read_at": p.at.isoformat(), "value": f"{p.value:f}"}
                         for p in b.sources]}


def _segment_payload(part, meter) -> dict:
    """One meter segment: start and end values used, the readings behind them, so that
    (end − start) × multiplier = quantity (the same trace as the invoice line)."""
    return {"from": part.start.isoformat(), "to": part.end.isoformat(),
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
        responses=inline_serializer(
            "ConsumptionChart",
            {
                "interval": serializers.CharField(),
                "unit": serializers.CharField(),
                "results": serializers.ListField(),
            },
        ),
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
                "results": [{interval: d.isoformat(), "quantity": str(q)} for d, q in rows],
            }
        )


def _date(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError({name: [f"Not a date (YYYY-MM-DD): {raw!r}."]}) from None


class UploadSerializer(OrganizationModelSerializer):
    progress = serializers.IntegerField(source="progress_percent", read_only=True)

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

    @extend_schema(request=UploadCreateSerializer, responses={202: UploadSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        form = UploadCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = services.upload_create(**form.validated_data, **self.audit_kwargs())
        upload.refresh_from_db()
        return Response(UploadSerializer(upload).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "text/csv"): str})
    @action(detail=True, methods=["get"], url_path="errors.csv")
    def errors_csv(self, request: Request, id: str | None = None) -> HttpResponse:
        upload = self.get_object()
        response = HttpResponse(services.upload_error_csv(upload=upload), content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="upload-{upload.public_id}-errors.csv"'
        )
        return response
