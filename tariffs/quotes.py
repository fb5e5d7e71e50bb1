"""Quote input parsing and output shaping, shared by the API and the portal's "try it" form."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rest_framework import serializers

from billspree.core.api_base import PublicIdRelatedField
from billspree.core.api_fields import BoundedDateField, BoundedDateTimeField
from meters.models import BillingPoint, MeterType
from tariffs import pricing
from tariffs.selectors import QuoteRequest
from tariffs.templatetags.tariffs_tags import plain

MAX_DAYS = 400
MAX_INTERVALS = 50_000


class IntervalSerializer(serializers.Serializer):
    start = BoundedDateTimeField()
    end = BoundedDateTimeField()
    quantity = serializers.DecimalField(max_digits=20, decimal_places=6, min_value=Decimal(0))


class QuoteInputSerializer(serializers.Serializer):
    start = BoundedDateField(help_text="First day priced (property time zone).")
    end = BoundedDateField(help_text="Day after the last day priced (exclusive).")
    time_zone = serializers.CharField(
        required=False, help_text="Time zone of the period and of time-of-use bands; "
        "defaults to the organization's."
    )
    billing_period_start = BoundedDateField(required=False)
    billing_period_end = BoundedDateField(
        required=False, help_text="The full billing cycle the period belongs to (exclusive "
        "end). Tier limits, allowance and minimum charge are per billing period, prorated by "
        "days; without it the period itself is the billing period."
    )
    quantities = serializers.DictField(
        child=serializers.DecimalField(max_digits=20, decimal_places=6, min_value=Decimal(0)),
        required=False, help_text='Total consumption per meter type, e.g. {"electricity": "350"}.',
    )
    intervals = serializers.DictField(
        child=IntervalSerializer(many=True), required=False,
        help_text="Interval data per meter type (needed by time-of-use rules).",
    )
    billing_point = PublicIdRelatedField(
        queryset=BillingPoint.objects.select_related("property"), required=False,
        help_text="Optional: use this billing point's property time zone.",
    )

    def validate_time_zone(self, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise serializers.ValidationError(f"Unknown time zone '{value}'.") from exc
        return value

    def _meter_types(self, mapping: dict, field: str) -> None:
        bad = sorted(set(mapping) - set(MeterType.values))
        if bad:
            raise serializers.ValidationError({field: [
                f"Unknown meter type {', '.join(bad)}; use {', '.join(MeterType.values)}."
            ]})

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] <= attrs["start"]:
            raise serializers.ValidationError({"end": ["Must be after start."]})
        if (attrs["end"] - attrs["start"]).days > MAX_DAYS:
            raise serializers.ValidationError({"end": [f"Quote at most {MAX_DAYS} days."]})
        has_start, has_end = "billing_period_start" in attrs, "billing_period_end" in attrs
        if has_start != has_end:
            missing = "billing_period_end" if has_start else "billing_period_start"
            raise serializers.ValidationError({missing: ["Give both ends of the billing period."]})
        if has_start and attrs["billing_period_end"] <= attrs["billing_period_start"]:
            raise serializers.ValidationError({"billing_period_end": ["Must be after its start."]})
        self._meter_types(attrs.get("quantities", {}), "quantities")
        self._meter_types(attrs.get("intervals", {}), "intervals")
        for rows in attrs.get("intervals", {}).values():
            if len(rows) > MAX_INTERVALS:
                raise serializers.ValidationError({"intervals": [
                    f"At most {MAX_INTERVALS} intervals per meter type."
                ]})
            for n, row in enumerate(rows, start=1):
                if row["end"] <= row["start"]:
                    raise serializers.ValidationError({"intervals": [
                        f"Row {n}: end must be after start."
                    ]})
            ordered = sorted(rows, key=lambda r: r["start"])
            for a, b in zip(ordered, ordered[1:], strict=False):
                if b["start"] < a["end"]:
                    raise serializers.ValidationError({"intervals": [
                        f"Intervals overlap: {a['start']:%Y-%m-%d %H:%M} – {a['end']:%H:%M} and "
                        f"one starting {b['start']:%Y-%m-%d %H:%M}; each unit counts once."
                    ]})
        if not attrs.get("quantities") and not attrs.get("intervals"):
            attrs["quantities"] = {}
        return attrs

    def to_request(self) -> QuoteRequest:
        data = self.validated_data
        request = self.context.get("request")
        default_tz = str(getattr(getattr(request, "organization", None), "time_zone", "UTC"))
        if data.get("billing_point") is not None:
            default_tz = str(data["billing_point"].property.time_zone)
        return QuoteRequest(
            start=data["start"], end=data["end"], time_zone=data.get("time_zone") or default_tz,
            totals=dict(data.get("quantities", {})),
            intervals={
                t: tuple(pricing.Interval(r["start"], r["end"], r["quantity"]) for r in rows)
                for t, rows in data.get("intervals", {}).items()
            },
            billing_start=data.get("billing_period_start"),
            billing_end=data.get("billing_period_end"),
        )


class QuoteLineSerializer(serializers.Serializer):
    rule = serializers.CharField()
    description = serializers.CharField()
    meter_type = serializers.CharField(help_text="Empty for fixed charges.")
    quantity = serializers.CharField()
    unit = serializers.CharField()
    unit_price = serializers.CharField()
    amount = serializers.CharField(help_text="Rounded once to the currency's minor unit.")
    tax_rate = serializers.CharField(help_text="VAT in percent.")
    tax = serializers.CharField()
    gross = serializers.CharField()


class TaxSummarySerializer(serializers.Serializer):
    rate = serializers.CharField()
    net = serializers.CharField()
    tax = serializers.CharField()


class DiagnosticSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="e.g. tou_no_interval_data, no_prices")
    severity = serializers.ChoiceField(choices=["error", "warning", "info"])
    message = serializers.CharField()
    rule = serializers.CharField()


class QuoteOutputSerializer(serializers.Serializer):
    """What ``POST rate-lists/{id}/quote/`` returns (amounts as decimal strings)."""

    currency = serializers.CharField()
    lines = QuoteLineSerializer(many=True)
    taxes = TaxSummarySerializer(many=True, help_text="Net and VAT per rate.")
    net = serializers.CharField()
    tax = serializers.CharField()
    gross = serializers.CharField()
    cash_rounding = serializers.CharField(allow_null=True)
    total = serializers.CharField(help_text="Sum of the rounded lines, VAT, cash rounding.")
    diagnostics = DiagnosticSerializer(many=True)
    can_bill = serializers.BooleanField(help_text="Lines exist and no error diagnostic.")


def _money(value) -> str | None:
    return None if value is None else str(value.amount)


def _qty(value: Decimal) -> str:
    return pricing.fmt_number(value, 4)


def quote_payload(quote: pricing.Quote) -> dict[str, Any]:
    return {
        "currency": quote.currency,
        "lines": [
            {
                "rule": line.rule, "description": line.description,
                "meter_type": line.meter_type, "quantity": _qty(line.quantity),
                "unit": line.unit, "unit_price": plain(line.unit_price),
                "amount": _money(line.amount), "tax_rate": plain(line.tax_rate),
                "tax": _money(line.tax), "gross": _money(line.gross),
            }
            for line in quote.lines
        ],
        "taxes": [
            {"rate": plain(t.rate), "net": _money(t.net), "tax": _money(t.tax)}
            for t in quote.taxes
        ],
        "net": _money(quote.net), "tax": _money(quote.tax), "gross": _money(quote.gross),
        "cash_rounding": _money(quote.cash_rounding), "total": _money(quote.total),
        "diagnostics": [
            {"code": d.code, "severity": d.severity, "message": d.message, "rule": d.rule}
            for d in quote.diagnostics
        ],
        "can_bill": quote.can_bill,
    }


def last_day(end_exclusive) -> Any:
    return end_exclusive - timedelta(days=1)
