"""REST endpoints of payments and allocations: record a payment (idempotent with an
``Idempotency-Key``), read payments with what they paid, reverse one, list allocations
with the paid state of their invoices (thin: parse, call one service, shape the answer).

Idempotency: ``POST /payments/`` with an ``Idempotency-Key`` header (or the body's
``idempotency_key``) records the payment once. The first request answers ``201``; every
replay with the same content answers ``200`` with the first answer's body, byte for byte,
and the header ``Idempotent-Replayed: true`` — even if the payment was reversed since
(read it with ``GET /payments/{id}/``). The same key with other content (another amount,
account, day, note or allocations) is a ``409`` (``idempotency_key_reused``) and changes
nothing.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    OpenApiTypes,
    extend_schema,
    extend_schema_field,
)
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
from billspree.core.api_fields import (
    BoundedDateField,
    MoneyField,
    currency_places,
)
from billspree.core.errors import Conflict
from ledger.api.accounts import today_of
from ledger.models import (
    Account,
    Allocation,
    EntryKind,
    LedgerEntry,
    Payment,
    PaymentMethod,
    PaymentRequest,
)
from ledger.selectors.invoices import invoices_money
from ledger.services.payment_requests import payment_request_record
from ledger.services.payments import payment_record, payment_reverse

MAX_AMOUNT = Decimal("999999999.99")
KEY_HEADER = "Idempotency-Key"
MONEY_SCHEMA = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$",
                "example": "12.30"}


# --- reading ---------------------------------------------------------------------------------


class PaymentAllocationSerializer(serializers.Serializer):
    """What the payment paid: one row per allocation (negative: undone by a reversal)."""

    id = serializers.UUIDField(source="public_id")
    entry = serializers.UUIDField(source="debit.public_id", help_text="The debit paid.")
    kind = serializers.ChoiceField(choices=EntryKind.choices, source="debit.kind")
    invoice = serializers.UUIDField(source="debit.invoice.public_id", allow_null=True)
    invoice_number = serializers.CharField(source="debit.invoice.number", allow_null=True)
    amount = MoneyField(currency_source="credit.account.currency")


class PaymentSerializer(OrganizationModelSerializer):
    """A payment received. ``allocations``: what it paid; ``unallocated``: what is left
    of it as credit on the account; ``reversed``: it bounced or was booked in error."""

    account = serializers.UUIDField(source="account.public_id", read_only=True)
    tenant = serializers.UUIDField(source="account.tenant.public_id", read_only=True)
    tenant_name = serializers.CharField(source="account.tenant.name", read_only=True)
    currency = serializers.CharField(read_only=True)
    amount = MoneyField(read_only=True)
    entry = serializers.SerializerMethodField(help_text="Its ledger entry.")
    allocations = serializers.SerializerMethodField()
    unallocated = serializers.SerializerMethodField(
        help_text="Amount not (or no longer) allocated to a debit: credit on the account.")
    reversed = serializers.SerializerMethodField()
    reversal_reason = serializers.SerializerMethodField()

    class Meta:
        model = Payment
        fields = ["id", "account", "tenant", "tenant_name", "amount", "currency",
                  "received_on", "method", "reference", "remittance", "payer_name",
                  "bank_reference", "note", "idempotency_key", "entry", "allocations",
                  "unallocated", "reversed", "reversal_reason", "created_at"]
        read_only_fields = fields

    def _entry(self, payment: Payment) -> LedgerEntry | None:
        return next((e for e in payment.entries.all() if e.kind == EntryKind.PAYMENT), None)

    def _reversal(self, payment: Payment) -> LedgerEntry | None:
        return next((e for e in payment.entries.all()
                     if e.kind == EntryKind.PAYMENT_REVERSAL), None)

    @extend_schema_field(OpenApiTypes.UUID)
    def get_entry(self, payment: Payment) -> str | None:
        entry = self._entry(payment)
        return str(entry.public_id) if entry else None

    @extend_schema_field(PaymentAllocationSerializer(many=True))
    def get_allocations(self, payment: Payment) -> list[dict[str, Any]]:
        entry = self._entry(payment)
        rows = [a for a in entry.allocated.all() if a.debit.kind != EntryKind.PAYMENT_REVERSAL
                ] if entry else []
        return PaymentAllocationSerializer(rows, many=True).data

    @extend_schema_field(MONEY_SCHEMA)
    def get_unallocated(self, payment: Payment) -> str:
        entry = self._entry(payment)
        used = sum((a.amount for a in entry.allocated.all()
                    if a.debit.kind != EntryKind.PAYMENT_REVERSAL), Decimal(0)) if entry else 0
        left = Decimal(0) if self._reversal(payment) else payment.amount - used
        return f"{left:.{currency_places(str(payment.currency))}f}"

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_reversed(self, payment: Payment) -> bool:
        return self._reversal(payment) is not None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_reversal_reason(self, payment: Payment) -> str | None:
        rev = self._reversal(payment)
        return rev.description if rev else None


def payments_queryset():
    allocations = Allocation.objects.select_related(
        "debit__invoice", "credit__account").order_by("pk")
    entries = LedgerEntry.objects.prefetch_related(Prefetch("allocated", queryset=allocations))
    return Payment.objects.select_related("account__tenant").prefetch_related(
        Prefetch("entries", queryset=entries))


# --- recording -------------------------------------------------------------------------------


class AllocationInSerializer(serializers.Serializer):
    invoice = PublicIdRelatedField(queryset=Invoice.objects.all(),
                                   help_text="An issued invoice of the account's tenant.")
    amount = MoneyField(required=False, allow_null=True, currency_source="none",
                        help_text="How much of the payment goes to it (default: as much "
                        "as is open).")


class PaymentInputSerializer(serializers.Serializer):
    """A payment to record. It pays the ``allocations`` first (as told), then the
    account's oldest due debits; what is left stays as credit on the account."""

    account = PublicIdRelatedField(queryset=Account.objects.select_related("tenant",
                                                                           "organization"))
    amount = MoneyField(currency_source="none", help_text="Greater than 0, with at most the "
                        "currency's decimal places, as a string (\"120.50\").")
    received_on = BoundedDateField(help_text="The local day the money arrived (not in the "
                                   "future).")
    method = serializers.ChoiceField(choices=PaymentMethod.choices,
                                     default=PaymentMethod.BANK_TRANSFER)
    reference = serializers.CharField(max_length=140, required=False, allow_blank=True,
                                      default="")
    remittance = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                       default="")
    payer_name = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                       default="")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    idempotency_key = serializers.CharField(
        max_length=200, required=False, allow_null=True, default=None,
        help_text="Same as the Idempotency-Key header (give one or the other, or both equal).")
    allocations = AllocationInSerializer(many=True, required=False, default=list)

    def validate(self, attrs: dict) -> dict:
        account: Account = attrs["account"]
        currency = str(account.currency)
        amount: Decimal = attrs["amount"]
        places = currency_places(currency)
        if amount <= 0:
            raise serializers.ValidationError({"amount": ["The amount must be greater than 0."]})
        if amount > MAX_AMOUNT:
            raise serializers.ValidationError({"amount": [
                f"{amount} is more than any payment we accept ({MAX_AMOUNT})."]})
        if amount.as_tuple().exponent < -places and amount != round(amount, places):
            raise serializers.ValidationError({"amount": [
                f"{amount} has more decimals than {currency} has ({places})."]})
        wanted = attrs["allocations"]
        invoices = [a["invoice"] for a in wanted]
        if len({i.pk for i in invoices}) != len(invoices):
            raise serializers.ValidationError({"allocations": ["Name each invoice once."]})
        on_account = set(LedgerEntry.objects.filter(
            kind=EntryKind.INVOICE, account=account, invoice__in=invoices,
        ).values_list("invoice_id", flat=True))
        for n, a in enumerate(wanted, 1):
            inv, told = a["invoice"], a.get("amount")
            if inv.pk not in on_account:
                raise serializers.ValidationError({"allocations": [
                    f"allocation {n}: invoice {inv.number or inv.public_id} is not an issued "
                    f"invoice on this account."]})
            if told is not None and (told <= 0 or told > MAX_AMOUNT or (
                    told.as_tuple().exponent < -places and told != round(told, places))):
                raise serializers.ValidationError({"allocations": [
                    f"allocation {n}: the amount must be greater than 0 with at most "
                    f"{places} decimals."]})
        return attrs


def request_hash(data: dict) -> str:
    """What a request says, canonically (``"100"`` and ``"100.00"`` are the same amount)."""
    def num(value: Decimal | None) -> str | None:
        return None if value is None else f"{value.normalize():f}"

    body = {
        "account": str(data["account"].public_id), "amount": num(data["amount"]),
        "received_on": data["received_on"].isoformat(), "method": data["method"],
        "reference": data["reference"], "remittance": data["remittance"],
        "payer_name": data["payer_name"], "note": data["note"],
        "allocations": [[str(a["invoice"].public_id), num(a.get("amount"))]
                        for a in data["allocations"]],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def idempotency_key(request: Request, data: dict) -> str | None:
    header = (request.headers.get(KEY_HEADER) or "").strip()
    body = (data.get("idempotency_key") or "").strip()
    if header and body and header != body:
        raise serializers.ValidationError({"idempotency_key": [
            f"The body's idempotency_key differs from the {KEY_HEADER} header; send one."]})
    key = header or body
    if len(key) > 200:
        raise serializers.ValidationError({KEY_HEADER: ["At most 200 characters."]})
    return key or None


def replayed(stored: PaymentRequest, digest: str) -> Response:
    if stored.request_hash != digest:
        raise Conflict(
            f"The {KEY_HEADER} {stored.key!r} was already used for another payment request "
            f"(payment {stored.payment.public_id}); nothing was recorded. Use a new key for "
            f"a new payment.",
            fields={KEY_HEADER: ["reused with other content"]}, code="idempotency_key_reused")
    response = Response(json.loads(stored.response), status=status.HTTP_200_OK)
    response["Idempotent-Replayed"] = "true"
    return response


class PaymentFilter(django_filters.FilterSet):
    account = django_filters.UUIDFilter(field_name="account__public_id",
                                        help_text="Public id (UUID) of the account.")
    tenant = django_filters.UUIDFilter(field_name="account__tenant__public_id",
                                       help_text="Public id (UUID) of the tenant.")
    method = django_filters.ChoiceFilter(choices=PaymentMethod.choices)
    received_from = django_filters.DateFilter(field_name="received_on", lookup_expr="gte",
                                              help_text="Received on this day or later.")
    received_to = django_filters.DateFilter(field_name="received_on", lookup_expr="lte",
                                            help_text="Received on this day or earlier.")
    reversed = django_filters.BooleanFilter(method="filter_reversed")

    class Meta:
        model = Payment
        fields: list[str] = []

    def filter_reversed(self, qs, name: str, value: bool):
        hit = {"entries__kind": EntryKind.PAYMENT_REVERSAL}
        return qs.filter(**hit).distinct() if value else qs.exclude(**hit)


class ReverseInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=250, help_text="Why (e.g. returned by the bank).")


class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     OrganizationViewSet):
    """Payments received, with what they paid. ``POST`` records one (see the module
    docstring for the ``Idempotency-Key``: 201 first, 200 with the same body on a replay,
    409 for a key reused with other content)."""

    queryset = payments_queryset()
    serializer_class = PaymentInputSerializer
    filterset_class = PaymentFilter
    search_fields = ["reference", "remittance", "payer_name", "note", "account__tenant__name"]
    ordering_fields = ["received_on", "amount", "created_at"]

    def get_serializer_class(self):
        return PaymentInputSerializer if self.action == "create" else PaymentSerializer

    def answer(self, payment: Payment) -> dict[str, Any]:
        return PaymentSerializer(payments_queryset().get(pk=payment.pk)).data

    @extend_schema(
        request=PaymentInputSerializer,
        parameters=[OpenApiParameter(KEY_HEADER, str, OpenApiParameter.HEADER, description=(
            "Record the payment once: a replay answers 200 with the first answer."))],
        responses={201: PaymentSerializer,
                   200: OpenApiResponse(PaymentSerializer, description="A replay of the same "
                                        "Idempotency-Key: the first answer again.")})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ser = PaymentInputSerializer(data=request.data, context={"request": request})
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        key = idempotency_key(request, data)
        digest = request_hash(data)
        stored, body, created = payment_request_record(
            key=key, digest=digest, answer=self.answer,
            record=lambda: payment_record(
                account=data["account"], amount=data["amount"],
                received_on=data["received_on"], method=data["method"],
                reference=data["reference"], remittance=data["remittance"],
                payer_name=data["payer_name"], note=data["note"], idempotency_key=key,
                invoices=[(a["invoice"].pk, a.get("amount")) for a in data["allocations"]],
                **self.audit_kwargs()))
        if stored is not None:
            return replayed(stored, digest)
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=ReverseInputSerializer, responses=PaymentSerializer)
    @action(detail=True, methods=["post"], filterset_class=None, search_fields=[],
            ordering_fields=[])
    def reverse(self, request: Request, id: Any = None) -> Response:
        """The payment bounced or was booked in error: a reversing entry puts the amount
        back on the account and the invoices it paid are open again. Reversing again
        changes nothing."""
        payment = get_object_or_404(Payment.objects.all(), public_id=id)
        ser = ReverseInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        payment_reverse(payment=payment, reason=ser.validated_data["reason"],
                        **self.audit_kwargs())
        return Response(self.answer(payment))


# --- allocations -----------------------------------------------------------------------------


class AllocationSerializer(OrganizationModelSerializer):
    """``amount`` of credit ``credit_entry`` (a payment, credit note…) went to debit
    ``debit_entry`` (an invoice, fee…); negative: an earlier allocation undone.
    ``invoice_state``: the invoice's paid state now (open, partially_paid, paid,
    overdue), derived from all its allocations."""

    credit_entry = serializers.UUIDField(source="credit.public_id", read_only=True)
    credit_kind = serializers.ChoiceField(choices=EntryKind.choices, source="credit.kind",
                                          read_only=True)
    payment = serializers.UUIDField(source="credit.payment.public_id", read_only=True,
                                    allow_null=True)
    credit_note = serializers.UUIDField(source="credit.credit_note.public_id", read_only=True,
                                        allow_null=True)
    debit_entry = serializers.UUIDField(source="debit.public_id", read_only=True)
    debit_kind = serializers.ChoiceField(choices=EntryKind.choices, source="debit.kind",
                                         read_only=True)
    invoice = serializers.UUIDField(source="debit.invoice.public_id", read_only=True,
                                    allow_null=True)
    invoice_number = serializers.CharField(source="debit.invoice.number", read_only=True,
                                           allow_null=True)
    account = serializers.UUIDField(source="credit.account.public_id", read_only=True)
    currency = serializers.CharField(source="credit.account.currency", read_only=True)
    amount = MoneyField(read_only=True, currency_source="credit.account.currency")
    invoice_state = serializers.SerializerMethodField()
    invoice_open = serializers.SerializerMethodField(help_text="What is still open on the "
                                                     "invoice now.")

    class Meta:
        model = Allocation
        fields = ["id", "credit_entry", "credit_kind", "payment", "credit_note",
                  "debit_entry", "debit_kind", "invoice", "invoice_number", "account",
                  "currency", "amount", "invoice_state", "invoice_open", "created_at"]
        read_only_fields = fields

    def _money(self, allocation: Allocation):
        states = self.context.get("invoice_states")
        invoice_id = allocation.debit.invoice_id
        if invoice_id is None:
            return None
        if states is None or invoice_id not in states:
            states = invoices_money([invoice_id], today_of(self.context["request"]))
        return states.get(invoice_id)

    @extend_schema_field({"type": "string", "nullable": True,
                          "enum": ["open", "partially_paid", "paid", "overdue", None]})
    def get_invoice_state(self, allocation: Allocation) -> str | None:
        money = self._money(allocation)
        return money.state if money else None

    @extend_schema_field({**MONEY_SCHEMA, "nullable": True})
    def get_invoice_open(self, allocation: Allocation) -> str | None:
        money = self._money(allocation)
        if money is None:
            return None
        places = currency_places(str(allocation.credit.account.currency))
        return f"{money.open:.{places}f}"


class AllocationFilter(django_filters.FilterSet):
    invoice = django_filters.UUIDFilter(field_name="debit__invoice__public_id",
                                        help_text="Public id (UUID) of the invoice paid.")
    payment = django_filters.UUIDFilter(field_name="credit__payment__public_id",
                                        help_text="Public id (UUID) of the payment.")
    account = django_filters.UUIDFilter(field_name="credit__account__public_id",
                                        help_text="Public id (UUID) of the account.")

    class Meta:
        model = Allocation
        fields: list[str] = []


class AllocationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationViewSet):
    """Which credit paid which debit. ``?invoice=<id>`` lists what paid an invoice, with
    its paid state (``invoice_state``) and what is still open (``invoice_open``)."""

    queryset = Allocation.objects.select_related(
        "credit__account", "credit__payment", "credit__credit_note", "debit__invoice")
    serializer_class = AllocationSerializer
    filterset_class = AllocationFilter
    ordering_fields = ["created_at", "amount"]

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        context["invoice_states"] = getattr(self, "_invoice_states", None)
        return context

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        rows = page if page is not None else list(queryset)
        self._invoice_states = invoices_money(
            {a.debit.invoice_id for a in rows if a.debit.invoice_id}, today_of(self.request))
        return page


__all__ = ["AllocationViewSet", "PaymentViewSet"]
