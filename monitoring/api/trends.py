"""``GET /api/v1/monitoring/trends/``: a selection's consumption over time, with a comparison
period (thin: parse, select, shape)."""

from __future__ import annotations

from datetime import date, datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import OrganizationAPIView
from billspree.core.api_fields import QUANTITY_PLACES, BoundedDateField, QuantityField, fixed_str
from billspree.core.timefmt import api_instant
from meters.models import MeterType
from monitoring.selectors.trends import COMPARISONS, RESOLUTIONS, trend
from monitoring.trend_params import trend_params


class TrendPointSerializer(serializers.Serializer):
    at = serializers.CharField(help_text="Start of the point: an instant (hour) or a local "
                                         "date (day; the 1st for a month).")
    quantity = QuantityField(allow_null=True, help_text="Null: no complete data.")
    compare_at = serializers.CharField(allow_null=True, help_text="The comparison point drawn "
                                       "against this one (null: none, e.g. 29 Feb).")
    compare_quantity = QuantityField(allow_null=True)
    change_percent = serializers.CharField(allow_null=True, help_text="(quantity − comparison)"
                                           " / comparison × 100, one decimal.")


class TrendSerializer(serializers.Serializer):
    """OpenAPI of ``GET monitoring/trends/``."""

    to = BoundedDateField(help_text="Last local day, inclusive.")
    resolution = serializers.ChoiceField(choices=RESOLUTIONS)
    compare = serializers.ChoiceField(choices=COMPARISONS)
    compare_from = BoundedDateField(allow_null=True)
    compare_to = BoundedDateField(allow_null=True)
    unit = serializers.CharField(help_text="Empty when the selection has no consumption.")
    zone = serializers.CharField(help_text="The time zone hours are shown in.")
    total = QuantityField(allow_null=True)
    compare_total = QuantityField(allow_null=True)
    change_percent = serializers.CharField(allow_null=True)
    points = TrendPointSerializer(many=True)

    def get_fields(self):
        return {"from": BoundedDateField(help_text="First local day."), **super().get_fields()}


def _at(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    return api_instant(value) if isinstance(value, datetime) else value.isoformat()


def _q(value) -> str | None:
    return None if value is None else fixed_str(value, QUANTITY_PLACES)


class TrendView(OrganizationAPIView):
    """Consumption (from the rollups: complete local days, the invoices' arithmetic) of the
    chosen meters, billing points and properties (none: all) per hour, day or month."""

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True,
                             description="First local day (YYYY-MM-DD)"),
            OpenApiParameter("to", OpenApiTypes.DATE, required=True,
                             description="Last local day, inclusive"),
            OpenApiParameter("resolution", str, enum=list(RESOLUTIONS),
                             description="Default day; hour covers at most 366 days"),
            OpenApiParameter("compare", str, enum=list(COMPARISONS), description="Default none"),
            OpenApiParameter("meter", str, description="Meter ids (repeat or comma-separate)"),
            OpenApiParameter("billing_point", str, description="Billing point ids"),
            OpenApiParameter("property", str, description="Property ids"),
            OpenApiParameter("meter_type", str, enum=MeterType.values,
                             description="Needed when the selection spans units"),
        ],
        responses=TrendSerializer,
    )
    def get(self, request: Request) -> Response:
        t = trend(**trend_params(request.query_params))
        return Response({
            "from": t.first.isoformat(), "to": t.last.isoformat(),
            "resolution": t.resolution, "compare": t.comparison,
            "compare_from": _at(t.compare_first), "compare_to": _at(t.compare_last),
            "unit": t.unit, "zone": str(t.zone), "total": _q(t.total),
            "compare_total": _q(t.compare_total),
            "change_percent": None if t.change_percent is None else str(t.change_percent),
            "points": [{"at": _at(p.at), "quantity": _q(p.quantity),
                        "compare_at": _at(p.compare_at),
                        "compare_quantity": _q(p.compare_quantity),
                        "change_percent": None if p.change_percent is None
                        else str(p.change_percent)} for p in t.points],
        })
