"""Gateways: configuration, health, "poll now", poll runs and errors."""

from __future__ import annotations

from django.db.models import Count
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationModelSerializer,
    OrganizationModelViewSet,
    OrganizationViewSet,
    PublicIdRelatedField,
)
from billspree.core.api_fields import BoundedDateTimeField
from billspree.core.models import Role
from gateways import services
from gateways.api.register_maps import HEALTH_FIELDS, RegisterMapSerializer
from gateways.models import (
    Gateway,
    GatewayError,
    PollRun,
)
from gateways.services.config import GATEWAY_FIELDS
from meters.models import Property


class GatewaySerializer(OrganizationModelSerializer):
    property = PublicIdRelatedField(queryset=Property.objects.all())
    health = serializers.SerializerMethodField()
    meter_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Gateway
        fields = [
            "id",
            *GATEWAY_FIELDS,
            "meter_count",
            *HEALTH_FIELDS,
            "created_at",
        ]
        read_only_fields = [f for f in HEALTH_FIELDS if f != "health"] + ["created_at"]

    def get_health(self, obj: Gateway) -> str:
        return obj.health()


class PollRunSerializer(OrganizationModelSerializer):
    gateway = serializers.UUIDField(source="gateway.public_id", read_only=True)

    class Meta:
        model = PollRun
        fields = [
            "id",
            "gateway",
            "slot",
            "manual",
            "status",
            "started_at",
            "finished_at",
            "requests",
            "meters_ok",
            "readings_stored",
            "error_count",
            "latency_ms",
            "summary",
        ]


class GatewayErrorSerializer(OrganizationModelSerializer):
    gateway = serializers.UUIDField(source="gateway.public_id", read_only=True)
    register_map = serializers.UUIDField(
        source="register_map.public_id", read_only=True, default=None
    )

    class Meta:
        model = GatewayError
        fields = [
            "id",
            "gateway",
            "register_map",
            "kind",
            "message",
            "exception_code",
            "occurred_at",
        ]


class PollNowSerializer(serializers.Serializer):
    queued = serializers.BooleanField(help_text="True: a new poll was queued.")
    run = PollRunSerializer(
        allow_null=True, help_text="The poll of this slot when nothing new was queued."
    )
    detail = serializers.CharField()


class GatewayViewSet(OrganizationModelViewSet):
    """Modbus gateways. ``POST …/{id}/poll/`` queues a poll now (operator)."""

    queryset = (
        Gateway.objects.select_related("property")
        .annotate(meter_count=Count("register_maps"))
        .order_by("name")
    )
    serializer_class = GatewaySerializer
    filterset_fields = ["enabled", "transport"]
    search_fields = ["name", "host", "property__name"]
    ordering_fields = ["name", "last_success_at", "created_at"]

    def perform_create(self, serializer: GatewaySerializer) -> None:
        serializer.instance = services.gateway_create(
            **serializer.validated_data, **self.audit_kwargs()
        )

    def perform_update(self, serializer: GatewaySerializer) -> None:
        services.gateway_update(
            gateway=serializer.instance, **serializer.validated_data, **self.audit_kwargs()
        )

    def perform_destroy(self, instance: Gateway) -> None:
        services.gateway_delete(gateway=instance, **self.audit_kwargs())

    @extend_schema(request=None, responses={202: PollNowSerializer, 200: PollNowSerializer})
    @action(detail=True, methods=["post"], write_role=Role.OPERATOR)
    def poll(self, request: Request, id: str) -> Response:
        """Poll now. 202 ``queued: true``: a worker polls the gateway in a moment (see
        ``runs/``). Asked again within the same 10 seconds, nothing new is queued: 200 with
        ``queued: false`` and that poll's ``run`` (finished or running), or 409
        ``poll_pending`` while its worker has not started it yet."""
        run = services.gateway_poll_request(gateway=self.get_object(), **self.audit_kwargs())
        if run is None:
            return Response({"queued": True, "run": None, "detail": "Poll queued."},
                            status=status.HTTP_202_ACCEPTED)
        detail = (
            f"This gateway was polled moments ago (started {run.started_at:%H:%M:%S} UTC, "
            f"{run.get_status_display().lower()}); nothing new was queued."
        )
        return Response({"queued": False, "run": PollRunSerializer(run).data, "detail": detail})

    @extend_schema(responses=RegisterMapSerializer(many=True))
    @action(detail=True, methods=["get"])
    def meters(self, request: Request, id: str) -> Response:
        maps = self.get_object().register_maps.select_related("meter", "gateway", "profile")
        return Response(RegisterMapSerializer(maps, many=True).data)

    @extend_schema(responses=PollRunSerializer(many=True))
    @action(detail=True, methods=["get"])
    def runs(self, request: Request, id: str) -> Response:
        runs = self.get_object().poll_runs.select_related("gateway")[:50]
        return Response(PollRunSerializer(runs, many=True).data)

    @extend_schema(responses=GatewayErrorSerializer(many=True))
    @action(detail=True, methods=["get"])
    def errors(self, request: Request, id: str) -> Response:
        errors = self.get_object().errors.select_related("gateway", "register_map")[:100]
        return Response(GatewayErrorSerializer(errors, many=True).data)

    @extend_schema(responses=inline_serializer("GatewayHealthSummary", {
        "counts": serializers.DictField(child=serializers.IntegerField(),
                                        help_text="Gateways by health."),
        "gateways": inline_serializer("GatewayHealthRow", {
            "id": serializers.UUIDField(),
            "name": serializers.CharField(),
            "health": serializers.CharField(),
            "last_success_at": BoundedDateTimeField(allow_null=True),
            "last_error": serializers.CharField(allow_blank=True),
            "last_latency_ms": serializers.IntegerField(allow_null=True),
        }, many=True),
    }))
    @action(detail=False, methods=["get"])
    def health(self, request: Request) -> Response:
        """Connectivity summary: each gateway's health and counts by health."""
        gateways = list(self.get_queryset())
        rows = [
            {
                "id": str(g.public_id),
                "name": g.name,
                "health": g.health(),
                "last_success_at": g.last_success_at,
                "last_error": g.last_error,
                "last_latency_ms": g.last_latency_ms,
            }
            for g in gateways
        ]
        counts: dict[str, int] = {}
        for row in rows:
            counts[row["health"]] = counts.get(row["health"], 0) + 1
        return Response({"counts": counts, "gateways": rows})


class PollRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationViewSet):
    queryset = PollRun.objects.select_related("gateway")
    serializer_class = PollRunSerializer
    filterset_fields = ["status", "manual"]
    ordering_fields = ["started_at"]


class GatewayErrorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationViewSet):
    queryset = GatewayError.objects.select_related("gateway", "register_map")
    serializer_class = GatewayErrorSerializer
    filterset_fields = ["kind"]
    search_fields = ["message"]
    ordering_fields = ["occurred_at"]
