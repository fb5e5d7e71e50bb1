"""``GET /api/v1/monitoring/dashboard/``: the energy dashboard of the organization or of one
property (thin: parse, select, shape)."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import OrganizationAPIView
from billspree.core.api_fields import QUANTITY_PLACES, QuantityField, fixed_str, money_str
from billspree.core.timefmt import api_instant
from monitoring.dashboard_params import dashboard_params
from monitoring.selectors.dashboard import PERIODS, Dashboard, energy_dashboard


class DashboardRefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class PeriodSerializer(serializers.Serializer):
    first = serializers.DateField(help_text="First local day of the month.")
    last = serializers.DateField(help_text="Last local day of the month.")
    so_far = serializers.BooleanField(help_text="The month holds today: its values are the "
                                      "complete days up to the latest readings.")


class PeriodsSerializer(serializers.Serializer):
    this_month = PeriodSerializer()
    last_month = PeriodSerializer()
    same_month_last_year = PeriodSerializer()


class QuantitiesSerializer(serializers.Serializer):
    this_month = QuantityField(allow_null=True)
    last_month = QuantityField(allow_null=True)
    same_month_last_year = QuantityField(allow_null=True)


class AmountsSerializer(serializers.Serializer):
    this_month = serializers.CharField(allow_null=True)
    last_month = serializers.CharField(allow_null=True)
    same_month_last_year = serializers.CharField(allow_null=True)


class TypeSerializer(serializers.Serializer):
    meter_type = serializers.CharField()
    unit = serializers.CharField()
    quantities = QuantitiesSerializer()
    months = serializers.ListField(child=QuantityField(allow_null=True),
                                   help_text="One per chart_months entry (null: no data).")
    year_earlier = serializers.ListField(child=QuantityField(allow_null=True),
                                         help_text="The same months a year earlier.")


class CostSerializer(serializers.Serializer):
    meter_type = serializers.CharField(allow_null=True, help_text='"" for standing charges '
                                       "and add-ons; null for the currency's total.")
    currency = serializers.CharField()
    amounts = AmountsSerializer(help_text="Net amounts with the currency's decimal places.")


class ConsumerSerializer(serializers.Serializer):
    property = DashboardRefSerializer()
    billing_point = DashboardRefSerializer()
    meter_type = serializers.CharField()
    unit = serializers.CharField()
    quantity = QuantityField()
    area_m2 = serializers.CharField(allow_null=True)
    intensity = QuantityField(allow_null=True, help_text="quantity / area_m2 (unit per m²).")


class IntensitySerializer(serializers.Serializer):
    meter_type = serializers.CharField()
    unit = serializers.CharField()
    quantity = QuantityField()
    area_m2 = serializers.CharField()
    value = QuantityField(help_text="quantity / area_m2 (unit per m²).")
    billing_points = serializers.IntegerField()


class QuietMeterSerializer(serializers.Serializer):
    meter = DashboardRefSerializer(help_text="Public id and serial number.")
    label = serializers.CharField(allow_blank=True)
    meter_type = serializers.CharField()
    property = DashboardRefSerializer()
    billing_point = DashboardRefSerializer()
    last_read_at = serializers.DateTimeField(allow_null=True)
    level = serializers.ChoiceField(choices=["amber", "red"],
                                    help_text="amber: not read for 24 h; red: 72 h or never.")


class MetersSerializer(serializers.Serializer):
    active = serializers.IntegerField()
    amber = serializers.IntegerField()
    red = serializers.IntegerField()
    quiet = QuietMeterSerializer(many=True, help_text="The 50 stalest, never-read first.")


class DashboardSerializer(serializers.Serializer):
    """OpenAPI of ``GET monitoring/dashboard/``."""

    property = DashboardRefSerializer(allow_null=True)
    month = serializers.DateField(help_text="First day of this month.")
    today = serializers.DateField()
    time_zone = serializers.CharField()
    periods = PeriodsSerializer()
    chart_months = serializers.ListField(child=serializers.DateField())
    types = TypeSerializer(many=True)
    costs = CostSerializer(many=True)
    top = ConsumerSerializer(many=True, help_text="Up to 10 billing points per meter type and "
                             "unit, this month, most first.")
    intensity = IntensitySerializer(many=True)
    meters = MetersSerializer()


class DashboardView(OrganizationAPIView):
    """Consumption per meter type this month (so far), last month and the same month last
    year; cost for the same months from issued invoices; top consumers and use per m² this
    month; active meters not read for 24 h (amber) or 72 h (red)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("property", str, description="Property id (default: the whole "
                             "organization)"),
            OpenApiParameter("month", str, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM "
                             "(default: the month of today in the property's time zone)"),
        ],
        responses=DashboardSerializer,
    )
    def get(self, request: Request) -> Response:
        return Response(dashboard_json(energy_dashboard(**dashboard_params(request.query_params))))


def _q(value: Decimal | None) -> str | None:
    return None if value is None else fixed_str(value, QUANTITY_PLACES)


def _ref(ref) -> dict | None:
    return None if ref is None else {"id": ref.id, "name": ref.name}


def dashboard_json(dash: Dashboard) -> dict:
    return {
        "property": _ref(dash.property),
        "month": dash.month.isoformat(), "today": dash.today.isoformat(),
        "time_zone": dash.time_zone,
        "periods": {k: {"first": p.first.isoformat(), "last": p.last.isoformat(),
                        "so_far": p.so_far} for k, p in dash.periods.items()},
        "chart_months": [m.isoformat() for m in dash.chart_months],
        "types": [{"meter_type": t.meter_type, "unit": t.unit,
                   "quantities": {k: _q(t.quantities[k]) for k in PERIODS},
                   "months": [_q(v) for v in t.months],
                   "year_earlier": [_q(v) for v in t.earlier]} for t in dash.types],
        "costs": [{"meter_type": c.meter_type, "currency": c.currency,
                   "amounts": {k: money_str(c.amounts[k], c.currency) for k in PERIODS}}
                  for c in dash.costs],
        "top": [{"property": _ref(c.property), "billing_point": _ref(c.billing_point),
                 "meter_type": c.meter_type, "unit": c.unit, "quantity": _q(c.quantity),
                 "area_m2": None if c.area_m2 is None else fixed_str(c.area_m2, 2),
                 "intensity": _q(c.intensity)}
                for rows in dash.top.values() for c in rows],
        "intensity": [{"meter_type": i.meter_type, "unit": i.unit, "quantity": _q(i.quantity),
                       "area_m2": fixed_str(i.area_m2, 2), "value": _q(i.value),
                       "billing_points": i.points} for i in dash.intensity],
        "meters": {"active": dash.active_meters, "amber": dash.amber, "red": dash.red,
                   "quiet": [{"meter": _ref(q.meter), "label": q.label,
                              "meter_type": q.meter_type, "property": _ref(q.property),
                              "billing_point": _ref(q.billing_point),
                              "last_read_at": api_instant(q.last_read_at), "level": q.level}
                             for q in dash.quiet]},
    }
