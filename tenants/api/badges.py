"""RFID badges and who holds them."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationViewSet,
    PublicIdRelatedField,
)
from tenants import services
from tenants.api.fields import (
    ActorMixin,
    InstantField,
    RowActionMixin,
    TenantRef,
)
from tenants.models import BadgeAssignment, RfidBadge, Tenant

# --- badges -------------------------------------------------------------------------------


class BadgeSerializer(OrganizationModelSerializer):
    holder = serializers.SerializerMethodField()

    class Meta:
        model = RfidBadge
        fields = ["id", "uid", "label", "holder", "created_at"]
        read_only_fields = ["uid", "created_at"]

    @extend_schema_field(TenantRef(allow_null=True))
    def get_holder(self, badge: RfidBadge) -> dict | None:
        held = getattr(badge, "open_assignments", None)
        if held is None:
            held = [a for a in badge.assignments.all() if a.returned_at is None]
        return TenantRef(held[0].tenant).data if held else None


class BadgeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationViewSet):
    """RFID badges (EV charging, laundry). A badge is registered the first time it is
    assigned (``POST /badge-assignments/``)."""

    queryset = RfidBadge.objects.prefetch_related(
        Prefetch(
            "assignments",
            queryset=BadgeAssignment.objects.filter(returned_at__isnull=True).select_related(
                "tenant"
            ),
            to_attr="open_assignments",
        )
    )
    serializer_class = BadgeSerializer
    search_fields = ["uid", "label"]


class BadgeAssignmentSerializer(OrganizationModelSerializer):
    uid = serializers.CharField(source="badge.uid", max_length=64)
    label = serializers.CharField(max_length=100, required=False, allow_blank=True, write_only=True)
    badge = serializers.UUIDField(source="badge.public_id", read_only=True)
    tenant = PublicIdRelatedField(queryset=Tenant.objects.all())
    tenant_name = serializers.CharField(source="tenant.name", read_only=True)
    assigned_at = InstantField()
    returned_at = InstantField(read_only=True, allow_null=True)

    class Meta:
        model = BadgeAssignment
        fields = [
            "id",
            "uid",
            "label",
            "badge",
            "tenant",
            "tenant_name",
            "assigned_at",
            "returned_at",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        validators: list = []


class BadgeReturnSerializer(serializers.Serializer):
    returned_at = InstantField()


class BadgeAssignmentFilter(django_filters.FilterSet):
    tenant = django_filters.UUIDFilter(field_name="tenant__public_id")
    badge = django_filters.UUIDFilter(field_name="badge__public_id")
    uid = django_filters.CharFilter(field_name="badge__uid", lookup_expr="iexact")
    open = django_filters.BooleanFilter(field_name="returned_at", lookup_expr="isnull")

    class Meta:
        model = BadgeAssignment
        fields = ["tenant", "badge", "uid", "open"]


class BadgeAssignmentViewSet(
    ActorMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    OrganizationViewSet,
):
    """A badge in a tenant's hands over a period; one holder at a time (409 names the
    holder). ``POST …/return/`` takes it back."""

    queryset = BadgeAssignment.objects.select_related("badge", "tenant")
    serializer_class = BadgeAssignmentSerializer
    filterset_class = BadgeAssignmentFilter
    ordering_fields = ["assigned_at"]

    def perform_create(self, serializer: BadgeAssignmentSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.badge_assign(
            uid=data["badge"]["uid"],
            label=data.get("label", ""),
            tenant=data["tenant"],
            assigned_at=data["assigned_at"],
            actor=self.actor(),
        )


class BadgeReturnView(RowActionMixin, OrganizationAPIView):
    """The badge is back: the assignment ends and the badge can be handed out again."""

    queryset = BadgeAssignment.objects.select_related("badge", "tenant")
    input_class = BadgeReturnSerializer
    output_class = BadgeAssignmentSerializer

    def act(self, row: BadgeAssignment, data: dict) -> BadgeAssignment:
        return services.badge_return(
            assignment=row, returned_at=data["returned_at"], actor=self.actor()
        )

    @extend_schema(request=BadgeReturnSerializer, responses=BadgeAssignmentSerializer)
    def post(self, request: Request, id: str) -> Response:
        return self.act_on(request, id)
