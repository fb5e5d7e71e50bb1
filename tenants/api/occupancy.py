"""Occupancies (with "who is billed" segments) and moves."""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationViewSet,
    PublicIdRelatedField,
)
from billspree.core.api_fields import BoundedDateTimeField
from billspree.core.billing_inputs import IMPACTS_SCHEMA, impacts_payload
from meters.models import BillingPoint
from tenants import selectors, services
from tenants.api.fields import (
    ActorMixin,
    BillingPointOrConnectionMixin,
    ConnectionIdField,
    InstantField,
    RowActionMixin,
    TenantRef,
)
from tenants.models import Move, Occupancy, Tenant

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
    affects_invoices = serializers.SerializerMethodField()

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
            "affects_invoices",
        ]
        read_only_fields = ["created_at"]
        validators: list = []


    @extend_schema_field(IMPACTS_SCHEMA)
    def get_affects_invoices(self, obj) -> list:
        """What this write changed in billing (drafts made stale, adjustments); empty on
        reads."""
        return impacts_payload(obj)


class OccupancyEndSerializer(serializers.Serializer):
    move_out = InstantField()


class SegmentSerializer(serializers.Serializer):
    start = BoundedDateTimeField()
    end = BoundedDateTimeField()
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
    affects_invoices = serializers.SerializerMethodField()

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
            "affects_invoices",
        ]
        read_only_fields = ["created_at"]


    @extend_schema_field(IMPACTS_SCHEMA)
    def get_affects_invoices(self, obj) -> list:
        """What this write changed in billing (drafts made stale, adjustments); empty on
        reads."""
        return impacts_payload(obj)


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


# Separate views (not viewset actions) so that their request bodies are exactly what the
# action takes, without the writable relations of the row's serializer.


class OccupancyEndView(RowActionMixin, OrganizationAPIView):
    """Set (or move) the move-out of an occupancy; 409 if it would overlap the next one."""

    queryset = Occupancy.objects.select_related("tenant", "billing_point")
    input_class = OccupancyEndSerializer
    output_class = OccupancySerializer

    def act(self, row: Occupancy, data: dict) -> Occupancy:
        return services.occupancy_end(occupancy=row, move_out=data["move_out"], actor=self.actor())

    @extend_schema(request=OccupancyEndSerializer, responses=OccupancySerializer)
    def post(self, request: Request, id: str) -> Response:
        return self.act_on(request, id)
