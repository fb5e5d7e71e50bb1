"""``/readings/consumption/`` and its chart: what a meter consumed, from the same engine
as invoices."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import OrganizationAPIView
from billspree.core.api_fields import (
    QUANTITY_PLACES,
    BoundedDateField,
    BoundedDateTimeField,
    QuantityField,
    fixed_str,
)
from billspree.core.limits import query_day
from billspree.core.timefmt import api_instant
from readings import selectors
from readings.api.query import instant_param, meter_from_query, meter_zone
from readings.models import DailyConsumption


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
        meter = meter_from_query(request)
        tz = meter_zone(request, meter)
        start, end = instant_param(request, "from", tz), instant_param(request, "to", tz)
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
        meter = meter_from_query(request)
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
    return query_day(request.query_params, name)
