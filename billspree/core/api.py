"""REST endpoints of the core: the organization, members, invitations, API keys, audit."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core import services
from billspree.core.api_base import (
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationViewSet,
)
from billspree.core.api_fields import BoundedDateTimeField
from billspree.core.banking import validate_bic, validate_iban
from billspree.core.limits import date_in_range
from billspree.core.models import ApiKey, ApiKeyScope, AuditEvent, Invitation, Membership, Role
from billspree.core.postal import validate_country


class OrganizationSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    name = serializers.CharField(max_length=200)
    default_currency = serializers.CharField(max_length=3)
    time_zone = serializers.CharField()
    iban = serializers.CharField(
        max_length=42, required=False, allow_blank=True, validators=[validate_iban],
        help_text="Account tenants pay into (checked: country, length, checksum); stored "
                  "compact. Printed as a QR-bill (CHF) or EPC QR code (EUR) on statements.")
    bic = serializers.CharField(max_length=14, required=False, allow_blank=True,
                                validators=[validate_bic])
    vat_number = serializers.CharField(max_length=40, required=False, allow_blank=True)
    street = serializers.CharField(max_length=70, required=False, allow_blank=True)
    building_number = serializers.CharField(max_length=16, required=False, allow_blank=True)
    postal_code = serializers.CharField(max_length=16, required=False, allow_blank=True)
    town = serializers.CharField(max_length=35, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True,
                                    validators=[validate_country],
                                    help_text="Two-letter ISO code, e.g. CH or DE.")
    created_at = BoundedDateTimeField(read_only=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["default_currency"] = str(instance.default_currency)
        data["time_zone"] = str(instance.time_zone)
        return data


class OrganizationView(OrganizationAPIView):
    """The organization the caller acts in (the API key's, or the member's selected one)."""

    write_role = Role.ADMIN

    @extend_schema(responses=OrganizationSerializer)
    def get(self, request: Request) -> Response:
        return Response(OrganizationSerializer(request.organization).data)

    @extend_schema(request=OrganizationSerializer, responses=OrganizationSerializer)
    def patch(self, request: Request) -> Response:
        ser = OrganizationSerializer(request.organization, data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        org = services.organization_update(actor=self.audit_kwargs()["actor"], **ser.validated_data)
        return Response(OrganizationSerializer(org).data)


class MemberSerializer(OrganizationModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True)
    name = serializers.CharField(source="user.get_full_name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "created_at"]
        read_only_fields = ["created_at"]


class MemberViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    OrganizationViewSet,
):
    queryset = Membership.objects.select_related("user")
    serializer_class = MemberSerializer
    write_role = Role.ADMIN
    filterset_fields = ["role"]
    search_fields = ["user__email", "user__first_name", "user__last_name"]
    ordering_fields = ["created_at", "role"]

    def perform_update(self, serializer: MemberSerializer) -> None:
        services.member_role_set(
            membership=serializer.instance,
            role=serializer.validated_data.get("role", serializer.instance.role),
            actor=self.request.user,
        )

    def perform_destroy(self, instance: Membership) -> None:
        services.member_remove(membership=instance, actor=self.request.user)


class InvitationSerializer(OrganizationModelSerializer):
    status = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "role",
            "status",
            "created_at",
            "expires_at",
            "sent_at",
            "accepted_at",
        ]
        read_only_fields = ["created_at", "expires_at", "sent_at", "accepted_at"]

    def get_status(self, obj: Invitation) -> str:
        from django.utils import timezone

        if obj.accepted_at:
            return "accepted"
        if obj.revoked_at:
            return "revoked"
        return "expired" if obj.expires_at <= timezone.now() else "pending"


class InvitationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, OrganizationViewSet
):
    queryset = Invitation.objects.all()
    serializer_class = InvitationSerializer
    read_role = Role.ADMIN
    write_role = Role.ADMIN
    search_fields = ["email"]

    def perform_create(self, serializer: InvitationSerializer) -> None:
        invitation, _token = services.invitation_create(
            email=serializer.validated_data["email"],
            role=serializer.validated_data.get("role", Role.VIEWER),
            actor=self.request.user,
        )
        serializer.instance = invitation

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, id: str) -> Response:
        invitation = services.invitation_revoke(invitation=self.get_object(), actor=request.user)
        return Response(self.get_serializer(invitation).data)


class ApiKeyExpiryField(BoundedDateTimeField):
    """An instant, or a plain date ``YYYY-MM-DD`` passed on as a date (the service makes it
    local midnight in the organization's time zone, as everywhere in the API)."""

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            try:
                day = dt.date.fromisoformat(value.strip())
            except ValueError:
                self.fail("invalid", format="YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss]±hh:mm")
            if not date_in_range(day):
                self.fail("out_of_range")
            return day
        return super().to_internal_value(value)


class ApiKeySerializer(OrganizationModelSerializer):
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiKeyScope.choices), allow_empty=False
    )
    active = serializers.BooleanField(
        source="is_active", read_only=True, help_text="Neither revoked nor expired."
    )
    expires_at = ApiKeyExpiryField(
        required=False,
        allow_null=True,
        help_text="Optional. From this instant the key answers 401. An instant with an offset, "
        "or a date (local midnight in the organization's time zone); must be in the future.",
    )

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "name",
            "prefix",
            "scopes",
            "active",
            "created_at",
            "last_used_at",
            "revoked_at",
            "expires_at",
        ]
        read_only_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text="The secret. Shown once; store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class ApiKeyViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    OrganizationViewSet,
):
    """API keys. The secret is in the creation response only; DELETE revokes (keeps history)."""

    queryset = ApiKey.objects.all()
    serializer_class = ApiKeySerializer
    read_role = Role.ADMIN
    write_role = Role.ADMIN
    search_fields = ["name", "prefix"]

    @extend_schema(responses={201: ApiKeyCreatedSerializer})
    def create(self, request: Request) -> Response:
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        key, secret = services.api_key_create(
            name=ser.validated_data["name"],
            scopes=ser.validated_data["scopes"],
            actor=request.user,
            expires_at=ser.validated_data.get("expires_at"),
        )
        key.key = secret
        return Response(ApiKeyCreatedSerializer(key).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance: ApiKey) -> None:
        services.api_key_revoke(api_key=instance, actor=self.request.user)

    @extend_schema(request=None, responses=ApiKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, id: str) -> Response:
        key = services.api_key_revoke(api_key=self.get_object(), actor=request.user)
        return Response(self.get_serializer(key).data)


class AuditEventSerializer(OrganizationModelSerializer):
    actor = serializers.CharField(source="actor.email", default=None, read_only=True,
                                  allow_null=True)
    api_key = serializers.CharField(source="api_key.name", default=None, read_only=True,
                                    allow_null=True)

    class Meta:
        model = AuditEvent
        fields = ["id", "created_at", "actor", "api_key", "action", "target", "detail"]


class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationViewSet):
    queryset = AuditEvent.objects.select_related("actor", "api_key")
    serializer_class = AuditEventSerializer
    read_role = Role.ADMIN
    filterset_fields = ["action"]
    search_fields = ["action", "target"]
