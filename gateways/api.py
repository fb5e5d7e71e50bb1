"""REST endpoints of gateways: configuration, profiles, register maps, health, polls, relays.

Roles: reading needs a viewer; "poll now" and relay switching an operator; configuration
(gateways, profiles, register maps) a manager. Addresses are 0-based everywhere; each
profile value also shows the 1-based number manuals print (``register_number``).
"""

from __future__ import annotations

from django.db.models import Count
from django_filters import rest_framework as filters
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
from gateways.models import (
    ADDRESS_HELP,
    Gateway,
    GatewayError,
    PollRun,
    Profile,
    ProfileValue,
    RegisterMap,
)
from gateways.services.config import GATEWAY_FIELDS, POLL_STATE_FIELDS
from gateways.services.wire_lock import GatewayBusy
from meters.models import Meter, Property

HEALTH_FIELDS = ["health", *POLL_STATE_FIELDS]


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


class ProfileValueSerializer(serializers.ModelSerializer):
    address = serializers.IntegerField(min_value=0, max_value=65535, help_text=ADDRESS_HELP)
    register_number = serializers.IntegerField(
        source="printed_number",
        read_only=True,
        help_text="The 1-based number manuals print (3xxxx input, 4xxxx holding).",
    )

    class Meta:
        model = ProfileValue
        fields = [
            "key",
            "label",
            "function_code",
            "address",
            "register_number",
            "data_type",
            "word_order",
            "scale",
            "unit",
            "is_reading",
        ]
        extra_kwargs = {"key": {"validators": []}}


class ProfileSerializer(OrganizationModelSerializer):
    values = ProfileValueSerializer(many=True)

    class Meta:
        model = Profile
        fields = [
            "id",
            "name",
            "builtin",
            "manufacturer",
            "meter_type",
            "description",
            "relay_kind",
            "relay_address",
            "relay_on_value",
            "relay_off_value",
            "values",
            "created_at",
        ]
        read_only_fields = ["builtin", "created_at"]
        extra_kwargs = {"name": {"validators": []}}


class RegisterMapSerializer(OrganizationModelSerializer):
    meter = PublicIdRelatedField(queryset=Meter.objects.all())
    gateway = PublicIdRelatedField(queryset=Gateway.objects.all())
    profile = PublicIdRelatedField(queryset=Profile.objects.all())
    meter_serial = serializers.CharField(source="meter.serial_number", read_only=True)
    health = serializers.SerializerMethodField()

    class Meta:
        model = RegisterMap
        fields = [
            "id",
            "meter",
            "meter_serial",
            "gateway",
            "device_id",
            "profile",
            "enabled",
            "last_value",
            "relay_state",
            "relay_changed_at",
            "relay_read_at",
            "register_switch",
            *HEALTH_FIELDS,
            "created_at",
        ]
        read_only_fields = [
            "register_switch",
            "last_value",
            "relay_state",
            "relay_changed_at",
            "relay_read_at",
            "created_at",
            *[f for f in HEALTH_FIELDS if f != "health"],
        ]

    def get_health(self, obj: RegisterMap) -> str:
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


class RelaySerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=[("connect", "Supply on"), ("disconnect", "Supply off")],
        help_text="connect closes the relay / opens the valve; disconnect does the opposite.",
    )
    reason = serializers.CharField(max_length=300, help_text="Kept in the audit log.")


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


class ProfileViewSet(OrganizationModelViewSet):
    """Meter profiles: built-in (read-only) and the organization's own."""

    queryset = Profile.objects.prefetch_related("values")
    serializer_class = ProfileSerializer
    filterset_fields = ["meter_type", "builtin"]
    search_fields = ["name", "manufacturer"]

    def list(self, request: Request, *args, **kwargs) -> Response:
        services.profile_builtins_ensure()
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer: ProfileSerializer) -> None:
        data = dict(serializer.validated_data)
        values = data.pop("values")
        serializer.instance = services.profile_create(values=values, **data, **self.audit_kwargs())

    def perform_update(self, serializer: ProfileSerializer) -> None:
        data = dict(serializer.validated_data)
        services.profile_update(
            profile=serializer.instance,
            values=data.pop("values", None),
            **data,
            **self.audit_kwargs(),
        )

    def perform_destroy(self, instance: Profile) -> None:
        services.profile_delete(profile=instance, **self.audit_kwargs())


class RegisterMapFilter(filters.FilterSet):
    gateway = filters.UUIDFilter(field_name="gateway__public_id")
    meter = filters.UUIDFilter(field_name="meter__public_id")

    class Meta:
        model = RegisterMap
        fields = ["gateway", "meter", "enabled", "relay_state"]


#: Seconds a client is told to wait (``Retry-After``) when the gateway is busy.
RELAY_RETRY_AFTER_S = 5


class RegisterMapViewSet(OrganizationModelViewSet):
    """Which gateway, device id and profile read each meter; ``…/{id}/relay/`` switches it."""

    queryset = RegisterMap.objects.select_related("meter", "gateway", "profile")
    serializer_class = RegisterMapSerializer
    filterset_class = RegisterMapFilter
    search_fields = ["meter__serial_number", "meter__label"]
    ordering_fields = ["device_id", "last_success_at"]

    def perform_create(self, serializer: RegisterMapSerializer) -> None:
        serializer.instance = services.register_map_create(
            **serializer.validated_data, **self.audit_kwargs()
        )

    def perform_update(self, serializer: RegisterMapSerializer) -> None:
        services.register_map_update(
            register_map=serializer.instance, **serializer.validated_data, **self.audit_kwargs()
        )

    def perform_destroy(self, instance: RegisterMap) -> None:
        services.register_map_delete(register_map=instance, **self.audit_kwargs())

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        if isinstance(exc, GatewayBusy):  # a poll or another command has the gateway
            response["Retry-After"] = str(RELAY_RETRY_AFTER_S)
        return response

    @extend_schema(request=RelaySerializer, responses=RegisterMapSerializer)
    @action(detail=True, methods=["post"], write_role=Role.OPERATOR)
    def relay(self, request: Request, id: str) -> Response:
        """Switch the meter's supply: writes its relay coil/register, audited with the reason.

        409 codes: ``gateway_busy`` (a poll or another command kept the gateway busy; nothing
        was sent; ``Retry-After`` says when to try again), ``device_unreachable`` (the
        switch did not take effect: nothing was delivered, the meter refused it, or reading
        it back right after showed the old position), ``relay_state_unknown`` (the write
        may have reached the meter but the relay could not be read back: read it with
        ``relay/read/`` before switching again), ``no_relay``."""
        register_map = self.get_object()
        ser = RelaySerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        register_map = services.relay_switch(
            register_map=register_map,
            on=ser.validated_data["action"] == "connect",
            reason=ser.validated_data["reason"],
            **self.audit_kwargs(),
        )
        return Response(RegisterMapSerializer(register_map).data)

    @extend_schema(request=None, responses=RegisterMapSerializer)
    @action(detail=True, methods=["post"], url_path="relay/read", write_role=Role.OPERATOR)
    def relay_read(self, request: Request, id: str) -> Response:
        """Read where the meter's relay or valve stands now (``relay_state``,
        ``relay_read_at``); a position changed outside billspree is saved and audited.
        409 if the gateway does not answer (``device_unreachable``) or stays busy
        (``gateway_busy``)."""
        register_map = services.relay_state_read(register_map=self.get_object())
        return Response(RegisterMapSerializer(register_map).data)


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
