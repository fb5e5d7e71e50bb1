"""``GET /api/v1/reports/energy/``: the energy report (thin: parse, select, shape)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import OrganizationAPIView
from billspree.core.api_fields import QUANTITY_PLACES, BoundedDateField, QuantityField, fixed_str
from billspree.core.timefmt import api_instant
from meters.models import MeterType
from monitoring.params import report_params
from monitoring.selectors import GROUPS, energy_report
from monitoring.selectors.energy import Ref, row_instant


class EnergyRowSerializer(serializers.Serializer):
    """One group: a key per ``group_by`` entry (``property``/``billing_point``/``meter`` as
    ``{id, name}``, ``month``/``day`` as local dates, ``hour`` as an instant), the unit and
    the quantity."""

    keys = serializers.DictField(help_text="The group's keys, by group_by name.")
    unit = serializers.CharField()
    quantity = QuantityField()


class CostRowSerializer(serializers.Serializer):
    keys = serializers.DictField()
    currency = serializers.CharField()
    amount = serializers.CharField(help_text="Net amount of issued invoices less credit notes.")


class TotalSerializer(serializers.Serializer):
    unit = serializers.CharField()
    quantity = QuantityField()


class CostTotalSerializer(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.CharField()


class NettedMeterSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    serial_number = serializers.CharField()


class NettingGapSerializer(serializers.Serializer):
    """Days a main meter was netted of less than all its sub-meters: the sub-meter (connected
    then) has no consumption yet, so the main meter's remainder (its billing point's common
    use and losses) still holds that sub-meter's use there."""

    main_meter = NettedMeterSerializer()
    sub_meter = NettedMeterSerializer()
    to = serializers.DateField()
    days = serializers.IntegerField()

    def get_fields(self):
        return {"from": serializers.DateField(), **super().get_fields()}


class EnergyReportSerializer(serializers.Serializer):
    """OpenAPI of ``GET reports/energy/``."""

    to = BoundedDateField(help_text="Last local day, inclusive.")
    group_by = serializers.ListField(child=serializers.ChoiceField(choices=GROUPS))
    grain = serializers.ChoiceField(choices=["hour", "day", "month"],
                                    help_text="The rollup the rows were summed from.")
    rows = EnergyRowSerializer(many=True)
    totals = TotalSerializer(many=True)
    costs = CostRowSerializer(many=True, allow_null=True, help_text="Null when grouped by "
                              "meter, day or hour: costs are per invoice, billing point, "
                              "meter type and month.")
    cost_totals = CostTotalSerializer(many=True)
    incomplete = NettingGapSerializer(many=True, help_text="Empty when grouped by meter.")

    def get_fields(self):
        return {"from": BoundedDateField(help_text="First local day."), **super().get_fields()}


class EnergyReportView(OrganizationAPIView):
    """Consumption (from the rollups: complete local days) and cost (from issued invoices)
    over [from, to], grouped and filtered."""

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True,
                             description="First local day (YYYY-MM-DD) in each property's "
                                         "time zone"),
            OpenApiParameter("to", OpenApiTypes.DATE, required=True,
                             description="Last local day, inclusive"),
            OpenApiParameter("group_by", str, description="Comma-separated, any of "
                             + ", ".join(GROUPS) + "; hour covers at most 366 days"),
            OpenApiParameter("property", str, description="Property id"),
            OpenApiParameter("billing_point", str, description="Billing point id"),
            OpenApiParameter("meter", str, description="Meter id"),
            OpenApiParameter("meter_type", str, enum=MeterType.values),
        ],
        responses=EnergyReportSerializer,
    )
    def get(self, request: Request) -> Response:
        report = energy_report(**report_params(request.query_params))
        return Response({
            "from": report.first.isoformat(), "to": report.last.isoformat(),
            "group_by": list(report.group_by), "grain": report.grain,
            "rows": [{"keys": _keys(r.keys), "unit": r.unit,
                      "quantity": fixed_str(r.quantity, QUANTITY_PLACES)} for r in report.rows],
            "totals": [{"unit": u, "quantity": fixed_str(q, QUANTITY_PLACES)}
                       for u, q in report.totals.items()],
            "costs": None if report.costs is None else [
                {"keys": _keys(c.keys), "currency": c.currency, "amount": fixed_str(c.amount, 2)}
                for c in report.costs],
            "cost_totals": [{"currency": c, "amount": fixed_str(a, 2)}
                            for c, a in report.cost_totals.items()],
            "incomplete": [{"main_meter": {"id": g.main_id, "serial_number": g.main_serial},
                            "sub_meter": {"id": g.sub_id, "serial_number": g.sub_serial},
                            "from": g.first.isoformat(), "to": g.last.isoformat(),
                            "days": g.days} for g in report.incomplete],
        })


def _keys(keys: dict) -> dict:
    out = {}
    for name, value in keys.items():
        if isinstance(value, Ref):
            out[name] = {"id": value.id, "name": value.name}
        elif row_instant(value):
            out[name] = api_instant(value)
        else:
            out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out
