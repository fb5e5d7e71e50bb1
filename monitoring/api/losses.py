"""``GET /api/v1/monitoring/losses/``: every main meter against its sub-meters over a period;
with ``?main=<id>`` one main meter with its periods, sub-meters and allocation."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import OrganizationAPIView
from billspree.core.api_fields import QUANTITY_PLACES, BoundedDateField, fixed_str
from billspree.core.timefmt import api_instant
from monitoring.loss_params import loss_params
from monitoring.selectors.losses import GRAINS, MainLoss, loss_report


def _q(value) -> str | None:
    return None if value is None else fixed_str(value, QUANTITY_PLACES)


def _pct(value) -> str | None:
    return None if value is None else fixed_str(value, 1)


class MeterRefSerializer(serializers.Serializer):
    id = serializers.CharField()
    serial_number = serializers.CharField()
    label = serializers.CharField(allow_blank=True)


class LossPeriodSerializer(serializers.Serializer):
    period = serializers.CharField(help_text="A local date (day, month: its 1st) or an "
                                             "instant (hour).")
    main = serializers.CharField(allow_null=True)
    subs = serializers.CharField(allow_null=True, help_text="Null when incomplete.")
    loss = serializers.CharField(allow_null=True, help_text="Null when incomplete.")
    percent = serializers.CharField(allow_null=True)
    complete = serializers.BooleanField()
    missing = MeterRefSerializer(many=True, help_text="The meters lacking data.")


class SubMeterUseSerializer(serializers.Serializer):
    meter = MeterRefSerializer()
    quantity = serializers.CharField(help_text="In the complete periods.")
    billing_point = serializers.CharField()
    common_area = serializers.BooleanField()


class LossAllocationSerializer(serializers.Serializer):
    billing_point = serializers.CharField()
    billing_point_id = serializers.CharField()
    area_m2 = serializers.CharField(allow_null=True)
    consumption = serializers.CharField()
    by_area = serializers.CharField(allow_null=True)
    by_consumption = serializers.CharField(allow_null=True)
    equally = serializers.CharField()


class MainLossSerializer(serializers.Serializer):
    meter = MeterRefSerializer()
    property = serializers.CharField(allow_blank=True)
    unit = serializers.CharField()
    sub_count = serializers.IntegerField()
    main = serializers.CharField(help_text="Complete periods only.")
    subs = serializers.CharField()
    loss = serializers.CharField(allow_null=True)
    percent = serializers.CharField(allow_null=True)
    incomplete_periods = serializers.IntegerField()
    periods = LossPeriodSerializer(many=True, required=False)
    sub_meters = SubMeterUseSerializer(many=True, required=False)
    common_use = serializers.CharField(required=False)
    allocation = LossAllocationSerializer(many=True, required=False)


class LossReportSerializer(serializers.Serializer):
    to = BoundedDateField(help_text="Last local day, inclusive.")
    grain = serializers.ChoiceField(choices=GRAINS)
    mains = MainLossSerializer(many=True)

    def get_fields(self):
        return {"from": BoundedDateField(help_text="First local day."), **super().get_fields()}


def _ref(r) -> dict:
    return {"id": r.id, "serial_number": r.serial_number, "label": r.label}


def _main(m: MainLoss, detail: bool) -> dict:
    out = {"meter": _ref(m.meter), "property": m.property_name, "unit": m.unit,
           "sub_count": m.sub_count, "main": _q(m.main_total), "subs": _q(m.subs_total),
           "loss": _q(m.loss), "percent": _pct(m.percent),
           "incomplete_periods": m.incomplete_count}
    if detail:
        out["periods"] = [{
            "period": api_instant(p.key) if isinstance(p.key, datetime) else p.key.isoformat(),
            "main": _q(p.main), "subs": _q(p.subs) if p.complete else None,
            "loss": _q(p.loss), "percent": _pct(p.percent), "complete": p.complete,
            "missing": [_ref(r) for r in p.missing]} for p in m.periods]
        out["sub_meters"] = [{"meter": _ref(u.meter), "quantity": _q(u.quantity),
                              "billing_point": u.billing_point, "common_area": u.common_area}
                             for u in m.subs_use]
        out["common_use"] = _q(m.common_use)
        out["allocation"] = [{
            "billing_point": a.billing_point, "billing_point_id": a.billing_point_id,
            "area_m2": None if a.area_m2 is None else fixed_str(a.area_m2, 2),
            "consumption": _q(a.consumption), "by_area": _q(a.by_area),
            "by_consumption": _q(a.by_consumption), "equally": _q(a.equally)}
            for a in m.allocations]
    return out


class LossReportView(OrganizationAPIView):
    """Main meters against the sum of their sub-meters (from the consumption rollups),
    periods where a meter lacks data flagged incomplete and left out of the totals."""

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First local day "
                             "(with to; both absent: the previous month)"),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last local day, inclusive"),
            OpenApiParameter("grain", str, enum=list(GRAINS), description="hour covers at "
                             "most 92 days; default day"),
            OpenApiParameter("main", str, description="A main meter's id: its periods, "
                             "sub-meters and common-area allocation"),
        ],
        responses=LossReportSerializer,
    )
    def get(self, request: Request) -> Response:
        today = timezone.localdate(timezone=request.organization.time_zone)
        params = loss_params(request.query_params, today)
        detail = params["main_id"] is not None
        report = loss_report(**params, detail=detail)
        return Response({"from": report.first.isoformat(), "to": report.last.isoformat(),
                         "grain": report.grain,
                         "mains": [_main(m, detail) for m in report.mains]})
