"""``GET /api/v1/monitoring/meter-readings/``: scheduled meter reading (thin: parse,
select, shape)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import OrganizationAPIView
from billspree.core.api_fields import QUANTITY_PLACES, BoundedDateField, QuantityField, fixed_str
from billspree.core.timefmt import api_instant
from monitoring.params_meter_readings import meter_readings_params
from monitoring.selectors.meter_readings import BASES, EVERY, METER_QUANTITIES, meter_readings


class MeterReadingRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class MeasuredSerializer(serializers.Serializer):
    value = serializers.FloatField(allow_null=True, help_text="Null: no measurement within "
                                   "the tolerance before the time point.")
    measured_at = serializers.DateTimeField(allow_null=True)
    unit = serializers.CharField(allow_blank=True)


class MeterReadingRowSerializer(serializers.Serializer):
    meter = MeterReadingRefSerializer()
    billing_point = MeterReadingRefSerializer(allow_null=True)
    property = MeterReadingRefSerializer(allow_null=True)
    local_time = serializers.CharField(help_text="The wall-clock time as scheduled in the "
                                       "property's zone, e.g. '2026-10-31 24:00'.")
    time = serializers.DateTimeField(help_text="The instant it is (UTC).")
    utc_offset = serializers.CharField(help_text="The property's offset then, e.g. '+01:00'.")
    value = QuantityField(allow_null=True, help_text="The register as it reads; null: see "
                          "note.")
    unit = serializers.CharField()
    basis = serializers.ChoiceField(choices=BASES, allow_null=True)
    note = serializers.CharField(allow_blank=True)
    sources = serializers.ListField(child=serializers.DictField(), help_text="The readings "
                                    "the value came from: {read_at, value}.")
    measurements = serializers.DictField(child=MeasuredSerializer())


class MeterReadingsSerializer(serializers.Serializer):
    """OpenAPI of ``GET monitoring/meter-readings/``."""

    to = BoundedDateField()
    every = serializers.ChoiceField(choices=EVERY)
    at = serializers.CharField()
    measurements = serializers.ListField(child=serializers.ChoiceField(choices=METER_QUANTITIES))
    tolerance_minutes = serializers.IntegerField()
    rows = MeterReadingRowSerializer(many=True)

    def get_fields(self):
        return {"from": BoundedDateField(), **super().get_fields()}


class MeterReadingsView(OrganizationAPIView):
    """The register (and chosen measurements) of each selected meter at each local time
    point of a schedule: read, interpolated (as invoices compute a boundary) or estimated,
    or empty with the reason."""

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE,
                             description="First local day (YYYY-MM-DD); required unless "
                                         "every=list"),
            OpenApiParameter("to", OpenApiTypes.DATE,
                             description="Last local day, inclusive; required unless "
                                         "every=list"),
            OpenApiParameter("every", str, enum=list(EVERY), description="Default day"),
            OpenApiParameter("at", str, description="HH:MM local, for every=day (default "
                             "00:00)"),
            OpenApiParameter("times", str, description="For every=list: local times "
                             "YYYY-MM-DD HH:MM (or with T), comma-separated, at most 1000; "
                             "from/to then follow from them"),
            OpenApiParameter("property", str, description="Property id"),
            OpenApiParameter("billing_point", str, description="Billing point id"),
            OpenApiParameter("meter", str, description="Meter ids, comma-separated"),
            OpenApiParameter("measurements", str, description="Comma-separated, any of "
                             + ", ".join(METER_QUANTITIES)),
            OpenApiParameter("tolerance", int, description="Minutes a measurement may "
                             "precede the time point (default 15, at most 1440)"),
        ],
        responses=MeterReadingsSerializer,
    )
    def get(self, request: Request) -> Response:
        params = meter_readings_params(request.query_params)
        report = meter_readings(**params)
        return Response({
            "from": report.first.isoformat(), "to": report.last.isoformat(),
            "every": report.every, "at": f"{report.at:%H:%M}",
            "measurements": list(report.measurements),
            "tolerance_minutes": int(report.tolerance.total_seconds() // 60),
            "rows": [_row(r) for r in report.rows],
        })


def _ref(ref) -> dict | None:
    return None if ref is None else {"id": ref.id, "name": ref.name}


def _row(r) -> dict:
    offset = r.point.at.strftime("%z")
    return {
        "meter": _ref(r.meter), "billing_point": _ref(r.billing_point),
        "property": _ref(r.property), "local_time": r.point.label,
        "time": api_instant(r.point.at), "utc_offset": f"{offset[:3]}:{offset[3:]}",
        "value": None if r.value is None else fixed_str(r.value, QUANTITY_PLACES),
        "unit": r.unit, "basis": r.basis or None, "note": r.note,
        "sources": [{"read_at": api_instant(at), "value": fixed_str(v, QUANTITY_PLACES)}
                    for at, v in r.sources],
        "measurements": {q: {"value": m.value, "measured_at": api_instant(m.measured_at),
                             "unit": m.unit} for q, m in r.measurements.items()},
    }
