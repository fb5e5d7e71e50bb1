"""Register maps (a meter behind a gateway, read with a profile) and relay switching."""

from __future__ import annotations

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationModelSerializer,
    OrganizationModelViewSet,
    PublicIdRelatedField,
)
from billspree.core.models import Role
from gateways import services
from gateways.models import (
    Gateway,
    Profile,
    RegisterMap,
)
from gateways.services.config import POLL_STATE_FIELDS
from gateways.services.wire_lock import GatewayBusy
from meters.models import Meter

HEALTH_FIELDS = ["health", *POLL_STATE_FIELDS]


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


class RelaySerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=[("connect", "Supply on"), ("disconnect", "Supply off")],
        help_text="connect closes the relay / opens the valve; disconnect does the opposite.",
    )
    reason = serializers.CharField(max_length=300, help_text="Kept in the audit log.")


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
