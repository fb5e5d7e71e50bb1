"""REST endpoints of credit notes: reads, and crediting an invoice (in full, by lines, by
amount, its pending adjustments, or with a re-bill)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiTypes, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from billing import services
from billing.api.invoices import (
    InvoiceAction,
    InvoiceSerializer,
    VatRowSerializer,
    invoices_queryset,
    vat_rows,
)
from billing.models import CreditNote, CreditNoteLine
from billing.selectors.totals import credit_note_totals
from billspree.core.api_base import (
    OrganizationModelSerializer,
    OrganizationViewSet,
)
from billspree.core.api_fields import (
    RATE_PLACES,
    UNIT_PRICE_PLACES,
    MoneyField,
    QuantityField,
    money_str,
)


class CreditNoteLineSerializer(OrganizationModelSerializer):
    quantity = QuantityField()
    unit_price = QuantityField(places=UNIT_PRICE_PLACES)
    amount = MoneyField(currency_source="credit_note.currency")
    tax_rate = QuantityField(places=RATE_PLACES)
    tax_amount = MoneyField(currency_source="credit_note.currency")

    class Meta:
        model = CreditNoteLine
        fields = ["id", "position", "description", "quantity", "unit", "unit_price", "amount",
                  "tax_rate", "tax_amount"]
        read_only_fields = fields


class CreditNoteSerializer(OrganizationModelSerializer):
    invoice = serializers.UUIDField(source="invoice.public_id", read_only=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    currency = serializers.CharField(read_only=True)
    net_total = MoneyField(read_only=True)
    tax_total = MoneyField(read_only=True)
    vat_summary = serializers.SerializerMethodField(
        help_text="Per VAT rate: base (credited net at that rate), rate %, VAT; the rows' VAT "
        "adds up to tax_total (negative, as the note's amounts).")
    cash_rounding = MoneyField(read_only=True, help_text="net_total + tax_total + "
                               "cash_rounding = total, as on invoices.")
    total = MoneyField(read_only=True)
    lines = CreditNoteLineSerializer(many=True, read_only=True)

    class Meta:
        model = CreditNote
        fields = ["id", "number", "invoice", "invoice_number", "reason", "currency", "full",
                  "net_total", "tax_total", "vat_summary", "cash_rounding", "total",
                  "issued_at", "lines"]
        read_only_fields = fields

    @extend_schema_field(VatRowSerializer(many=True))
    def get_vat_summary(self, note: CreditNote) -> list[dict[str, Any]]:
        totals = credit_note_totals(note, note.lines.all())
        return vat_rows(totals.vat_summary, str(note.currency))

    def to_representation(self, note: CreditNote) -> dict[str, Any]:
        """A full credit of an old invoice: its copied rounding line is the cash rounding."""
        data = super().to_representation(note)
        totals = credit_note_totals(note, note.lines.all())
        data["net_total"] = money_str(totals.net, str(note.currency))
        data["cash_rounding"] = money_str(totals.cash_rounding, str(note.currency))
        return data


def created(note: CreditNote) -> Response:
    """201 with the new credit note, read back with its lines."""
    fresh = CreditNote.objects.select_related("invoice").prefetch_related(
        "lines__invoice_line").get(pk=note.pk)
    return Response(CreditNoteSerializer(fresh).data, status=status.HTTP_201_CREATED)


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


class InvoiceCreditNoteView(InvoiceAction):
    """Credit an issued (or paid) invoice in full; it becomes void."""

    @extend_schema(request=CreditNoteInputSerializer, responses={201: CreditNoteSerializer})
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
        return created(note)


class InvoiceAdjustmentCreditView(InvoiceAction):
    """Credit the invoice's pending adjustments that lower what is owed, at once, with a
    partial credit note (instead of waiting for the tenant's next invoice)."""

    @extend_schema(request=None, responses={201: CreditNoteSerializer})
    def post(self, request: Request, id: Any) -> Response:
        from billing.services.credit_notes import credit_note_for_adjustments

        note = credit_note_for_adjustments(invoice=self.invoice(id), **self.audit_kwargs())
        return created(note)


class InvoiceRebillView(InvoiceAction):
    """Credit note + re-bill: settle the pending adjustments of this issued period now — a
    partial credit note for the reductions, a re-bill draft (``kind: adjustment``) per
    tenant for the additions (issue it like any draft)."""

    @extend_schema(request=None, responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, id: Any) -> Response:
        out = services.adjustments_rebill(invoice=self.invoice(id), **self.audit_kwargs())
        note = out.credit_note
        fresh = invoices_queryset().filter(pk__in=[i.pk for i in out.invoices])
        return Response({
            "credit_note": CreditNoteSerializer(note).data if note else None,
            "invoices": InvoiceSerializer(fresh, many=True).data,
        }, status=status.HTTP_201_CREATED)


class CreditNoteViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationViewSet):
    queryset = CreditNote.objects.select_related("invoice").prefetch_related(
        "lines__invoice_line")
    serializer_class = CreditNoteSerializer
    search_fields = ["number", "invoice__number", "reason"]
    ordering_fields = ["issued_at"]
