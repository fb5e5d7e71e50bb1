"""REST endpoints: statements. An invoice's statement (status, deliveries), its PDF,
regenerate, send (or resend) by email; statements of building charges (request, list,
detail, PDF). Thin: parse, call a service, shape the answer."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from billing import services
from billing.models import (
    BuildingStatement,
    CreditNote,
    Invoice,
    InvoiceStatement,
    StatementDelivery,
    StatementStatus,
)
from billing.views.statements import (
    building_pdf_name,
    credit_note_pdf_response,
    invoice_statement_pdf_response,
    pdf_response,
)
from billspree.core.api_base import (
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationViewSet,
    PublicIdRelatedField,
)
from meters.models import Property


class DeliverySerializer(OrganizationModelSerializer):
    class Meta:
        model = StatementDelivery
        fields = ["id", "recipient", "status", "error", "created_at", "sent_at"]


class InvoiceStatementSerializer(OrganizationModelSerializer):
    invoice = serializers.UUIDField(source="invoice.public_id", read_only=True)
    number = serializers.CharField(source="invoice.number", read_only=True)

    class Meta:
        model = InvoiceStatement
        fields = ["id", "invoice", "number", "status", "error", "size", "attempts",
                  "generated_at"]


def _statement_payload(invoice: Invoice, request: Request) -> dict[str, Any]:
    statement = InvoiceStatement.objects.filter(invoice=invoice).select_related("invoice").first()
    deliveries = StatementDelivery.objects.filter(invoice=invoice, credit_note__isnull=True)[:50]
    data: dict[str, Any] = (InvoiceStatementSerializer(statement).data if statement else
                            {"invoice": str(invoice.public_id), "number": invoice.number,
                             "status": None})
    ready = statement is not None and statement.status == StatementStatus.READY
    url = f"/api/v1/invoices/{invoice.public_id}/statement/pdf/"
    data["pdf"] = request.build_absolute_uri(url) if ready else None
    data["deliveries"] = DeliverySerializer(deliveries, many=True).data
    return data


class _InvoiceStatementView(OrganizationAPIView):
    queryset = Invoice.objects.all()

    def invoice(self, id: Any) -> Invoice:
        return get_object_or_404(Invoice.objects.select_related("tenant"), public_id=id)


class InvoiceStatementView(_InvoiceStatementView):
    """The statement of an invoice: status (``pending``, ``ready``, ``failed`` with the
    error), the PDF's address when ready, and every email delivery."""

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, id: Any) -> Response:
        return Response(_statement_payload(self.invoice(id), request))


class InvoiceStatementPdfView(_InvoiceStatementView):
    """The PDF (``application/pdf``, as an attachment named after the invoice number)."""

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request: Request, id: Any):
        return invoice_statement_pdf_response(self.invoice(id))


class InvoiceStatementRegenerateView(_InvoiceStatementView):
    """Render the statement again in the background (202); it replaces the stored file."""

    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT})
    def post(self, request: Request, id: Any) -> Response:
        invoice = self.invoice(id)
        services.invoice_statement_regenerate(invoice=invoice, **self.audit_kwargs())
        return Response(_statement_payload(invoice, request), status=status.HTTP_202_ACCEPTED)


class InvoiceSendView(_InvoiceStatementView):
    """Email the statement (PDF attached) to the invoice's tenant: send or resend. Answers
    202 with the new delivery (``queued``; or ``failed`` at once when the tenant has no
    email address)."""

    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request: Request, id: Any) -> Response:
        delivery = services.invoice_statement_send(invoice=self.invoice(id),
                                                   **self.audit_kwargs())
        delivery.refresh_from_db()
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


# --- statements of building charges ---------------------------------------------------------


class BuildingStatementSerializer(OrganizationModelSerializer):
    property = PublicIdRelatedField(slug_field="public_id", queryset=Property.objects.all())
    pdf = serializers.SerializerMethodField()

    class Meta:
        model = BuildingStatement
        fields = ["id", "property", "period_start", "period_end", "status", "error", "size",
                  "generated_at", "created_at", "pdf"]
        read_only_fields = ["status", "error", "size", "generated_at", "created_at"]
        validators: list = []  # asking again for a property and period re-renders that row

    def get_pdf(self, obj: BuildingStatement) -> str | None:
        if obj.status != StatementStatus.READY:
            return None
        request = self.context.get("request")
        url = f"/api/v1/building-statements/{obj.public_id}/pdf/"
        return request.build_absolute_uri(url) if request else url

    def validate(self, attrs):
        if attrs["period_end"] <= attrs["period_start"]:
            raise serializers.ValidationError({"period_end": "The end must be after the start."})
        return attrs


class BuildingStatementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                               mixins.CreateModelMixin, OrganizationViewSet):
    """Statements of building charges. ``POST {"property", "period_start", "period_end"}``
    (local dates, end exclusive) prepares one in the background (202; asking again for
    the same property and period prepares it anew); ``GET …/{id}/pdf/`` downloads it."""

    queryset = BuildingStatement.objects.select_related("property").order_by("-created_at",
                                                                             "-pk")
    serializer_class = BuildingStatementSerializer

    @extend_schema(responses={202: BuildingStatementSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        statement = services.building_statement_request(**ser.validated_data,
                                                        **self.audit_kwargs())
        return Response(self.get_serializer(statement).data, status=status.HTTP_202_ACCEPTED)


class CreditNotePdfView(OrganizationAPIView):
    """A credit note as a PDF: the document as issued (stored at its first render)."""

    queryset = CreditNote.objects.all()

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request: Request, id: Any):
        return credit_note_pdf_response(get_object_or_404(CreditNote, public_id=id))


class CreditNoteSendView(OrganizationAPIView):
    """Email a credit note (PDF attached) to the tenant of the invoice it cancels. Answers
    202 with the new delivery (``queued``; or ``failed`` at once when the tenant has no
    email address). Sent by itself when the invoice had been emailed."""

    queryset = CreditNote.objects.all()

    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request: Request, id: Any) -> Response:
        note = get_object_or_404(CreditNote.objects.select_related("invoice__tenant"),
                                 public_id=id)
        delivery = services.credit_note_send(credit_note=note, **self.audit_kwargs())
        delivery.refresh_from_db()
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class BuildingStatementPdfView(OrganizationAPIView):
    queryset = BuildingStatement.objects.all()

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request: Request, id: Any):
        st = get_object_or_404(BuildingStatement.objects.select_related("property"), public_id=id)
        if st.status != StatementStatus.READY:
            raise Http404("This statement is not ready.")
        return pdf_response(st.file.name, building_pdf_name(st))
