"""REST endpoints: billing batches and bill runs (thin: parse, call one service, shape).

``billing-batches/`` CRUD and ``{id}/subscriptions/`` (add / remove / a property's);
``billing-batches/{id}/runs/`` (GET the batch's runs, POST start one: 201, or 200 with the
run that already exists for the period); ``bill-runs/`` list and detail with ``progress``
(the status endpoint); ``bill-runs/{id}/items/?status=failed`` (the run report);
``bill-runs/{id}/issue/``, ``/cancel/``, ``/resume/``, ``/retry-skipped/``;
``bill-run-items/{id}/retry/``.
Reads need ``viewer``, writes ``manager``.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billing import services
from billing.models import (
    BillingBatch,
    BillingCycle,
    BillRun,
    BillRunItem,
    BillRunStatus,
    BillRunTrigger,
    Invoice,
    ItemStatus,
    Subscription,
)
from billing.selectors.runs import bill_run_items, bill_run_progress
from billing.services import runs as run_services
from billspree.core.api_base import (
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationModelViewSet,
    OrganizationViewSet,
    PublicIdRelatedField,
)
from billspree.core.api_fields import BoundedDateField
from billspree.core.schema import paginated
from meters.models import Property

# --- batches --------------------------------------------------------------------------------


class BatchSerializer(OrganizationModelSerializer):
    cycle = serializers.ChoiceField(choices=BillingCycle.choices, required=False)
    subscription_count = serializers.SerializerMethodField()

    class Meta:
        model = BillingBatch
        fields = ["id", "name", "cycle", "billing_day", "anchor_month", "auto_issue",
                  "send_statements", "schedule_enabled", "schedule_time", "notes",
                  "subscription_count", "created_at"]
        read_only_fields = ["created_at"]

    def get_subscription_count(self, batch: BillingBatch) -> int:
        count = getattr(batch, "subscription_count", None)
        return batch.subscriptions.count() if count is None else count


class BatchSubscriptionsSerializer(serializers.Serializer):
    add = PublicIdRelatedField(queryset=Subscription.objects.all(), many=True, required=False)
    remove = PublicIdRelatedField(queryset=Subscription.objects.all(), many=True,
                                  required=False)
    property = PublicIdRelatedField(queryset=Property.objects.all(), required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError({"add": ["Give add, remove or property."]})
        return attrs


class BatchViewSet(OrganizationModelViewSet):
    """Billing batches: subscriptions billed together on a cycle, with a schedule."""

    serializer_class = BatchSerializer
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]

    queryset = BillingBatch.objects.annotate(
        subscription_count=Count("subscriptions")).order_by("name")

    def perform_create(self, serializer: BatchSerializer) -> None:
        serializer.instance = services.batch_create(**serializer.validated_data,
                                                    **self.audit_kwargs())

    def perform_update(self, serializer: BatchSerializer) -> None:
        serializer.instance = services.batch_update(
            batch=serializer.instance, **serializer.validated_data, **self.audit_kwargs())

    def perform_destroy(self, instance: BillingBatch) -> None:
        services.batch_delete(batch=instance, **self.audit_kwargs())

    @extend_schema(request=BatchSubscriptionsSerializer, responses=BatchSerializer)
    @action(detail=True, methods=["post"])
    def subscriptions(self, request: Request, id: Any = None) -> Response:
        """Put subscriptions in the batch (``add``; moved from another batch), take some out
        (``remove``), or add every subscription of a ``property`` that is in no batch."""
        batch = self.get_object()
        ser = BatchSubscriptionsSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        changed = services.batch_subscriptions_set(batch=batch, **ser.validated_data,
                                                   **self.audit_kwargs())
        fresh = self.get_queryset().get(pk=batch.pk)
        return Response({**BatchSerializer(fresh).data, "changed": changed})


# --- runs -----------------------------------------------------------------------------------


class RunSerializer(OrganizationModelSerializer):
    batch = serializers.UUIDField(source="batch.public_id", read_only=True)
    batch_name = serializers.CharField(source="batch.name", read_only=True)

    class Meta:
        model = BillRun
        fields = ["id", "batch", "batch_name", "period_start", "period_end", "status",
                  "trigger", "auto_issue", "send_statements", "total_items", "created_at",
                  "started_at", "finished_at"]
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    progress = serializers.SerializerMethodField()
    stale_drafts = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "progress", "stale_drafts"]
        read_only_fields = fields

    def get_progress(self, run: BillRun) -> dict[str, Any]:
        return bill_run_progress(run)

    @extend_schema_field({"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "string", "format": "uuid"}, "tenant": {"type": "string"},
        "stale_reason": {"type": "string"}}}})
    def get_stale_drafts(self, run: BillRun) -> list[dict[str, Any]]:
        """Drafts whose data changed after the run computed them: refused at issue (409
        ``invoice_stale``) until recomputed (``POST …/recompute/``)."""
        rows = run.invoices.filter(status="draft").exclude(stale_reason="").values_list(
            "public_id", "tenant__name", "stale_reason")
        return [{"id": str(p), "tenant": t, "stale_reason": r} for p, t, r in rows]


class RunStartSerializer(serializers.Serializer):
    period_start = BoundedDateField(
        required=False, help_text="First day (local). Default: the batch's last complete period.")
    period_end = BoundedDateField(required=False, help_text="Day after the last (exclusive).")


class ItemSerializer(OrganizationModelSerializer):
    subscription = serializers.UUIDField(source="subscription.public_id", read_only=True)
    billing_point = serializers.UUIDField(source="subscription.billing_point.public_id",
                                          read_only=True)
    billing_point_name = serializers.CharField(source="subscription.billing_point.name",
                                               read_only=True)
    property_name = serializers.CharField(source="subscription.billing_point.property.name",
                                          read_only=True)

    class Meta:
        model = BillRunItem
        fields = ["id", "subscription", "billing_point", "billing_point_name", "property_name",
                  "status", "invoice_count", "diagnostics", "error", "attempts", "updated_at"]
        read_only_fields = fields


class IssueSerializer(serializers.Serializer):
    invoices = PublicIdRelatedField(
        queryset=Invoice.objects.all(), many=True, required=False, allow_empty=False,
        help_text="Public ids of the drafts to issue; omit to issue all the run's drafts.")


def _trigger(view) -> str:
    return BillRunTrigger.API if getattr(view.request, "api_key", None) else BillRunTrigger.PORTAL


class BatchRunsView(OrganizationAPIView):
    """A batch's runs (GET) and starting one (POST; idempotent per period)."""

    def batch(self, id: Any) -> BillingBatch:
        return get_object_or_404(BillingBatch.objects.all(), public_id=id)

    @extend_schema(responses=RunSerializer(many=True))
    def get(self, request: Request, id: Any) -> Response:
        runs = BillRun.objects.filter(batch=self.batch(id)).select_related("batch")
        return Response(RunSerializer(runs[:100], many=True).data)

    @extend_schema(request=RunStartSerializer,
                   responses={201: RunDetailSerializer, 200: RunDetailSerializer})
    def post(self, request: Request, id: Any) -> Response:
        batch = self.batch(id)
        ser = RunStartSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        run = run_services.bill_run_start(batch=batch, trigger=_trigger(self),
                                          **ser.validated_data, **self.audit_kwargs())
        code = status.HTTP_201_CREATED if run.created_now else status.HTTP_200_OK
        return Response(RunDetailSerializer(run).data, status=code)


class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationViewSet):
    """Bill runs; the detail carries ``progress`` (poll it while the run is live)."""

    queryset = BillRun.objects.select_related("batch")
    filterset_fields = ["status"]
    ordering_fields = ["created_at", "period_start"]

    def get_serializer_class(self):
        return RunDetailSerializer if self.action != "list" else RunSerializer

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        batch = self.request.query_params.get("batch")
        return queryset.filter(batch__public_id=batch) if batch and self.action == "list" \
            else queryset

    @extend_schema(
        parameters=[OpenApiParameter("status", enum=ItemStatus.values)],
        responses=ItemSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    @paginated
    def items(self, request: Request, id: Any = None) -> Response:
        """The run report: items (created / skipped with the reasons / failed with the
        error), filtered by ``status``."""
        wanted = request.query_params.get("status") or None
        if wanted is not None and wanted not in ItemStatus.values:
            raise serializers.ValidationError(
                {"status": [f"Unknown status; one of {', '.join(ItemStatus.values)}."]})
        run = get_object_or_404(BillRun.objects.all(), public_id=id)  # ?status is the items'
        page = self.paginate_queryset(bill_run_items(run=run, status=wanted))
        return self.get_paginated_response(ItemSerializer(page, many=True).data)

    @extend_schema(request=IssueSerializer, responses=RunDetailSerializer)
    @action(detail=True, methods=["post"])
    def issue(self, request: Request, id: Any = None) -> Response:
        """Issue all (or the chosen) drafts: gapless numbers, then statements."""
        run = self.get_object()
        ser = IssueSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        run_services.bill_run_issue(run=run, invoices=ser.validated_data.get("invoices"),
                                    **self.audit_kwargs())
        return self._answer(run)

    @extend_schema(request=None, responses=RunDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, id: Any = None) -> Response:
        """Cancel before anything is issued: drafts are voided."""
        run_services.bill_run_cancel(run=self.get_object(), **self.audit_kwargs())
        return self._answer(self.get_object())

    @extend_schema(request=None, responses=RunDetailSerializer)
    @action(detail=True, methods=["post"])
    def recompute(self, request: Request, id: Any = None) -> Response:
        """Recompute the run's stale drafts from current readings, occupancy and meters."""
        from billing.services import bill_run_recompute_stale

        done = bill_run_recompute_stale(run=self.get_object(), **self.audit_kwargs())
        return Response({**self._data(self.get_object()), "recomputed": len(done)})

    @extend_schema(request=None, responses={202: RunDetailSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, id: Any = None) -> Response:
        """Re-dispatch chunks that are pending or whose worker died (the sweep does it
        every minute anyway)."""
        run = self.get_object()
        queued = run_services.bill_run_resume(run=run)
        return Response({**self._data(run), "queued": queued}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=RunDetailSerializer)
    @action(detail=True, methods=["post"], url_path="retry-skipped")
    def retry_skipped(self, request: Request, id: Any = None) -> Response:
        """Bill the run's skipped items again (after the data was fixed): their drafts are
        added to the run; nothing is billed twice. 409 when none is skipped."""
        tally = run_services.bill_run_retry_skipped(run=self.get_object(),
                                                    **self.audit_kwargs())
        return Response({**self._data(self.get_object()), "retried": tally})

    def _data(self, run: BillRun) -> dict[str, Any]:
        return RunDetailSerializer(BillRun.objects.select_related("batch").get(pk=run.pk)).data

    def _answer(self, run: BillRun) -> Response:
        return Response(self._data(run))


class ItemRetryView(OrganizationAPIView):
    """Bill a failed (or skipped) item again, alone."""

    @extend_schema(request=None, responses=ItemSerializer)
    def post(self, request: Request, id: Any) -> Response:
        item = get_object_or_404(BillRunItem.objects.select_related("run"), public_id=id)
        item = run_services.bill_run_item_retry(item=item, **self.audit_kwargs())
        fresh = bill_run_items(run=item.run).get(pk=item.pk)
        return Response(ItemSerializer(fresh).data)


__all__ = ["BatchRunsView", "BatchViewSet", "ItemRetryView", "RunViewSet", "BillRunStatus"]
