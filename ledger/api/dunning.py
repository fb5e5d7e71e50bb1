"""REST endpoints of dunning (thin: parse, call one service, shape).

``dunning-levels/`` CRUD (the ladder); ``dunning-runs/preview/?date=`` (what a run on that
day would send; reads only); ``dunning-runs/`` (the runs; ``POST`` ``{"date"}`` queues the
day's run → 202 with it, or 200 with the run of the day still going); ``dunning-notices/``
(sent notices with their deliveries, ``{id}/letter/`` the PDF, ``POST {id}/resend/`` emails
it again); ``invoice-disputes/`` (open, list, ``{id}/resolve/``);
``POST accounts/{id}/dunning-pause/`` ``{"until", "reason"}`` (``until: null`` resumes).
Reads need ``viewer``, writes ``manager``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiParameter,
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
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationModelViewSet,
    OrganizationViewSet,
    PublicIdRelatedField,
)
from billspree.core.api_fields import BoundedDateField
from ledger.models import (
    Account,
    DunningDelivery,
    DunningLevel,
    DunningNotice,
    DunningRun,
    DunningRunTrigger,
    InvoiceDispute,
)
from ledger.services import accounts as account_services
from ledger.services import dunning as services
from ledger.services import dunning_runs as run_services
from ledger.views.dunning import letter_response

MONEY = {"max_digits": 16, "decimal_places": 2, "coerce_to_string": True}


class DunningLevelSerializer(OrganizationModelSerializer):
    class Meta:
        model = DunningLevel
        fields = ["id", "position", "name", "days_overdue", "fee_amount", "fee_tax_rate",
                  "letter_title", "letter_text", "send_email", "disconnection_pending",
                  "active", "created_at"]
        read_only_fields = ["created_at"]


class DunningLevelViewSet(OrganizationModelViewSet):
    """The organization's reminder ladder; a level is sent once per invoice, so many days
    after its due date."""

    queryset = DunningLevel.objects.all()
    serializer_class = DunningLevelSerializer
    ordering_fields = ["position", "days_overdue"]

    def perform_create(self, serializer: DunningLevelSerializer) -> None:
        serializer.instance = services.dunning_level_create(
            **serializer.validated_data, **self.audit_kwargs())

    def perform_update(self, serializer: DunningLevelSerializer) -> None:
        serializer.instance = services.dunning_level_update(
            level=serializer.instance, **serializer.validated_data, **self.audit_kwargs())

    def perform_destroy(self, instance: DunningLevel) -> None:
        services.dunning_level_delete(level=instance, **self.audit_kwargs())


class DueSerializer(serializers.Serializer):
    invoice = serializers.UUIDField()
    invoice_number = serializers.CharField()
    account = serializers.UUIDField()
    tenant = serializers.CharField()
    currency = serializers.CharField()
    level = serializers.UUIDField()
    level_name = serializers.CharField()
    level_position = serializers.IntegerField()
    due_on = serializers.DateField()
    days_overdue = serializers.IntegerField()
    amount_due = serializers.DecimalField(**MONEY)
    fee = serializers.DecimalField(**MONEY)
    fee_tax = serializers.DecimalField(**MONEY)


def _due_row(d: services.DunningDue) -> dict[str, Any]:
    return {"invoice": d.invoice.public_id, "invoice_number": d.invoice.number or "",
            "account": d.account.public_id, "tenant": d.account.tenant.name,
            "currency": str(d.account.currency), "level": d.level.public_id,
            "level_name": d.level.name, "level_position": d.level.position,
            "due_on": d.due_on, "days_overdue": d.days_overdue, "amount_due": d.amount_due,
            "fee": d.fee, "fee_tax": d.fee_tax}


class PreviewSerializer(serializers.Serializer):
    date = serializers.DateField()
    due = DueSerializer(many=True)


def _org_today(request) -> date:
    return timezone.localdate(timezone=request.organization.time_zone)


class DunningPreviewView(OrganizationAPIView):
    """What a run on ``date`` (default: today in the organization's time zone) would send."""

    @extend_schema(parameters=[OpenApiParameter("date", OpenApiTypes.DATE)],
                   responses=PreviewSerializer)
    def get(self, request: Request) -> Response:
        field = BoundedDateField(required=False)
        raw = request.query_params.get("date")
        try:
            day = field.run_validation(raw) if raw is not None else _org_today(request)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"date": exc.detail}) from exc
        rows = services.dunning_preview(day)
        return Response({"date": day, "due": [_due_row(r) for r in rows]})


class DunningNoticeSerializer(OrganizationModelSerializer):
    invoice = PublicIdRelatedField(read_only=True)
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    level = PublicIdRelatedField(read_only=True)
    level_name = serializers.CharField(source="level.name", read_only=True)
    account = PublicIdRelatedField(read_only=True)
    fee_entry = PublicIdRelatedField(read_only=True)
    amount_due = serializers.DecimalField(**MONEY, read_only=True)
    recipient = serializers.CharField(read_only=True, help_text="Empty: not emailed.")
    has_letter = serializers.SerializerMethodField()
    run = PublicIdRelatedField(read_only=True)
    deliveries = serializers.SerializerMethodField()

    class Meta:
        model = DunningNotice
        fields = ["id", "invoice", "invoice_number", "level", "level_name", "account",
                  "run_on", "sent_at", "amount_due", "days_overdue", "fee_entry", "recipient",
                  "email_status", "email_error", "has_letter", "run", "deliveries"]
        read_only_fields = fields

    def get_has_letter(self, obj: DunningNotice) -> bool:
        return bool(obj.letter)

    @extend_schema_field(serializers.ListField(child=serializers.DictField()))
    def get_deliveries(self, obj: DunningNotice) -> list[dict]:
        """Every email of the letter, newest first (the first one with the run, then each
        resend)."""
        return [{"id": d.public_id, "kind": d.kind, "recipient": d.recipient,
                 "status": d.status, "error": d.error, "created_at": d.created_at,
                 "sent_at": d.sent_at} for d in obj.deliveries.all()]


class RunInputSerializer(serializers.Serializer):
    date = BoundedDateField(required=False, help_text="Default: today (organization's zone). "
                                                      "Not in the future.")


class DunningRunSerializer(OrganizationModelSerializer):
    date = serializers.DateField(source="run_on", read_only=True)
    started_by = serializers.SerializerMethodField()

    class Meta:
        model = DunningRun
        fields = ["id", "date", "trigger", "status", "started_by", "planned", "sent", "skipped",
                  "failed", "error", "created_at", "started_at", "finished_at"]
        read_only_fields = fields

    def get_started_by(self, run: DunningRun) -> str:
        """The member's email, the API key's name, or "" (the schedule)."""
        if run.started_by_id:
            return run.started_by.email
        return run.started_by_key.name if run.started_by_key_id else ""


class DunningRunDetailSerializer(DunningRunSerializer):
    notices = serializers.SerializerMethodField()

    class Meta(DunningRunSerializer.Meta):
        fields = [*DunningRunSerializer.Meta.fields, "notices"]
        read_only_fields = fields

    @extend_schema_field(DunningNoticeSerializer(many=True))
    def get_notices(self, run: DunningRun) -> list[dict]:
        rows = (DunningNotice.objects.filter(run=run)
                .select_related("invoice", "level", "account", "fee_entry")
                .prefetch_related("deliveries").order_by("pk"))
        return DunningNoticeSerializer(rows, many=True).data


class DunningRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationViewSet):
    """Runs that sent a day's reminders (the schedule's, the portal's, the API's), with
    their counts and, one by one, the notices they sent. ``POST`` ``{"date"}`` queues the
    run of that day (default today) and answers 202 with it; while a run of the day is
    queued or running, the same run is answered (200) and nothing more is started."""

    queryset = DunningRun.objects.select_related("started_by", "started_by_key")
    serializer_class = DunningRunSerializer
    filterset_fields = ["status", "trigger", "run_on"]
    ordering_fields = ["created_at", "run_on"]

    def get_serializer_class(self):
        return DunningRunDetailSerializer if self.action == "retrieve" \
            else DunningRunSerializer

    @extend_schema(request=RunInputSerializer,
                   responses={202: DunningRunSerializer, 200: DunningRunSerializer})
    def create(self, request: Request) -> Response:
        ser = RunInputSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        run = run_services.dunning_run_start(day=ser.validated_data.get("date"),
                                             trigger=DunningRunTrigger.API,
                                             **self.audit_kwargs())
        run.refresh_from_db()
        return Response(DunningRunSerializer(run).data,
                        status=status.HTTP_202_ACCEPTED if run.created_now else status.HTTP_200_OK)


class DunningDeliverySerializer(OrganizationModelSerializer):
    class Meta:
        model = DunningDelivery
        fields = ["id", "kind", "recipient", "status", "error", "created_at", "sent_at"]
        read_only_fields = fields


class DunningNoticeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           OrganizationViewSet):
    """Reminders sent (a level once per invoice)."""

    queryset = (DunningNotice.objects.select_related("invoice", "level", "account", "fee_entry",
                                                      "run").prefetch_related("deliveries"))
    serializer_class = DunningNoticeSerializer
    filterset_fields = ["email_status", "run_on"]
    ordering_fields = ["run_on", "sent_at"]

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def letter(self, request: Request, id: Any = None):
        return letter_response(self.get_object())

    @extend_schema(request=None, responses={202: DunningDeliverySerializer})
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, id: Any = None) -> Response:
        """Email the letter again to the tenant's current address: a new delivery (202,
        queued); no fee, no new level. 400 when the tenant has no email address."""
        delivery = run_services.dunning_notice_resend(notice=self.get_object(),
                                                      **self.audit_kwargs())
        return Response(DunningDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class DisputeSerializer(OrganizationModelSerializer):
    invoice = PublicIdRelatedField(queryset=Invoice.objects.all())
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = InvoiceDispute
        fields = ["id", "invoice", "reason", "opened_at", "resolved_at", "resolution",
                  "is_open"]
        read_only_fields = ["opened_at", "resolved_at", "resolution"]


class ResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=500)


class InvoiceDisputeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                            mixins.CreateModelMixin, OrganizationViewSet):
    """Disputes: an invoice in open dispute gets no reminders."""

    queryset = InvoiceDispute.objects.select_related("invoice")
    serializer_class = DisputeSerializer
    ordering_fields = ["opened_at"]

    def perform_create(self, serializer: DisputeSerializer) -> None:
        serializer.instance = services.dispute_open(**serializer.validated_data,
                                                    **self.audit_kwargs())

    @extend_schema(request=ResolveSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, id: Any = None) -> Response:
        dispute = self.get_object()
        ser = ResolveSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        dispute = services.dispute_resolve(dispute=dispute, **ser.validated_data,
                                           **self.audit_kwargs())
        return Response(DisputeSerializer(dispute).data)


class PauseSerializer(serializers.Serializer):
    until = BoundedDateField(allow_null=True)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                   default="")


class PauseAnswerSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    dunning_paused_until = serializers.DateField(allow_null=True)
    dunning_pause_reason = serializers.CharField()


class AccountDunningPauseView(OrganizationAPIView):
    """Pause the account's reminders until a date ("payment promised until …");
    ``until: null`` resumes them."""

    @extend_schema(request=PauseSerializer, responses=PauseAnswerSerializer)
    def post(self, request: Request, id: Any) -> Response:
        account = get_object_or_404(Account.objects.all(), public_id=id)
        ser = PauseSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        acc = account_services.dunning_pause(account=account, **ser.validated_data,
                                             **self.audit_kwargs())
        return Response({"id": acc.public_id, "dunning_paused_until": acc.dunning_paused_until,
                         "dunning_pause_reason": acc.dunning_pause_reason},
                        status=status.HTTP_200_OK)
