"""``GET /api/v1/monitoring/load/`` and ``GET /api/v1/monitoring/extremes/`` (thin: parse,
select, shape). Numbers are decimal strings with fixed places (kW 3, % 1, h 2); measured
values of the extremum report are JSON numbers (doubles, as stored); instants are UTC."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import OrganizationAPIView
from billspree.core.api_fields import BoundedDateField, fixed_str
from billspree.core.timefmt import api_instant
from monitoring.load_params import extremes_params, load_params
from monitoring.selectors.extremes import extremes
from monitoring.selectors.load import load_analysis
from readings.measurements.models import Quantity


class LoadRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


def _fixed(places: int, help_text: str = "", **kwargs) -> serializers.CharField:
    return serializers.CharField(
        allow_null=True, help_text=help_text or f"Decimal string, {places} places; null: no "
        "data.", **kwargs)


class _Period(serializers.Serializer):
    def get_fields(self):
        return {"from": BoundedDateField(help_text="First local day."),
                "to": BoundedDateField(help_text="Last local day, inclusive."),
                **super().get_fields()}


class LoadDaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="Local day in the meter's property's time zone.")
    peak_kw = _fixed(3, "Largest active power of the day, kW (null: no measurement).")
    peak_at = serializers.DateTimeField(allow_null=True, help_text="When (the earliest if tied).")
    average_kw = _fixed(3, "The day's kWh (consumption rollup) / its 23, 24 or 25 hours.")
    peak_percent = _fixed(1, "Peak as % of the rated capacity (null: no capacity or no data).")
    hours_above = _fixed(2, "Hours above 80 % of the rated capacity (null: no capacity or "
                            "no data); see the interval rule in the docs.")


class LoadMeterSerializer(serializers.Serializer):
    meter = LoadRefSerializer()
    label = serializers.CharField(allow_blank=True)
    property = LoadRefSerializer(allow_null=True)
    time_zone = serializers.CharField()
    capacity_kw = _fixed(3, "Rated capacity, kW (null: not set).")
    days = LoadDaySerializer(many=True)


class LoadSerializer(_Period):
    """OpenAPI of ``GET monitoring/load/``."""

    meters = LoadMeterSerializer(many=True)


class ExtremeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["meter", "sensor"])
    device = LoadRefSerializer(help_text="Public id and serial number.")
    property = LoadRefSerializer(allow_null=True)
    time_zone = serializers.CharField()
    quantity = serializers.ChoiceField(choices=Quantity.values)
    unit = serializers.CharField(allow_blank=True)
    maximum = serializers.FloatField()
    max_at = serializers.DateTimeField(help_text="The earliest instant of the maximum.")
    minimum = serializers.FloatField()
    min_at = serializers.DateTimeField(help_text="The earliest instant of the minimum.")


class ExtremesSerializer(_Period):
    """OpenAPI of ``GET monitoring/extremes/``."""

    rows = ExtremeSerializer(many=True)


_PERIOD_PARAMS = [
    OpenApiParameter("from", OpenApiTypes.DATE, required=True,
                     description="First local day (YYYY-MM-DD) in each property's time zone"),
    OpenApiParameter("to", OpenApiTypes.DATE, required=True,
                     description="Last local day, inclusive"),
    OpenApiParameter("property", str, description="Property id"),
    OpenApiParameter("meter", str, description="Meter id"),
]


def _ref(ref) -> dict | None:
    return None if ref is None else {"id": ref.id, "name": ref.name}


def _opt(value, places: int) -> str | None:
    return None if value is None else fixed_str(value, places)


class LoadView(OrganizationAPIView):
    """Daily peak and average power of each circuit against its rated capacity, and the
    hours above 80 % of it, over [from, to]: one meter, or the electricity meters (of a
    property) with a capacity or active-power measurements."""

    @extend_schema(parameters=_PERIOD_PARAMS, responses=LoadSerializer)
    def get(self, request: Request) -> Response:
        report = load_analysis(**load_params(request.query_params))
        return Response({
            "from": report.first.isoformat(), "to": report.last.isoformat(),
            "meters": [{
                "meter": _ref(m.meter), "label": m.label, "property": _ref(m.property),
                "time_zone": m.zone.key, "capacity_kw": _opt(m.capacity_kw, 3),
                "days": [{"day": d.day.isoformat(), "peak_kw": _opt(d.peak_kw, 3),
                          "peak_at": api_instant(d.peak_at),
                          "average_kw": _opt(d.average_kw, 3),
                          "peak_percent": _opt(d.peak_percent, 1),
                          "hours_above": _opt(d.hours_above, 2)} for d in m.days],
            } for m in report.meters],
        })


class ExtremesView(OrganizationAPIView):
    """Maximum and minimum of each measured quantity of each meter and sensor over
    [from, to] (local days of each device's property), with the earliest instant of each."""

    @extend_schema(parameters=[
        *_PERIOD_PARAMS, OpenApiParameter("sensor", str, description="Sensor id"),
        OpenApiParameter("quantity", str, enum=Quantity.values)], responses=ExtremesSerializer)
    def get(self, request: Request) -> Response:
        report = extremes(**extremes_params(request.query_params))
        return Response({
            "from": report.first.isoformat(), "to": report.last.isoformat(),
            "rows": [{"kind": r.kind, "device": _ref(r.device), "property": _ref(r.property),
                      "time_zone": r.zone.key, "quantity": r.quantity, "unit": r.unit,
                      "maximum": r.maximum, "max_at": api_instant(r.max_at),
                      "minimum": r.minimum, "min_at": api_instant(r.min_at)}
                     for r in report.rows],
        })
