"""REST endpoints of parent summaries: list and detail (children, their invoices, what is
still open), ``POST`` to create the summaries of a period (write scope), and the PDF.

A payment of a summary is an ordinary ``POST /payments/`` on the parent account quoting
the summary's ``payment_reference`` (or a bank file line quoting it): it is split over the
children's invoices on the summary, oldest due first; the rest is credit on the parent.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import F, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, OpenApiTypes, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import OrganizationViewSet, PublicIdRelatedField
from billspree.core.api_fields import BoundedDateField, MoneyField
from ledger.api.accounts import today_of
from ledger.models import Account, ParentSummary
from ledger.selectors.invoices import PayState
from ledger.selectors.summaries import summaries_queryset, summary_blocks, summary_state
from ledger.services.summaries import parent_summaries_create
from ledger.views.summaries import pdf_response

STATES = [(PayState.OPEN, "Open"), (PayState.PARTIALLY_PAID, "Partially paid"),
          (PayState.PAID, "Paid")]


class SummarySerializer(serializers.ModelSerializer):
    """A parent summary: the children's invoices issued ``first_day``–``last_day`` (local
    issue days, inclusive), their ``total``, what is still ``open`` and the reference the
    parent pays it with."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    account = serializers.UUIDField(source="account.public_id", read_only=True,
                                    help_text="The parent account.")
    account_name = serializers.CharField(source="account.tenant.name", read_only=True)
    total = MoneyField(read_only=True)
    open = MoneyField(source="open_amount", read_only=True,
                      help_text="What is still open on its invoices.")
    invoices_count = serializers.IntegerField(read_only=True)
    payment_state = serializers.SerializerMethodField()
    pdf = serializers.SerializerMethodField()

    class Meta:
        model = ParentSummary
        fields = ["id", "account", "account_name", "first_day", "last_day", "currency",
                  "invoices_count", "total", "open", "payment_state", "payment_reference", "pdf",
                  "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=STATES))
    def get_payment_state(self, obj: ParentSummary) -> str:
        return summary_state(obj.total, obj.open_amount)

    @extend_schema_field(OpenApiTypes.URI)
    def get_pdf(self, obj: ParentSummary) -> str:
        url = f"/api/v1/parent-summaries/{obj.public_id}/pdf/"
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class SummaryInvoiceSerializer(serializers.Serializer):
    invoice = serializers.UUIDField(source="item.invoice.public_id")
    number = serializers.CharField(source="item.invoice.number")
    amount = MoneyField(source="item.amount", currency_source="item.summary.currency")
    paid = MoneyField(currency_source="item.summary.currency")
    open = MoneyField(currency_source="item.summary.currency")
    due_on = serializers.DateField(source="money.due_on", allow_null=True)


class SummaryChildSerializer(serializers.Serializer):
    account = serializers.UUIDField(source="account.public_id")
    account_name = serializers.CharField(source="account.tenant.name")
    subtotal = MoneyField(currency_source="account.currency")
    open = MoneyField(currency_source="account.currency")
    invoices = SummaryInvoiceSerializer(source="items", many=True)


class SummaryDetailSerializer(SummarySerializer):
    children = serializers.SerializerMethodField()

    class Meta(SummarySerializer.Meta):
        fields = [*SummarySerializer.Meta.fields, "children"]
        read_only_fields = fields

    @extend_schema_field(SummaryChildSerializer(many=True))
    def get_children(self, obj: ParentSummary) -> list[dict[str, Any]]:
        return SummaryChildSerializer(summary_blocks(obj, self.context.get("today")),
                                      many=True).data


class SummaryCreateSerializer(serializers.Serializer):
    first_day = BoundedDateField(help_text="Invoices issued on this local day or later.")
    last_day = BoundedDateField(help_text="…and on this local day or earlier (inclusive).")
    parent = PublicIdRelatedField(queryset=Account.objects.all(), required=False,
                                  allow_null=True, help_text="Only this parent account "
                                  "(public id); omit it for every parent account.")

    def validate(self, attrs: dict) -> dict:
        if attrs["last_day"] < attrs["first_day"]:
            raise serializers.ValidationError({"last_day": ["The period ends before it "
                                                            "starts."]})
        return attrs


class SummaryFilter(django_filters.FilterSet):
    account = django_filters.UUIDFilter(field_name="account__public_id",
                                        help_text="Public id (UUID) of the parent account.")
    currency = django_filters.CharFilter(field_name="currency", lookup_expr="iexact")
    period_from = django_filters.DateFilter(
        field_name="last_day", lookup_expr="gte",
        help_text="Periods ending on this day or later (with period_to: overlapping).")
    period_to = django_filters.DateFilter(
        field_name="first_day", lookup_expr="lte",
        help_text="Periods starting on this day or earlier.")
    payment_state = django_filters.ChoiceFilter(choices=STATES, method="filter_state")

    class Meta:
        model = ParentSummary
        fields: list[str] = []

    def filter_state(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        if value == PayState.PAID:
            return qs.filter(open_amount__lte=0)
        if value == PayState.PARTIALLY_PAID:
            return qs.filter(open_amount__gt=0, open_amount__lt=F("total"))
        return qs.filter(open_amount__gt=0, open_amount__gte=F("total"))


class ParentSummaryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           OrganizationViewSet):
    """Parent summaries (one per parent account and period). ``POST`` creates the summaries
    of a period (again: only invoices issued since are added; an invoice is on one summary
    only) and answers them; ``GET …/{id}/pdf/`` is the summary with each child's
    statement attached."""

    queryset = summaries_queryset()
    serializer_class = SummaryCreateSerializer
    filterset_class = SummaryFilter
    search_fields = ["account__tenant__name", "payment_reference"]
    ordering_fields = ["first_day", "last_day", "total", "created_at"]

    def get_queryset(self) -> QuerySet:
        return summaries_queryset()

    def get_serializer_class(self):
        if self.action == "create":
            return SummaryCreateSerializer
        return SummaryDetailSerializer if self.action == "retrieve" else SummarySerializer

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "today": today_of(self.request)}

    @extend_schema(request=SummaryCreateSerializer,
                   responses={201: SummarySerializer(many=True),
                              200: OpenApiResponse(SummarySerializer(many=True), description=(
                                  "Nothing new to summarise: the period's summaries as "
                                  "they are (maybe none)."))})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ser = SummaryCreateSerializer(data=request.data, context={"request": request})
        ser.is_valid(raise_exception=True)
        d = ser.validated_data
        before = set(ParentSummary.objects.filter(
            first_day=d["first_day"], last_day=d["last_day"]).values_list("pk", "total"))
        made = parent_summaries_create(first_day=d["first_day"], last_day=d["last_day"],
                                       parent=d.get("parent"), **self.audit_kwargs())
        rows = summaries_queryset().filter(pk__in=[s.pk for s in made])
        changed = {(s.pk, s.total) for s in made} - before
        return Response(SummarySerializer(rows, many=True, context=self.get_serializer_context(
        )).data, status=status.HTTP_201_CREATED if changed else status.HTTP_200_OK)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], filterset_class=None, search_fields=[],
            ordering_fields=[], pagination_class=None)
    def pdf(self, request: Request, id: Any = None):
        summary = get_object_or_404(ParentSummary.objects.select_related(
            "account__tenant", "organization"), public_id=id)
        return pdf_response(summary)
