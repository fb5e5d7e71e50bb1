"""Tenants and ownership endpoints."""

from __future__ import annotations

from rest_framework import mixins, serializers

from billspree.core.api_base import (
    OrganizationModelSerializer,
    OrganizationModelViewSet,
    OrganizationViewSet,
    PublicIdRelatedField,
)
from meters.models import BillingPoint, Property
from tenants import services
from tenants.api.fields import (
    ActorMixin,
)
from tenants.models import Ownership, Tenant
from tenants.services.common import TENANT_FIELDS

# --- tenants ------------------------------------------------------------------------------


class TenantSerializer(OrganizationModelSerializer):
    customer_number = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="Empty: the next free number."
    )

    class Meta:
        model = Tenant
        fields = ["id", *TENANT_FIELDS, "created_at"]
        read_only_fields = ["created_at"]


class TenantViewSet(ActorMixin, OrganizationModelViewSet):
    """Tenants: people and companies billed for billing points (owners included)."""

    queryset = Tenant.objects.all()
    serializer_class = TenantSerializer
    filterset_fields = ["kind", "language", "customer_number"]
    search_fields = ["name", "customer_number", "email", "contact_person"]
    ordering_fields = ["name", "customer_number", "created_at"]

    def perform_create(self, serializer: TenantSerializer) -> None:
        serializer.instance = services.tenant_create(
            actor=self.actor(), **serializer.validated_data
        )

    def perform_update(self, serializer: TenantSerializer) -> None:
        serializer.instance = services.tenant_update(
            tenant=serializer.instance, actor=self.actor(), **serializer.validated_data
        )

    def perform_destroy(self, instance: Tenant) -> None:
        services.tenant_delete(tenant=instance, actor=self.actor())


# --- ownership ----------------------------------------------------------------------------


class OwnershipSerializer(OrganizationModelSerializer):
    owner = PublicIdRelatedField(queryset=Tenant.objects.all())
    property = PublicIdRelatedField(queryset=Property.objects.all())
    billing_point = PublicIdRelatedField(
        queryset=BillingPoint.objects.all(), required=False, allow_null=True
    )
    owner_name = serializers.CharField(source="owner.name", read_only=True)

    class Meta:
        model = Ownership
        fields = ["id", "owner", "owner_name", "property", "billing_point", "created_at"]
        read_only_fields = ["created_at"]
        validators: list = []


class OwnershipViewSet(
    ActorMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    OrganizationViewSet,
):
    """Who owns a property (or, overriding it, one billing point); vacancies are billed to
    them. POST replaces the owner of that property or billing point."""

    queryset = Ownership.objects.select_related("owner", "property", "billing_point")
    serializer_class = OwnershipSerializer

    def perform_create(self, serializer: OwnershipSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.ownership_set(
            owner=data["owner"],
            property=data["property"],
            billing_point=data.get("billing_point"),
            actor=self.actor(),
        )
