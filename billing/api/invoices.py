"""REST endpoints of billing (thin: parse, call one service, shape the answer)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from billing import services
from billing.engine import DraftInvoice, DraftLine, Preview
from billing.models import (
    Adjustment,
    BillingBatch,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    Subscription,
)
from billspree.core.api_base import (
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationModelViewSet,
    OrganizationViewSet,
    PublicIdRelatedField,
)
from meters.models import BillingPoint
from tariffs.models import Plan, PlanVariant

# --- subscriptions ------------------------------------------------------------------------


class SubscriptionSerializer(OrganizationModelSerializer):
    billing_point = PublicIdRelatedField(queryset=BillingPoint.objects.all())
    plan = PublicIdRelatedField(queryset=Plan.objects.all())
    variant = PublicIdRelatedField(
        queryset=PlanVariant.objects.all(), required=False, allow_null=True
    )
    batch = PublicIdRelatedField(
        queryset=BillingBatch.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Subscription
        fields = ["id", "billing_point", "plan", "variant", "batch", "start_date", "end_date",
                  "note", "created_at"]
        read_only_fields = ["created_at"]


class SubscriptionViewSet(OrganizationModelViewSet):
    """A billing point on a plan (and variant) from a date to an (exclusive) date."""

    queryset = Subscription.objects.select_related("billing_point", "plan", "variant", "batch")
    serializer_class = SubscriptionSerializer
    search_fields = ["billing_point__name", "billing_point__connection_id", "plan__name"]
    ordering_fields = ["start_date", "created_at"]

    def perform_create(self, serializer: SubscriptionSerializer) -> None:
        serializer.instance = services.subscription_create(
            **serializer.validated_data, **self.audit_kwargs()
        )

    def perform_update(self, serializer: SubscriptionSerializer) -> None:
        data = dict(serializer.validated_data)
        if "billing_point" in data and data["billing_point"] != serializer.instance.billing_point:
            raise serializers.ValidationError(
                {"billing_point": ["A subscription cannot move to another billing point."]}
            )
        data.pop("billing_point", None)
        serializer.instance = services.subscription_update(
            subscription=serializer.instance, **data, **self.audit_kwargs()
        )

    def perform_destroy(self, instance: Subscription) -> None:
        services.subscription_delete(subscription=instance, **self.audit_kwargs())


# --- invoices -------------------------------------------------------------------------------

LINE_FIELDS = [
    "id", "position", "kind", "description", "quantity", "unit", "unit_price", "amount",
    "tax_rate", "tax_amount", "meter_type", "start_at", "end_at", "meter", "meter_serial",
    "assignment", "start_read_at", "start_value", "end_read_at", "end_value", "estimated",
    "adjustment", "adjusts_invoice",
]


class InvoiceLineSerializer(OrganizationModelSerializer):
    meter = serializers.UUIDField(source="meter.public_id", read_only=True, allow_null=True)
    meter_serial = serializers.CharField(source="meter.serial_number", read_only=True,
                                         allow_null=True)
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
    lines = InvoiceLineSerializer(many=True, read_only=True)
    stale = serializers.BooleanField(source="is_stale", read_only=True, help_text=(
        "A draft whose readings, occupancy or meters changed after it was computed: it is "
        "refused at issue (409 invoice_stale) until recomputed (POST …/recompute/)."))
    adjustments = AdjustmentSerializer(many=True, read_only=True, help_text=(
        "Issued invoices: late data about this period, billed on a later invoice."))

    class Meta:
        model = Invoice
        fields = [
            "id", "number", "status", "tenant", "tenant_name", "billing_point", "subscription",
            "period_start", "period_end", "currency", "net_total", "tax_total", "total",
            "kind", "created_at", "issued_at", "paid_at", "voided_at", "stale", "stale_reason",
            "stale_at", "lines", "adjustments",
        ]
        read_only_fields = fields


class PeriodInputSerializer(serializers.Serializer):
    subscriptions = PublicIdRelatedField(queryset=Subscription.objects.all(), many=True,
                                         allow_empty=False)
    start = serializers.DateField(help_text="First day of the period (property time zone).")
    end = serializers.DateField(help_text="Day after the last day (exclusive).")


def _invoices_queryset():
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

    queryset = _invoices_queryset()
    serializer_class = InvoiceSerializer
    filterset_fields = ["status"]
    search_fields = ["number", "tenant__name", "billing_point__name"]
    ordering_fields = ["period_start", "issued_at", "total"]

    @extend_schema(request=PeriodInputSerializer, responses=InvoiceSerializer(many=True))
    def create(self, request: Request) -> Response:
        ser = PeriodInputSerializer(data=request.data, context={"request": request})
        ser.is_valid(raise_exception=True)
        created = services.invoice_create_draft(**ser.validated_data, **self.audit_kwargs())
        fresh = _invoices_queryset().filter(pk__in=[i.pk for i in created])
        return Response(InvoiceSerializer(fresh, many=True).data, status=status.HTTP_201_CREATED)


def _line_payload(line: DraftLine) -> dict[str, Any]:
    ref = line.usage
    return {
        "kind": str(line.kind), "description": line.description, "quantity": str(line.quantity),
        "unit": line.unit, "unit_price": str(line.unit_price), "amount": str(line.amount),
        "tax_rate": str(line.tax_rate), "tax_amount": str(line.tax_amount),
        "meter_type": line.meter_type,
        "start_at": line.start_at.isoformat() if line.start_at else None,
        "end_at": line.end_at.isoformat() if line.end_at else None,
        "meter_serial": ref.serial_number if ref else None,
        "start_read_at": ref.start_read_at.isoformat() if ref and ref.start_read_at else None,
        "start_value": str(ref.start_value) if ref and ref.start_value is not None else None,
        "end_read_at": ref.end_read_at.isoformat() if ref and ref.end_read_at else None,
        "end_value": str(ref.end_value) if ref and ref.end_value is not None else None,
        "estimated": bool(ref and ref.estimated),
    }


def _draft_payload(d: DraftInvoice) -> dict[str, Any]:
    tenant = d.tenant
    return {
        "billing_point": str(d.billing_point.public_id),
        "billing_point_name": str(d.billing_point),
        "tenant": {"id": str(tenant.public_id), "name": tenant.name, "email": tenant.email}
        if tenant else None,
        "period_start": d.start.isoformat(), "period_end": d.end.isoformat(),
        "currency": d.currency, "net_total": str(d.net_total), "tax_total": str(d.tax_total),
        "total": str(d.total), "can_bill": d.can_bill,
        "diagnostics": [x.as_dict() for x in d.diagnostics],
        "lines": [_line_payload(x) for x in d.lines],
    }


def preview_payload(preview: Preview) -> dict[str, Any]:
    return {
        "start": preview.start.isoformat(), "end": preview.end.isoformat(),
        "can_bill": preview.can_bill,
        "diagnostics": [x.as_dict() for x in preview.diagnostics],
        "invoices": [_draft_payload(d) for d in preview.invoices],
    }


class InvoicePreviewView(OrganizationAPIView):
    """Dry run: the invoices (and lines) that would be created, and diagnostics for anything
    that would make one wrong or empty. Nothing is stored."""

    @extend_schema(request=PeriodInputSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request) -> Response:
        ser = PeriodInputSerializer(data=request.data, context={"request": request})
        ser.is_valid(raise_exception=True)
        return Response(preview_payload(services.invoice_preview(**ser.validated_data)))


class _InvoiceAction(OrganizationAPIView):
    def invoice(self, id: Any) -> Invoice:
        return get_object_or_404(Invoice.objects.all(), public_id=id)

    def answer(self, invoice: Invoice, code: int = status.HTTP_200_OK) -> Response:
        return Response(InvoiceSerializer(_invoices_queryset().get(pk=invoice.pk)).data,
                        status=code)


class InvoiceIssueView(_InvoiceAction):
    """Number the draft (gapless) and lock it; issuing again changes nothing."""

    @extend_schema(request=None, responses=InvoiceSerializer)
    def post(self, request: Request, id: Any) -> Response:
        return self.answer(services.invoice_issue(invoice=self.invoice(id), **self.audit_kwargs()))


class InvoiceRecomputeView(_InvoiceAction):
    """Rebuild a (stale) draft from current readings, occupancy and meters; manual lines are
    kept. ``outcome`` is ``recomputed`` or ``voided`` (its tenant has nothing left to bill in
    the period); ``new_drafts`` are drafts created for the period's other occupants."""

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, id: Any) -> Response:
        inv = services.invoice_recompute(invoice=self.invoice(id), **self.audit_kwargs())
        data = InvoiceSerializer(_invoices_queryset().get(pk=inv.pk)).data
        return Response({**data, "outcome": inv.outcome,
                         "new_drafts": [str(i.public_id) for i in inv.new_drafts]})


class InvoicePayView(_InvoiceAction):
    @extend_schema(request=None, responses=InvoiceSerializer)
    def post(self, request: Request, id: Any) -> Response:
        inv = services.invoice_mark_paid(invoice=self.invoice(id), **self.audit_kwargs())
        return self.answer(inv)


class InvoiceVoidView(_InvoiceAction):
    """Void a draft. An issued invoice is voided by a credit note (``credit-note/``)."""

    @extend_schema(request=None, responses=InvoiceSerializer)
    def post(self, request: Request, id: Any) -> Response:
        return self.answer(services.invoice_void(invoice=self.invoice(id), **self.audit_kwargs()))


class ManualLineSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=300)
    quantity = serializers.DecimalField(max_digits=20, decimal_places=4)
    unit = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")
    unit_price = serializers.DecimalField(max_digits=16, decimal_places=6)
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2, required=False,
                                        default=0)


class InvoiceLineAddView(_InvoiceAction):
    """Add a manual line to a draft."""

    @extend_schema(request=ManualLineSerializer, responses=InvoiceSerializer)
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


class CreditNoteLineSerializer(OrganizationModelSerializer):
    class Meta:
        model = CreditNoteLine
        fields = ["id", "position", "description", "quantity", "unit", "unit_price", "amount",
                  "tax_rate", "tax_amount"]
        read_only_fields = fields


class CreditNoteSerializer(OrganizationModelSerializer):
    invoice = serializers.UUIDField(source="invoice.public_id", read_only=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    currency = serializers.CharField(read_only=True)
    lines = CreditNoteLineSerializer(many=True, read_only=True)

    class Meta:
        model = CreditNote
        fields = ["id", "number", "invoice", "invoice_number", "reason", "currency", "full",
                  "net_total", "tax_total", "cash_rounding", "total", "issued_at", "lines"]
        read_only_fields = fields


class CreditNoteInputSerializer(serializers.Serializer):
    """Nothing but ``reason``: the whole invoice (it becomes void). ``lines``: those lines
    (what is left of each); ``amount``: a net amount shared over the invoice's VAT rates.
    The invoice stays issued after a partial credit; the credit notes of an invoice never
    credit more than its total (400)."""

    reason = serializers.CharField(max_length=300)
    lines = serializers.ListField(child=serializers.UUIDField(), required=False,
                                  allow_empty=False, help_text="Public ids of invoice lines.")
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, required=False,
                                      help_text="Net amount to credit.")


class InvoiceCreditNoteView(_InvoiceAction):
    """Credit an issued (or paid) invoice in full; it becomes void."""

    @extend_schema(request=CreditNoteInputSerializer, responses=CreditNoteSerializer)
    def post(self, request: Request, id: Any) -> Response:
        inv = self.invoice(id)
        ser = CreditNoteInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = dict(ser.validated_data)
        if "lines" in data:
            wanted = set(data["lines"])
            data["lines"] = list(inv.lines.filter(public_id__in=wanted))
            if len(data["lines"]) != len(wanted):
                raise serializers.ValidationError({"lines": ["Choose lines of this invoice."]})
        note = services.credit_note_create(invoice=inv, **data, **self.audit_kwargs())
        fresh = CreditNote.objects.select_related("invoice").prefetch_related("lines").get(
            pk=note.pk
        )
        return Response(CreditNoteSerializer(fresh).data, status=status.HTTP_201_CREATED)


class InvoiceAdjustmentCreditView(_InvoiceAction):
    """Credit the invoice's pending adjustments that lower what is owed, at once, with a
    partial credit note (instead of waiting for the tenant's next invoice)."""

    @extend_schema(request=None, responses=CreditNoteSerializer)
    def post(self, request: Request, id: Any) -> Response:
        from billing.services.credit_notes import credit_note_for_adjustments

        note = credit_note_for_adjustments(invoice=self.invoice(id), **self.audit_kwargs())
        fresh = CreditNote.objects.select_related("invoice").prefetch_related("lines").get(
            pk=note.pk)
        return Response(CreditNoteSerializer(fresh).data, status=status.HTTP_201_CREATED)


class InvoiceRebillView(_InvoiceAction):
    """Credit note + re-bill: settle the pending adjustments of this issued period now — a
    partial credit note for the reductions, a re-bill draft (``kind: adjustment``) per
    tenant for the additions (issue it like any draft)."""

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT)
    def post(self, request: Request, id: Any) -> Response:
        out = services.adjustments_rebill(invoice=self.invoice(id), **self.audit_kwargs())
        note = out.credit_note
        fresh = _invoices_queryset().filter(pk__in=[i.pk for i in out.invoices])
        return Response({
            "credit_note": CreditNoteSerializer(note).data if note else None,
            "invoices": InvoiceSerializer(fresh, many=True).data,
        }, status=status.HTTP_201_CREATED)


class CreditNoteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationViewSet):
    queryset = CreditNote.objects.select_related("invoice").prefetch_related("lines")
    serializer_class = CreditNoteSerializer
    search_fields = ["number", "invoice__number", "reason"]
    ordering_fields = ["issued_at"]
