"""``GET /api/v1/monitoring/environment/``: every sensor's current temperature and humidity,
and, for the chosen sensors, their history over a period (thin: parse, select, shape)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import OrganizationAPIView
from billspree.core.timefmt import api_instant
from monitoring.env_params import environment_params
from monitoring.selectors.environment import (
    QUANTITIES,
    environment_now,
    measures,
    sensor_history,
)


class CurrentSerializer(serializers.Serializer):
    value = serializers.FloatField()
    measured_at = serializers.DateTimeField()
    age_seconds = serializers.IntegerField()
    stale = serializers.BooleanField(help_text="Older than one hour.")


class SensorNowSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    serial_number = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField()
    property = serializers.DictField(help_text="{id, name}")
    area = serializers.CharField(help_text="The sensor's area, else its billing point's name.")
    stale = serializers.BooleanField(help_text="No value, or a value older than one hour.")
    temperature = CurrentSerializer(allow_null=True)
    humidity = CurrentSerializer(allow_null=True)


class HistoryPointSerializer(serializers.Serializer):
    at = serializers.CharField(help_text="Start of the bin: an instant, or a local date.")
    min = serializers.FloatField()
    avg = serializers.FloatField()
    max = serializers.FloatField()
    samples = serializers.IntegerField()


class HistorySerializer(serializers.Serializer):
    sensor = serializers.UUIDField()
    quantity = serializers.ChoiceField(choices=QUANTITIES)
    unit = serializers.CharField()
    bin = serializers.CharField(help_text="15 min, 1 h, or day (local days)")
    points = HistoryPointSerializer(many=True)


class AreaValueSerializer(serializers.Serializer):
    mean = serializers.FloatField()
    min = serializers.FloatField()
    max = serializers.FloatField()
    sensors = serializers.IntegerField(help_text="Sensors with a fresh value (≤ 1 h old).")
    stale = serializers.IntegerField(help_text="Sensors whose value is stale: left out.")


class AreaSerializer(serializers.Serializer):
    property = serializers.DictField(help_text="{id, name}")
    name = serializers.CharField(help_text="The area (or the billing point's name; \"\": none).")
    sensors = serializers.ListField(child=serializers.UUIDField())
    temperature = AreaValueSerializer(allow_null=True)
    humidity = AreaValueSerializer(allow_null=True)


class EnvironmentSerializer(serializers.Serializer):
    sensors = SensorNowSerializer(many=True)
    areas = AreaSerializer(many=True, help_text="Each area's sensors and the mean and range "
                           "of their fresh values.")
    history = HistorySerializer(many=True)


def _area_value(v) -> dict | None:
    if v is None:
        return None
    return {"mean": round(v.mean, 3), "min": v.min, "max": v.max, "sensors": v.sensors,
            "stale": v.stale}


def _current(c) -> dict | None:
    if c is None:
        return None
    return {"value": c.value, "measured_at": api_instant(c.at),
            "age_seconds": int(c.age.total_seconds()), "stale": c.stale}


class EnvironmentView(OrganizationAPIView):
    """Current values of every environmental sensor; with ``sensor`` ids, their history
    over [from, to] (local days; default yesterday and today), raw and downsampled."""

    @extend_schema(
        parameters=[
            OpenApiParameter("sensor", str, description="Sensor ids (repeat or comma-separate) "
                                                        "whose history to include"),
            OpenApiParameter("quantity", str, enum=list(QUANTITIES)),
            OpenApiParameter("from", OpenApiTypes.DATE, description="First local day"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last local day, inclusive"),
        ],
        responses=EnvironmentSerializer,
    )
    def get(self, request: Request) -> Response:
        chosen = environment_params(request.query_params, now=timezone.now(),
                                    time_zone=request.organization.time_zone)
        sensors, areas = [], []
        for g in environment_now(now=timezone.now()):
            for a in g.areas:
                areas.append({
                    "property": {"id": str(g.property.public_id), "name": g.property.name},
                    "name": a.name, "sensors": [str(s.sensor.public_id) for s in a.sensors],
                    "temperature": _area_value(a.summary("temperature")),
                    "humidity": _area_value(a.summary("humidity"))})
                for s in a.sensors:
                    sensors.append({
                        "id": str(s.sensor.public_id), "serial_number": s.sensor.serial_number,
                        "label": s.sensor.label, "kind": s.sensor.kind,
                        "property": {"id": str(g.property.public_id), "name": g.property.name},
                        "area": a.name, "stale": s.stale,
                        "temperature": _current(s.values.get("temperature")),
                        "humidity": _current(s.values.get("humidity")),
                    })
        history = []
        for sensor in chosen["sensors"]:
            for quantity in filter(lambda q, s=sensor: measures(s, q), chosen["quantities"]):
                h = sensor_history(sensor=sensor, quantity=quantity, first=chosen["first"],
                                   last=chosen["last"])
                history.append({"sensor": str(sensor.public_id), "quantity": quantity,
                                "unit": h.unit, "bin": h.bin, "points": [
                                    {"at": api_instant(p.at) if isinstance(p.at, datetime)
                                     else p.at.isoformat(), "min": p.min, "avg": p.avg,
                                     "max": p.max, "samples": p.samples} for p in h.points]})
        return Response({"sensors": sensors, "areas": areas, "history": history})
