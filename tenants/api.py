"""REST endpoints of tenants (thin: parse input, call a service or selector, shape output).

Dates may be given as ``YYYY-MM-DD`` (midnight in the property's time zone; for badges the
organization's) or as ISO 8601 timestamps with an offset.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import django_filters
from django.db import transaction
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationModelViewSet,
    OrganizationViewSet,
    PublicIdRelatedField,
)
from meters.models import BillingPoint, Property
from tenants import selectors, services
from tenants.models import BadgeAssignment, Move, Occupancy, Ownership, RfidBadge, Tenant


@extend_schema_field(OpenApiTypes.STR)
class InstantField(serializers.Field):
    """A date (property midnight) or an aware ISO 8601 timestamp; shown as a timestamp."""

    default_error_messages = {
        "invalid": "Give a date (YYYY-MM-DD) or a timestamp with offset (ISO 8601).",
        "naive": "This timestamp has no offset; add one (e.g. +01:00) or give a plain date.",
    }

    def to_internal_value(self, data: Any) -> date | datetime:
        text = str(data).strip()
        try:
            moment = parse_datetime(text) if "T" in text or " " in text else parse_date(text)
        except ValueError:
            moment = None
        if moment is None:
            self.fail("invalid")
        if isinstance(moment, datetime) and moment.tzinfo is None:
            self.fail("naive")
        return moment

    def to_representation(self, value: datetime) -> str:
        return value.isoformat()


class ConnectionIdField(PublicIdRelatedField):
    """A billing point by its connection ID (``connectionID``), as integrators name it."""

    default_error_messages = {
        "does_not_exist": "No billing point with connectionID '{value}' in this organization.",
        "invalid": "Not a valid connectionID.",
    }

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("queryset", BillingPoint.objects.all())
        kwargs.setdefault("slug_field", "connection_id")
        kwargs.setdefault("source", "billing_point")
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Alternative to billing_point: its connection ID.")
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str | int) or not str(data).strip():
            self.fail("invalid")
        queryset = self.get_queryset()
        try:
            return queryset.get(connection_id=str(data).strip())
        except queryset.model.DoesNotExist:
            self.fail("does_not_exist", value=data)


class BillingPointOrConnectionMixin:
    """``billing_point`` (id) or ``connectionID``: one of them, and if both, the same."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        raw = getattr(self, "initial_data", {}) or {}
        if "billing_point" not in attrs:
            raise serializers.ValidationError(
                {"billing_point": ["Give billing_point (an id) or connectionID."]}
            )
        if raw.get("billing_point") and raw.get("connectionID"):
            by_id = self.fields["billing_point"].to_internal_value(raw["billing_point"])
            if by_id != attrs["billing_point"]:
                raise serializers.ValidationError(
                    {"connectionID": ["billing_point and connectionID name different points."]}
                )
        return super().validate(attrs)  # type: ignore[misc]


class TenantRef(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()
    customer_number = serializers.CharField()


class ActorMixin:
    def actor(self) -> Any:
        return self.request.user  # type: ignore[attr-defined]


# --- tenants ------------------------------------------------------------------------------


class TenantSerializer(OrganizationModelSerializer):
    customer_number = serializers.CharField(
        max_length=32, required=False, allow_blank=True, help_text="Empty: the next free number."
    )

    class Meta:
        model = Tenant
        fields = [
            "id",
            "kind",
            "name",
            "contact_person",
            "email",
            "phone",
            "language",
            "customer_number",
            "notes",
            "created_at",
        ]
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


# --- occupancies --------------------------------------------------------------------------


class OccupancyFilter(django_filters.FilterSet):
    tenant = django_filters.UUIDFilter(field_name="tenant__public_id")
    billing_point = django_filters.UUIDFilter(field_name="billing_point__public_id")
    open = django_filters.BooleanFilter(field_name="move_out", lookup_expr="isnull")

    class Meta:
        model = Occupancy
        fields = ["tenant", "billing_point", "open"]


class OccupancySerializer(BillingPointOrConnectionMixin, OrganizationModelSerializer):
    tenant = PublicIdRelatedField(queryset=Tenant.objects.all())
    billing_point = PublicIdRelatedField(queryset=BillingPoint.objects.all(), required=False)
    connectionID = ConnectionIdField()  # noqa: N815 - the API's published name
    tenant_name = serializers.CharField(source="tenant.name", read_only=True)
    billing_point_name = serializers.CharField(source="billing_point.name", read_only=True)
    move_in = InstantField()
    move_out = InstantField(required=False, allow_null=True)

    class Meta:
        model = Occupancy
        fields = [
            "id",
            "tenant",
            "tenant_name",
            "billing_point",
            "connectionID",
            "billing_point_name",
            "move_in",
            "move_out",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        validators: list = []


class OccupancyEndSerializer(serializers.Serializer):
    move_out = InstantField()


class SegmentSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    tenant = TenantRef(allow_null=True)
    vacancy = serializers.BooleanField(source="is_vacancy")


class OccupancyViewSet(
    ActorMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    OrganizationViewSet,
):
    """Tenants at billing points over [move_in, move_out). Overlaps answer 409 naming the
    occupant and dates. End one with ``POST …/end/``; register moves at ``/moves/``."""

    queryset = Occupancy.objects.select_related("tenant", "billing_point")
    serializer_class = OccupancySerializer
    filterset_class = OccupancyFilter
    ordering_fields = ["move_in", "move_out"]
    search_fields = ["tenant__name", "billing_point__name", "billing_point__connection_id"]

    def perform_create(self, serializer: OccupancySerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.occupancy_create(
            tenant=data["tenant"],
            billing_point=data["billing_point"],
            move_in=data["move_in"],
            move_out=data.get("move_out"),
            actor=self.actor(),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("billing_point", OpenApiTypes.UUID, required=True),
            OpenApiParameter("start", OpenApiTypes.DATETIME, required=True),
            OpenApiParameter("end", OpenApiTypes.DATETIME, required=True),
        ],
        responses=SegmentSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def occupants(self, request: Request) -> Response:
        """Who is billed for a billing point over [start, end): segments without gaps,
        vacancies attributed to the owner."""
        ser = OccupantsQuerySerializer(data=request.query_params)
        ser.is_valid(raise_exception=True)
        bp, start, end = (ser.validated_data[k] for k in ("billing_point", "start", "end"))
        tz = bp.property.time_zone
        start = services.to_instant(start, tz, field="start")
        end = services.to_instant(end, tz, field="end")
        if end <= start:
            raise serializers.ValidationError({"end": ["The end must be after the start."]})
        segments = selectors.billing_point_occupants(bp, start, end)
        return Response(SegmentSerializer(segments, many=True).data)


class OccupantsQuerySerializer(serializers.Serializer):
    billing_point = PublicIdRelatedField(queryset=BillingPoint.objects.select_related("property"))
    start = InstantField()
    end = InstantField()


# --- moves --------------------------------------------------------------------------------


class MoveSerializer(BillingPointOrConnectionMixin, OrganizationModelSerializer):
    billing_point = PublicIdRelatedField(queryset=BillingPoint.objects.all(), required=False)
    connectionID = ConnectionIdField()  # noqa: N815 - the API's published name
    moved_at = InstantField()
    incoming_tenant = PublicIdRelatedField(
        queryset=Tenant.objects.all(),
        required=False,
        allow_null=True,
        source="incoming.tenant",
        help_text="Who moves in; null or absent: the billing point becomes vacant (owner).",
    )
    outgoing_tenant = TenantRef(source="outgoing.tenant", read_only=True, allow_null=True)
    incoming = TenantRef(source="incoming.tenant", read_only=True, allow_null=True)
    vacancy = serializers.BooleanField(source="is_vacancy", read_only=True)
    readings = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text='Register values at the move, by meter serial: {"E-100": "1234.5"}.',
    )

    class Meta:
        model = Move
        fields = [
            "id",
            "billing_point",
            "connectionID",
            "moved_at",
            "incoming_tenant",
            "outgoing_tenant",
            "incoming",
            "vacancy",
            "readings",
            "note",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class MoveViewSet(
    ActorMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    OrganizationViewSet,
):
    """Register a move in one operation: the occupant at ``moved_at`` moves out, the
    incoming tenant moves in (or vacancy), meter readings at that instant are stored.
    Any error (400/409) writes nothing."""

    queryset = Move.objects.select_related("billing_point", "outgoing__tenant", "incoming__tenant")
    serializer_class = MoveSerializer
    ordering_fields = ["moved_at", "created_at"]

    @transaction.atomic
    def perform_create(self, serializer: MoveSerializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.move_register(
            billing_point=data["billing_point"],
            moved_at=data["moved_at"],
            incoming_tenant=data.get("incoming", {}).get("tenant"),
            readings=data.get("readings"),
            note=data.get("note", ""),
            actor=self.actor(),
        )


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
    returned_at = InstantField(read_only=True)

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


# --- actions on one row -------------------------------------------------------------------
# Separate views (not viewset actions) so that their request bodies are exactly what the
# action takes, without the writable relations of the row's serializer.


class OccupancyEndView(ActorMixin, OrganizationAPIView):
    """Set (or move) the move-out of an occupancy; 409 if it would overlap the next one."""

    queryset = Occupancy.objects.select_related("tenant", "billing_point")

    @extend_schema(request=OccupancyEndSerializer, responses=OccupancySerializer)
    def post(self, request: Request, id: str) -> Response:
        occupancy = get_object_or_404(self.queryset, public_id=id)
        ser = OccupancyEndSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        occupancy = services.occupancy_end(
            occupancy=occupancy, move_out=ser.validated_data["move_out"], actor=self.actor()
        )
        return Response(OccupancySerializer(occupancy).data)


class BadgeReturnView(ActorMixin, OrganizationAPIView):
    """The badge is back: the assignment ends and the badge can be handed out again."""

    queryset = BadgeAssignment.objects.select_related("badge", "tenant")

    @extend_schema(request=BadgeReturnSerializer, responses=BadgeAssignmentSerializer)
    def post(self, request: Request, id: str) -> Response:
        assignment = get_object_or_404(self.queryset, public_id=id)
        ser = BadgeReturnSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        assignment = services.badge_return(
            assignment=assignment,
            returned_at=ser.validated_data["returned_at"],
            actor=self.actor(),
        )
        return Response(BadgeAssignmentSerializer(assignment).data, status=status.HTTP_200_OK)
