"""Tenant portal access over the API: list, invite, resend the link, revoke.

The raw token is never returned: it travels only in the invitation email, like the
portal's invitations (an integrator triggers the email, it does not log in as the tenant).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationModelSerializer,
    OrganizationViewSet,
    PublicIdRelatedField,
)
from tenants import services
from tenants.api.fields import ActorMixin
from tenants.models import Tenant, TenantAccess


class TenantAccessSerializer(OrganizationModelSerializer):
    tenant = PublicIdRelatedField(queryset=Tenant.objects.all())
    email = serializers.EmailField(
        required=False, allow_blank=True, help_text="Empty: the tenant's email address."
    )
    status = serializers.CharField(read_only=True, help_text="invited, expired, active, revoked")

    class Meta:
        model = TenantAccess
        fields = ["id", "tenant", "email", "status", "invited_at", "expires_at", "sent_at",
                  "accepted_at", "revoked_at"]
        read_only_fields = ["invited_at", "expires_at", "sent_at", "accepted_at", "revoked_at"]


class TenantAccessViewSet(
    ActorMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    OrganizationViewSet,
):
    """Tenants' logins to the tenant portal. Creating one emails the tenant a one-time link."""

    queryset = TenantAccess.objects.select_related("tenant")
    serializer_class = TenantAccessSerializer
    filterset_fields = ["tenant__public_id", "email"]
    ordering_fields = ["invited_at", "accepted_at"]

    def perform_create(self, serializer: TenantAccessSerializer) -> None:
        serializer.instance, _ = services.tenant_portal_invite(
            tenant=serializer.validated_data["tenant"],
            email=serializer.validated_data.get("email", ""), actor=self.actor(),
        )

    @extend_schema(request=None, responses=TenantAccessSerializer)
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, id: str) -> Response:
        """A new link by email; the previous one stops working (409 once accepted)."""
        access, _ = services.tenant_portal_resend(access=self.get_object(), actor=self.actor())
        return Response(TenantAccessSerializer(access).data)

    @extend_schema(request=None, responses=TenantAccessSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, id: str) -> Response:
        """End the tenant's access now (idempotent)."""
        access = services.tenant_portal_revoke(access=self.get_object(), actor=self.actor())
        return Response(TenantAccessSerializer(access).data)
