"""REST endpoints of accounts: list and detail (balance, overdue, parent, dunning pause),
setting the parent, entries, open items, the statement of a period, and aging (thin: parse,
call a selector or one service, shape the answer)."""

from __future__ import annotations

from datetime import date
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing.models import Invoice
from billspree.core.api_base import (
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationViewSet,
    PublicIdRelatedField,
)
from billspree.core.api_fields import BoundedDateField, MoneyField
from billspree.core.schema import paginated
from billspree.core.timefmt import local_date
from ledger.models import Account, AccountKind, EntryKind, LedgerEntry
from ledger.selectors.accounts import account_statement, open_items, with_overdue
from ledger.selectors.aging import BUCKETS, aging
from ledger.services.accounts import account_set_parent
from ledger.services.entries import MANUAL, entry_record
from meters.models import Property


def today_of(request: Request) -> date:
    """Today where the organization is (dues and aging are local dates)."""
    return local_date(timezone.now(), request.organization)


class AccountTenantSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()


class AccountSerializer(OrganizationModelSerializer):
    """An account: who pays, in one currency. ``balance`` > 0: the tenant owes; < 0: credit.
    ``overdue``: open amounts past their due day (today, the organization's local date)."""

    tenant = AccountTenantSerializer(read_only=True)
    currency = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(choices=AccountKind.choices, read_only=True)
    balance = MoneyField(read_only=True)
    overdue = MoneyField(read_only=True)
    parent = PublicIdRelatedField(
        queryset=Account.objects.all(), allow_null=True, required=False,
        help_text="The account that receives this one's bills (same currency), or null.")

    class Meta:
        model = Account
        fields = ["id", "tenant", "currency", "kind", "balance", "overdue", "parent",
                  "dunning_paused_until", "dunning_pause_reason",
                  "disconnection_pending_since", "created_at"]
        read_only_fields = ["dunning_paused_until", "dunning_pause_reason",
                            "disconnection_pending_since", "created_at"]


class AccountFilter(django_filters.FilterSet):
    tenant = django_filters.UUIDFilter(field_name="tenant__public_id",
                                       help_text="Public id (UUID) of the tenant.")
    parent = django_filters.UUIDFilter(field_name="parent__public_id",
                                       help_text="Public id (UUID) of the parent account.")
    currency = django_filters.CharFilter(field_name="currency", lookup_expr="iexact",
                                         help_text="ISO 4217 code, e.g. CHF.")
    kind = django_filters.ChoiceFilter(choices=AccountKind.choices)
    has_overdue = django_filters.BooleanFilter(
        method="filter_has_overdue", help_text="Accounts with (true) or without (false) "
        "an amount past its due day.")
    balance_gt = django_filters.NumberFilter(field_name="balance", lookup_expr="gt",
                                             help_text="Balance greater than this amount.")
    balance_lt = django_filters.NumberFilter(field_name="balance", lookup_expr="lt",
                                             help_text="Balance less than this amount "
                                             "(balance_lt=0: accounts in credit).")

    class Meta:
        model = Account
        fields: list[str] = []

    def filter_has_overdue(self, qs: QuerySet, name: str, value: bool) -> QuerySet:
        return qs.filter(overdue__gt=0) if value else qs.filter(overdue__lte=0)


class EntrySerializer(OrganizationModelSerializer):
    """A ledger entry; ``amount`` > 0 adds to what the tenant owes."""

    amount = MoneyField(currency_source="account.currency")
    balance_after = MoneyField(currency_source="account.currency")
    tax_amount = MoneyField(currency_source="account.currency")
    invoice = serializers.UUIDField(source="invoice.public_id", read_only=True,
                                    allow_null=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True,
                                           allow_null=True)
    credit_note = serializers.UUIDField(source="credit_note.public_id", read_only=True,
                                        allow_null=True)
    credit_note_number = serializers.CharField(source="credit_note.number", read_only=True,
                                               allow_null=True)
    payment = serializers.UUIDField(source="payment.public_id", read_only=True,
                                    allow_null=True)
    reverses = serializers.UUIDField(source="reverses.public_id", read_only=True,
                                     allow_null=True)

    class Meta:
        model = LedgerEntry
        fields = ["id", "seq", "kind", "amount", "balance_after", "booked_on", "due_on",
                  "description", "invoice", "invoice_number", "credit_note",
                  "credit_note_number", "payment", "reverses", "tax_rate", "tax_amount",
                  "created_at"]
        read_only_fields = fields


class OpenItemSerializer(serializers.Serializer):
    """A debit with something left to pay."""

    entry = serializers.UUIDField(source="entry.public_id")
    kind = serializers.ChoiceField(choices=EntryKind.choices, source="entry.kind")
    description = serializers.CharField(source="entry.description")
    invoice = serializers.UUIDField(source="entry.invoice.public_id", allow_null=True)
    invoice_number = serializers.CharField(source="entry.invoice.number", allow_null=True)
    booked_on = BoundedDateField(source="entry.booked_on")
    due_on = BoundedDateField(source="entry.due_on", allow_null=True)
    amount = MoneyField(source="entry.amount", currency_source="entry.account.currency")
    paid = MoneyField(currency_source="entry.account.currency")
    open = MoneyField(currency_source="entry.account.currency")
    state = serializers.ChoiceField(choices=["open", "partially_paid", "overdue"])
    days_overdue = serializers.IntegerField()


class StatementLineSerializer(serializers.Serializer):
    entry = EntrySerializer()
    running_balance = MoneyField(source="running", currency_source="entry.account.currency")


class StatementSerializer(serializers.Serializer):
    """Opening + the amounts of ``entries`` = closing (entries in booking order)."""

    account = serializers.UUIDField(source="account.public_id")
    currency = serializers.CharField(source="account.currency")
    start = BoundedDateField(help_text="First day (inclusive, local).")
    end = BoundedDateField(help_text="Last day (inclusive, local).")
    opening = MoneyField(currency_source="account.currency",
                         help_text="Balance of everything booked before start.")
    debits = MoneyField(currency_source="account.currency")
    credits = MoneyField(currency_source="account.currency")
    closing = MoneyField(currency_source="account.currency")
    entries = StatementLineSerializer(source="lines", many=True)


class StatementQuerySerializer(serializers.Serializer):
    start = BoundedDateField(required=False, help_text="First day (default: the first of "
                             "this month).")
    end = BoundedDateField(required=False, help_text="Last day, inclusive (default: today).")

    def validate(self, attrs: dict) -> dict:
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError(
                {"to": [f"to ({attrs['end']}) is before from ({attrs['start']})."]})
        return attrs


def accounts_queryset(today: date) -> QuerySet:
    return with_overdue(Account.objects.select_related("tenant", "parent"), today)


class EntryInSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(str(k), k.label) for k in MANUAL])
    amount = serializers.DecimalField(max_digits=16, decimal_places=4, help_text=(
        "Write-off and refund: positive. Adjustment and opening balance: + the tenant "
        "owes, − the tenant has credit."))
    booked_on = BoundedDateField()
    description = serializers.CharField(max_length=300)
    invoice = PublicIdRelatedField(queryset=Invoice.objects.all(), required=False,
                                   allow_null=True, help_text="Write-off of this invoice.")
    idempotency_key = serializers.CharField(max_length=200, required=False, allow_null=True)


class AccountViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     mixins.UpdateModelMixin, OrganizationViewSet):
    """Accounts (one per tenant and currency). ``PATCH {"parent": id | null}`` lets another
    account of the same currency receive this one's bills (400: another currency, a
    circle; 409: the account still has a balance and would leave its parent)."""

    queryset = Account.objects.select_related("tenant", "parent")
    serializer_class = AccountSerializer
    filterset_class = AccountFilter
    search_fields = ["tenant__name"]
    ordering_fields = ["balance", "overdue", "created_at", "tenant__name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet:
        return accounts_queryset(today_of(self.request))

    def perform_update(self, serializer: AccountSerializer) -> None:
        if "parent" in serializer.validated_data:
            account_set_parent(account=serializer.instance,
                               parent=serializer.validated_data["parent"],
                               **self.audit_kwargs())
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def account(self, id: Any) -> Account:
        return get_object_or_404(Account.objects.all(), public_id=id)

    @extend_schema(methods=["GET"], responses=EntrySerializer(many=True))
    @extend_schema(methods=["POST"], request=EntryInSerializer, responses={201: EntrySerializer})
    @action(detail=True, methods=["get", "post"], filterset_class=None, search_fields=[],
            ordering_fields=[])
    @paginated
    def entries(self, request: Request, id: Any = None) -> Response:
        """GET: the account's ledger entries, newest first, with the documents they post.
        POST: book a write-off (of a chosen invoice, or of what is owed), a refund (pays
        out credit), an adjustment (signed) or the opening balance (signed, once)."""
        if request.method == "POST":
            ser = EntryInSerializer(data=request.data, context={"request": request})
            ser.is_valid(raise_exception=True)
            entry = entry_record(account=self.account(id), **ser.validated_data,
                                 **self.audit_kwargs())
            entry = (LedgerEntry.objects.select_related(
                "account", "invoice", "credit_note", "payment", "reverses").get(pk=entry.pk))
            return Response(EntrySerializer(entry).data, status=status.HTTP_201_CREATED)
        entries = (LedgerEntry.objects.filter(account=self.account(id))
                   .select_related("account", "invoice", "credit_note", "payment", "reverses")
                   .order_by("-seq"))
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(EntrySerializer(page, many=True).data)

    @extend_schema(responses=OpenItemSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="open-items", filterset_class=None,
            search_fields=[], ordering_fields=[], pagination_class=None)
    def open_items(self, request: Request, id: Any = None) -> Response:
        """Invoices, fees and other debits with something left to pay, oldest due first,
        with what is paid and open and their state (open, partially_paid, overdue)."""
        items = open_items(self.account(id), today_of(request))
        return Response(OpenItemSerializer(items, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("from", date, description="First day (YYYY-MM-DD, inclusive; "
                             "default: the first of this month)."),
            OpenApiParameter("to", date, description="Last day (YYYY-MM-DD, inclusive; "
                             "default: today)."),
        ],
        responses=StatementSerializer)
    @action(detail=True, methods=["get"], filterset_class=None, search_fields=[],
            ordering_fields=[], pagination_class=None)
    def statement(self, request: Request, id: Any = None) -> Response:
        """Statement of account for a period: opening balance, the entries booked in it
        with the running balance, closing balance."""
        account = self.account(id)
        today = today_of(request)
        query = StatementQuerySerializer(data={
            "start": request.query_params.get("from") or today.replace(day=1),
            "end": request.query_params.get("to") or today})
        if not query.is_valid():
            names = {"start": "from", "end": "to"}
            raise serializers.ValidationError(
                {names.get(k, k): v for k, v in query.errors.items()})
        st = account_statement(account, query.validated_data["start"], query.validated_data["end"])
        return Response(StatementSerializer(st).data)


# --- aging -----------------------------------------------------------------------------------


class AgingRowSerializer(serializers.Serializer):
    currency = serializers.CharField()
    property = serializers.UUIDField(allow_null=True, help_text="by=property: the property "
                                     "(null: debits without an invoice, e.g. fees).")
    property_name = serializers.CharField(allow_null=True)
    account = serializers.UUIDField(allow_null=True, help_text="by=account: the account.")
    tenant_name = serializers.CharField(allow_null=True)
    not_due = MoneyField()
    d1_30 = MoneyField(help_text="1–30 days overdue.")
    d31_60 = MoneyField()
    d61_90 = MoneyField()
    d90_plus = MoneyField(help_text="More than 90 days overdue.")
    overdue = MoneyField()
    total = MoneyField()


class AgingSerializer(serializers.Serializer):
    date = BoundedDateField()
    by = serializers.ChoiceField(choices=["organization", "property", "account"])
    buckets = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))
    rows = AgingRowSerializer(many=True)


class AgingQuerySerializer(serializers.Serializer):
    by = serializers.ChoiceField(choices=["organization", "property", "account"],
                                 required=False, default="organization")
    date = BoundedDateField(required=False)
    property = PublicIdRelatedField(queryset=Property.objects.all(), required=False)


class AgingView(OrganizationAPIView):
    """What is owed, by how long past its due day: not due, 1–30, 31–60, 61–90, > 90 days,
    per currency (never added across currencies), for the organization, per property or
    per account, on ``date`` (default: today)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("by", str, enum=["organization", "property", "account"]),
            OpenApiParameter("date", date, description="The day to age on (default today)."),
            OpenApiParameter("property", str, description="Only this property (public id)."),
        ],
        responses=AgingSerializer)
    def get(self, request: Request) -> Response:
        query = AgingQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        by = query.validated_data["by"]
        day = query.validated_data.get("date") or today_of(request)
        prop = query.validated_data.get("property")
        rows = aging(day, by=by, property_id=prop.pk if prop else None)
        keys = [r.key for r in rows if r.key is not None]
        props = ({p.pk: p for p in Property.objects.filter(pk__in=keys)}
                 if by == "property" else {})
        accounts = ({a.pk: a for a in Account.objects.filter(pk__in=keys)
                     .select_related("tenant")} if by == "account" else {})
        out = []
        for r in rows:
            p, a = props.get(r.key), accounts.get(r.key)
            out.append({
                "currency": r.currency,
                "property": p.public_id if p else None, "property_name": p.name if p else None,
                "account": a.public_id if a else None,
                "tenant_name": a.tenant.name if a else None,
                **r.buckets, "overdue": r.overdue, "total": r.total,
            })
        rows_data = [AgingRowSerializer(x, context={"currency": x["currency"]}).data
                     for x in out]
        return Response({"date": day, "by": by,
                         "buckets": [{"key": k, "label": v} for k, v in BUCKETS],
                         "rows": rows_data})
