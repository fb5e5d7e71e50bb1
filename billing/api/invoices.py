"""REST endpoints of invoices: reads, preview, and the actions on a draft or issued invoice
(thin: parse, call one service, shape the answer). Credit notes: ``billing.api.credit_notes``;
subscriptions: ``billing.api.subscriptions``."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiTypes, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from billing import services
from billing.api.filters import InvoiceFilter
from billing.engine import DraftInvoice, Preview
from billing.models import (
    Adjustment,
    Invoice,
    InvoiceLine,
    LineKind,
    Subscription,
)
from billing.selectors.totals import invoice_totals
from billspree.core.api_base import (
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationViewSet,
    PublicIdRelatedField,
)
from billspree.core.api_fields import (
    RATE_PLACES,
    UNIT_PRICE_PLACES,
    BoundedDateField,
    BoundedDateTimeField,
    MoneyField,
    QuantityField,
    money_str,
)

LINE_FIELDS = [
    "id", "position", "kind", "description", "quantity", "unit", "unit_price", "amount",
    "tax_rate", "tax_amount", "meter_type", "start_at", "end_at", "meter", "meter_serial",
    "meter_multiplier",
    "assignment", "start_read_at", "start_value", "end_read_at", "end_value", "estimated",
    "start_basis", "end_basis", "start_sources", "end_sources", "quantity_note",
    "adjustment", "adjusts_invoice",
]


class InvoiceLineSerializer(OrganizationModelSerializer):
    """A line; amounts in the invoice's currency (see billing/README.md, "Number formats")."""

    quantity = QuantityField()
    unit_price = QuantityField(places=UNIT_PRICE_PLACES)
    amount = MoneyField(currency_source="invoice.currency")
    tax_rate = QuantityField(places=RATE_PLACES)
    tax_amount = MoneyField(currency_source="invoice.currency")
    start_value = QuantityField(allow_null=True, help_text="Register value the quantity "
                                "starts from (4 decimal places).")
    end_value = QuantityField(allow_null=True, help_text="Register value the quantity ends "
                              "at (4 decimal places).")
    meter = serializers.UUIDField(source="meter.public_id", read_only=True, allow_null=True)
    meter_serial = serializers.CharField(source="meter.serial_number", read_only=True,
                                         allow_null=True)
    meter_multiplier = serializers.DecimalField(
        source="meter.multiplier", max_digits=12, decimal_places=4, read_only=True,
        allow_null=True, help_text="(end_value − start_value) × meter_multiplier = quantity "
        "(unless quantity_note says why not, e.g. a register rollover).",
    )
    assignment = serializers.UUIDField(source="assignment.public_id", read_only=True,
                                       allow_null=True)
    adjustment = serializers.UUIDField(source="adjustment.public_id", read_only=True,
                                       allow_null=True)
    adjusts_invoice = serializers.CharField(
        source="adjustment.original_invoice.number", read_only=True, allow_null=True,
        help_text="Adjustment lines: the issued invoice whose period they correct.")

    class Meta:
        model = InvoiceLine
        fields = LINE_FIELDS
        read_only_fields = LINE_FIELDS


class VatRowSerializer(serializers.Serializer):
    """One row of the VAT summary; ``currency`` comes from the context (the invoice's)."""

    rate = QuantityField(places=RATE_PLACES, help_text="VAT rate in percent, e.g. \"8.10\".")
    base = MoneyField(help_text="The net amount at this rate.")
    vat = MoneyField(help_text="VAT on the base, rounded once.")


def vat_rows(summary, currency: str) -> list[dict[str, Any]]:
    return VatRowSerializer(summary, many=True, context={"currency": currency}).data
class AdjustmentSerializer(OrganizationModelSerializer):
    """Late data about an issued period: a delta billed once on a later invoice (or
    credited)."""

    original_invoice = serializers.CharField(source="original_invoice.number", read_only=True)
    tenant = serializers.UUIDField(source="tenant.public_id", read_only=True)
    tenant_name = serializers.CharField(source="tenant.name", read_only=True)
    meter_serial = serializers.CharField(source="meter.serial_number", read_only=True,
                                         allow_null=True)
    invoice = serializers.UUIDField(source="invoice.public_id", read_only=True, allow_null=True)
    credit_note = serializers.CharField(source="credit_note.number", read_only=True,
                                        allow_null=True)
    status = serializers.CharField(read_only=True)
    quantity = QuantityField(read_only=True)
    unit_price = QuantityField(places=UNIT_PRICE_PLACES, read_only=True)
    amount = MoneyField(read_only=True, currency_source="original_invoice.currency")
    tax_rate = QuantityField(places=RATE_PLACES, read_only=True)
    tax_amount = MoneyField(read_only=True, currency_source="original_invoice.currency")
    start_value = QuantityField(read_only=True, allow_null=True)
    end_value = QuantityField(read_only=True, allow_null=True)

    class Meta:
        model = Adjustment
        fields = ["id", "status", "original_invoice", "tenant", "tenant_name", "period_start",
                  "period_end", "kind", "charge", "meter_serial", "quantity", "unit",
                  "unit_price", "amount", "tax_rate", "tax_amount", "start_read_at",
                  "start_value", "end_read_at", "end_value", "estimated", "reason", "invoice",
                  "credit_note", "created_at"]
        read_only_fields = fields


class InvoiceSerializer(OrganizationModelSerializer):
    tenant = serializers.UUIDField(source="tenant.public_id", read_only=True)
    tenant_name = serializers.CharField(source="tenant.name", read_only=True)
    billing_point = serializers.UUIDField(source="billing_point.public_id", read_only=True)
    subscription = serializers.UUIDField(source="subscription.public_id", read_only=True,
                                         allow_null=True)
    currency = serializers.CharField(read_only=True)
    vat_summary = serializers.SerializerMethodField(
        help_text="Per VAT rate: base (net at that rate), rate %, VAT on the base rounded "
        "once. The rows' VAT adds up to tax_total.",
    )
    net_total = MoneyField(read_only=True)
    tax_total = MoneyField(read_only=True)
    cash_rounding = MoneyField(read_only=True, help_text="Cash rounding of the gross total "
                               "to the organization's step for the currency (e.g. CHF 0.05), "
                               "outside net and VAT: net_total + tax_total + cash_rounding = "
                               "total.")
    total = MoneyField(read_only=True)
    lines = InvoiceLineSerializer(many=True, read_only=True)
    stale = serializers.BooleanField(source="is_stale", read_only=True, help_text=(
        "A draft whose readings, occupancy or meters changed after it was computed: it is "
        "refused at issue (409 invoice_stale) until recomputed (POST …/recompute/)."))
    adjustments = AdjustmentSerializer(many=True, read_only=True, help_text=(
        "Issued invoices: late data about this period, billed on a later invoice."))

    class Meta:
        model = Invoice
        fields = [
            "id", "number", "payment_reference", "status", "tenant", "tenant_name",
            "billing_point", "subscription",
            "period_start", "period_end", "currency", "net_total", "tax_total", "vat_summary",
            "cash_rounding", "total", "kind", "created_at", "issued_at", "paid_at", "voided_at",
            "stale", "stale_reason", "stale_at", "lines", "adjustments",
        ]
        read_only_fields = fields
        extra_kwargs = {"payment_reference": {"help_text": (
            "What the tenant quotes when paying (QR reference or ISO 11649 'RF…', no spaces), "
            "set when the invoice is issued; empty on drafts and older invoices.")}}

    @extend_schema_field(VatRowSerializer(many=True))
    def get_vat_summary(self, invoice: Invoice) -> list[dict[str, Any]]:
        return vat_rows(invoice_totals(invoice).vat_summary, str(invoice.currency))

    def to_representation(self, invoice: Invoice) -> dict[str, Any]:
        """net_total + tax_total + cash_rounding = total, also for invoices of before the
        cash_rounding amount (their cash-rounding line is read as the amount)."""
        data = super().to_representation(invoice)
        totals = invoice_totals(invoice)
        if totals.net != invoice.net_total:
            currency = str(invoice.currency)
            data["net_total"] = money_str(totals.net, currency)
            data["cash_rounding"] = money_str(totals.cash_rounding, currency)
        return data


class PeriodInputSerializer(serializers.Serializer):
    subscriptions = PublicIdRelatedField(queryset=Subscription.objects.all(), many=True,
                                         allow_empty=False)
    start = BoundedDateField(help_text="First day of the period (property time zone).")
    end = BoundedDateField(help_text="Day after the last day (exclusive).")


def invoices_queryset():
    lines = InvoiceLine.objects.select_related(
        "meter", "assignment", "adjustment__original_invoice").order_by("position", "pk")
    adjustments = Adjustment.objects.select_related(
        "original_invoice", "tenant", "meter", "invoice", "credit_note")
    invoices = Invoice.objects.select_related("tenant", "billing_point", "subscription")
    return invoices.prefetch_related(Prefetch("lines", queryset=lines),
                                     Prefetch("adjustments", queryset=adjustments))


class InvoiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationViewSet):
    """Invoices with their lines. ``POST`` creates drafts for subscriptions and a period
    (``{"subscriptions": [id], "start": "2026-09-01", "end": "2026-10-01"}``)."""

    queryset = invoices_queryset()
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter
    search_fields = ["number", "tenant__name", "billing_point__name"]
    ordering_fields = ["period_start", "issued_at", "total"]

    @extend_schema(request=PeriodInputSerializer, responses=InvoiceSerializer(many=True))
    def create(self, request: Request) -> Response:
        ser = PeriodInputSerializer(data=request.data, context={"request": request})
        ser.is_valid(raise_exception=True)
        created = services.invoice_create_draft(**ser.validated_data, **self.audit_kwargs())
        fresh = invoices_queryset().filter(pk__in=[i.pk for i in created])
        return Response(InvoiceSerializer(fresh, many=True).data, status=status.HTTP_201_CREATED)


class PreviewDiagnosticSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="e.g. already_invoiced, no_readings, no_rate")
    message = serializers.CharField()
    severity = serializers.ChoiceField(
        choices=["error", "warning", "info"],
        help_text="error: that invoice cannot be billed; warning: billed, check it.")


class PreviewTenantSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    email = serializers.CharField(allow_blank=True)


class InvoicePreviewLineSerializer(serializers.Serializer):
    """A line that would be created; the same formats as a stored line."""

    kind = serializers.ChoiceField(choices=LineKind.choices)
    description = serializers.CharField()
    quantity = QuantityField()
    unit = serializers.CharField(allow_blank=True)
    unit_price = QuantityField(places=UNIT_PRICE_PLACES)
    amount = MoneyField()
    tax_rate = QuantityField(places=RATE_PLACES)
    tax_amount = MoneyField()
    meter_type = serializers.CharField(allow_blank=True)
    start_at = BoundedDateTimeField(allow_null=True)
    end_at = BoundedDateTimeField(allow_null=True)
    meter_serial = serializers.CharField(source="usage.serial_number", allow_null=True)
    meter_multiplier = serializers.DecimalField(
        source="usage.multiplier", max_digits=12, decimal_places=4, allow_null=True,
        help_text="As on a stored line: (end_value − start_value) × meter_multiplier = "
        "quantity (unless quantity_note says why not).")
    start_read_at = BoundedDateTimeField(source="usage.start_read_at", allow_null=True)
    start_value = QuantityField(source="usage.start_value", allow_null=True)
    end_read_at = BoundedDateTimeField(source="usage.end_read_at", allow_null=True)
    end_value = QuantityField(source="usage.end_value", allow_null=True)
    estimated = serializers.BooleanField(source="usage.estimated", default=False)
    start_basis = serializers.CharField(source="usage.start_basis", default="")
    end_basis = serializers.CharField(source="usage.end_basis", default="")
    start_sources = serializers.ListField(source="usage.start_sources", default=list,
                                          child=serializers.DictField())
    end_sources = serializers.ListField(source="usage.end_sources", default=list,
                                        child=serializers.DictField())
    quantity_note = serializers.CharField(source="usage.note", default="")


class InvoicePreviewInvoiceSerializer(serializers.Serializer):
    """An invoice that would be created (``can_bill``), or why not (``diagnostics``)."""

    billing_point = serializers.UUIDField(source="billing_point.public_id")
    billing_point_name = serializers.CharField(source="billing_point")
    tenant = PreviewTenantSerializer(allow_null=True)
    period_start = BoundedDateTimeField(source="start")
    period_end = BoundedDateTimeField(source="end")
    currency = serializers.CharField()
    net_total = MoneyField()
    tax_total = MoneyField()
    vat_summary = serializers.SerializerMethodField()
    cash_rounding = MoneyField()
    total = MoneyField()
    can_bill = serializers.BooleanField()
    diagnostics = PreviewDiagnosticSerializer(many=True)
    lines = serializers.SerializerMethodField()

    @extend_schema_field(VatRowSerializer(many=True))
    def get_vat_summary(self, draft: DraftInvoice) -> list[dict[str, Any]]:
        return vat_rows(draft.vat_summary, draft.currency)

    @extend_schema_field(InvoicePreviewLineSerializer(many=True))
    def get_lines(self, draft: DraftInvoice) -> list[dict[str, Any]]:
        # engine lines carry no currency: their amounts take the invoice's
        context = {**self.context, "currency": draft.currency}
        return InvoicePreviewLineSerializer(draft.lines, many=True, context=context).data


class InvoicePreviewSerializer(serializers.Serializer):
    """What ``POST invoices/preview/`` returns (nothing is stored)."""

    start = BoundedDateField()
    end = BoundedDateField(help_text="Exclusive.")
    can_bill = serializers.BooleanField(help_text="At least one invoice can be created.")
    diagnostics = PreviewDiagnosticSerializer(many=True)
    invoices = InvoicePreviewInvoiceSerializer(many=True)


def preview_payload(preview: Preview) -> dict[str, Any]:
    return InvoicePreviewSerializer(preview).data


class InvoicePreviewView(OrganizationAPIView):
    """Dry run: the invoices (and lines) that would be created, and diagnostics for anything
    that would make one wrong or empty. Nothing is stored."""

    @extend_schema(request=PeriodInputSerializer, responses=InvoicePreviewSerializer)
    def post(self, request: Request) -> Response:
        ser = PeriodInputSerializer(data=request.data, context={"request": request})
        ser.is_valid(raise_exception=True)
        return Response(preview_payload(services.invoice_preview(**ser.validated_data)))


class InvoiceAction(OrganizationAPIView):
    def invoice(self, id: Any) -> Invoice:
        return get_object_or_404(Invoice.objects.all(), public_id=id)

    def answer(self, invoice: Invoice, code: int = status.HTTP_200_OK) -> Response:
        return Response(InvoiceSerializer(invoices_queryset().get(pk=invoice.pk)).data,
                        status=code)


class InvoiceIssueView(InvoiceAction):
    """Number the draft (gapless) and lock it; issuing again changes nothing."""

    @extend_schema(request=None, responses=InvoiceSerializer)
    def post(self, request: Request, id: Any) -> Response:
        return self.answer(services.invoice_issue(invoice=self.invoice(id), **self.audit_kwargs()))


class InvoiceRecomputeView(InvoiceAction):
    """Rebuild a (stale) draft from current readings, occupancy and meters; manual lines are
    kept. ``outcome`` is ``recomputed`` or ``voided`` (its tenant has nothing left to bill in
    the period); ``new_drafts`` are drafts created for the period's other occupants."""

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, id: Any) -> Response:
        inv = services.invoice_recompute(invoice=self.invoice(id), **self.audit_kwargs())
        data = InvoiceSerializer(invoices_queryset().get(pk=inv.pk)).data
        return Response({**data, "outcome": inv.outcome,
                         "new_drafts": [str(i.public_id) for i in inv.new_drafts]})


class InvoicePayView(InvoiceAction):
    @extend_schema(request=None, responses=InvoiceSerializer)
    def post(self, request: Request, id: Any) -> Response:
        inv = services.invoice_mark_paid(invoice=self.invoice(id), **self.audit_kwargs())
        return self.answer(inv)


class InvoiceVoidView(InvoiceAction):
    """Void a draft. An issued invoice is voided by a credit note (``credit-note/``)."""

    @extend_schema(request=None, responses=InvoiceSerializer)
    def post(self, request: Request, id: Any) -> Response:
        return self.answer(services.invoice_void(invoice=self.invoice(id), **self.audit_kwargs()))


class ManualLineSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=300)
    quantity = QuantityField(max_digits=20)
    unit = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    unit_price = QuantityField(places=UNIT_PRICE_PLACES, max_digits=16)
    tax_rate = QuantityField(places=RATE_PLACES, max_digits=5, required=False, default=0)


class InvoiceLineAddView(InvoiceAction):
    """Add a manual line to a draft."""

    @extend_schema(request=ManualLineSerializer, responses={201: InvoiceSerializer})
    def post(self, request: Request, id: Any) -> Response:
        inv = self.invoice(id)
        ser = ManualLineSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        services.invoice_line_add(invoice=inv, **ser.validated_data, **self.audit_kwargs())
        return self.answer(inv, status.HTTP_201_CREATED)


class InvoiceLineDeleteView(OrganizationAPIView):
    """Remove a manual line of a draft."""

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, id: Any) -> Response:
        line = get_object_or_404(InvoiceLine.objects.select_related("invoice"), public_id=id)
        services.invoice_line_remove(line=line, **self.audit_kwargs())
        return Response(status=status.HTTP_204_NO_CONTENT)
