"""``/bank-imports/`` and ``/bank-lines/``: bank files in, their row report, the review
queue of lines no invoice matched, and the manager's match by hand."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.models import Invoice
from billspree.core.api_base import (
    OrganizationModelSerializer,
    OrganizationViewSet,
    PublicIdRelatedField,
)
from billspree.core.api_parsers import FormParser, MultiPartParser
from billspree.core.models import Role
from ledger.models import Account, BankImport, BankImportLine
from ledger.services.bank_imports import (
    bank_import_create,
    bank_line_ignore,
    bank_line_match,
    repeat_message,
)

MAX_BYTES = 50 * 1024 * 1024


class BankLineSerializer(OrganizationModelSerializer):
    bank_import = PublicIdRelatedField(read_only=True)
    invoice = PublicIdRelatedField(read_only=True, allow_null=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True,
                                           allow_null=True, default=None)
    account = PublicIdRelatedField(read_only=True, allow_null=True)
    payment = PublicIdRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = BankImportLine
        fields = ["id", "bank_import", "row", "amount", "currency", "booked_on", "value_on",
                  "reference", "remittance", "payer_name", "payer_iban", "bank_reference",
                  "reversal", "status", "matched_how", "reason", "invoice", "invoice_number",
                  "account", "payment", "resolved_at"]
        read_only_fields = fields


class BankImportSerializer(OrganizationModelSerializer):
    class Meta:
        model = BankImport
        fields = ["id", "filename", "sha256", "status", "lines_count", "matched_count",
                  "unmatched_count", "duplicate_count", "ignored_count", "totals",
                  "created_at"]
        read_only_fields = fields


class BankImportDetailSerializer(BankImportSerializer):
    lines = BankLineSerializer(many=True, read_only=True)

    class Meta(BankImportSerializer.Meta):
        fields = [*BankImportSerializer.Meta.fields, "lines"]
        read_only_fields = fields


class BankFileInSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="camt.053, camt.054 (XML) or CSV "
                                 "(see ledger/bank_formats/README.md).")

    def validate_file(self, value):
        if value.size > MAX_BYTES:
            raise serializers.ValidationError("The file is larger than 50 MB.")
        return value


class BankImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        mixins.CreateModelMixin, OrganizationViewSet):
    """Bank files: ``POST`` one (all-or-nothing; the same file again adds nothing), read
    its report."""

    queryset = BankImport.objects.all()
    serializer_class = BankImportSerializer
    parser_classes = [MultiPartParser, FormParser]
    write_role = Role.MANAGER
    filterset_fields = ["status"]
    ordering_fields = ["created_at"]

    def get_serializer_class(self):
        return BankImportDetailSerializer if self.action == "retrieve" else BankImportSerializer

    def get_queryset(self):
        qs = super().get_queryset()
        return qs.prefetch_related("lines__invoice", "lines__account", "lines__payment") \
            if self.action == "retrieve" else qs

    @extend_schema(request=BankFileInSerializer, responses={
        201: BankImportDetailSerializer,
        200: OpenApiResponse(BankImportDetailSerializer, description="This file was imported "
                             "before: its first import, nothing added."),
    })
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = BankFileInSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        upload = form.validated_data["file"]
        imp = bank_import_create(data=upload.read(), filename=upload.name or "",
                                 **self.audit_kwargs())
        body = BankImportDetailSerializer(
            BankImport.objects.prefetch_related("lines__invoice", "lines__account",
                                                "lines__payment").get(pk=imp.pk)).data
        if imp.repeat:
            return Response({**body, "detail": repeat_message(imp)}, status=status.HTTP_200_OK)
        return Response(body, status=status.HTTP_201_CREATED)


class MatchInSerializer(serializers.Serializer):
    invoice = PublicIdRelatedField(queryset=Invoice.objects.all(), required=False,
                                   allow_null=True, help_text="The invoice it pays.")
    account = PublicIdRelatedField(queryset=Account.objects.all(), required=False,
                                   allow_null=True, help_text="Or the account it credits.")


class IgnoreInSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class BankLineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationViewSet):
    """Lines of bank files; ``?status=unmatched`` is the review queue."""

    queryset = BankImportLine.objects.select_related("bank_import", "invoice", "account",
                                                     "payment")
    serializer_class = BankLineSerializer
    write_role = Role.MANAGER
    filterset_fields = ["status", "currency"]
    ordering_fields = ["booked_on", "amount", "row"]

    @extend_schema(request=MatchInSerializer, responses=BankLineSerializer)
    @action(detail=True, methods=["post"], filterset_fields=[], ordering_fields=[])
    def match(self, request: Request, id: Any = None) -> Response:
        """Match an unmatched line by hand: it pays ``invoice`` (or credits ``account``)."""
        line = self.get_object()
        ser = MatchInSerializer(data=request.data, context={"request": request})
        ser.is_valid(raise_exception=True)
        row = bank_line_match(line=line, invoice=ser.validated_data.get("invoice"),
                              account=ser.validated_data.get("account"), **self.audit_kwargs())
        return Response(BankLineSerializer(row).data)

    @extend_schema(request=IgnoreInSerializer, responses=BankLineSerializer)
    @action(detail=True, methods=["post"], filterset_fields=[], ordering_fields=[])
    def ignore(self, request: Request, id: Any = None) -> Response:
        """Set an unmatched line aside, saying why."""
        line = self.get_object()
        ser = IgnoreInSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        row = bank_line_ignore(line=line, reason=ser.validated_data["reason"],
                               **self.audit_kwargs())
        return Response(BankLineSerializer(row).data)
