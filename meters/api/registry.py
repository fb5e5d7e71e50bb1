"""API of properties, billing points (also /connections/) and meters, and the meter import."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationModelViewSet,
    PublicIdRelatedField,
)
from billspree.core.api_parsers import FormParser, JSONParser, MultiPartParser
from meters import selectors, services
from meters.api.fields import CurrencyCodeField, TimeZoneField
from meters.models import BillingPoint, Meter, Property

# --- properties ------------------------------------------------------------------------


class PropertySerializer(OrganizationModelSerializer):
    time_zone = TimeZoneField(required=False)
    currency = CurrencyCodeField(required=False, max_length=3)
    billing_point_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Property
        fields = [
            "id",
            "name",
            "kind",
            "address",
            "time_zone",
            "currency",
            "billing_point_count",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        validators: list = []


class PropertyViewSet(OrganizationModelViewSet):
    """Buildings and sites. A property with billing points cannot be deleted (409)."""

    queryset = selectors.property_list()
    serializer_class = PropertySerializer
    filterset_fields = ["kind"]
    search_fields = ["name", "address"]
    ordering_fields = ["name", "created_at"]

    def perform_create(self, serializer: PropertySerializer) -> None:
        serializer.instance = services.property_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: PropertySerializer) -> None:
        services.property_update(
            property=serializer.instance, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance: Property) -> None:
        services.property_delete(property=instance, actor=self.request.user)


# --- billing points (connections) ------------------------------------------------------


class BillingPointSerializer(OrganizationModelSerializer):
    """``connectionID`` is accepted as a synonym of ``connection_id`` and returned too."""

    property = PublicIdRelatedField(queryset=Property.objects.all())
    connectionID = serializers.CharField(source="connection_id", read_only=True)  # noqa: N815
    active_meter_count = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = BillingPoint
        fields = [
            "id",
            "property",
            "connection_id",
            "connectionID",
            "name",
            "kind",
            "floor",
            "area_m2",
            "notes",
            "active_meter_count",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        validators: list = []

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping) and "connectionID" in data and "connection_id" not in data:
            data = {key: data[key] for key in data}
            data["connection_id"] = data["connectionID"]
        return super().to_internal_value(data)


class BillingPointFilter(django_filters.FilterSet):
    property = django_filters.UUIDFilter(field_name="property__public_id")

    class Meta:
        model = BillingPoint
        fields = ["kind", "property"]


class BillingPointViewSet(OrganizationModelViewSet):
    """Billing points, also reachable as ``/connections/`` (the seed's word)."""

    queryset = BillingPoint.objects.all()
    serializer_class = BillingPointSerializer
    filterset_class = BillingPointFilter
    search_fields = ["name", "connection_id"]
    ordering_fields = ["name", "connection_id", "created_at"]

    def get_queryset(self):
        # Built per request: a class-level queryset with subquery annotations would keep
        # the organization of the first request in its subqueries (see meters/api/__init__.py).
        return selectors.billing_point_list()

    def perform_create(self, serializer: BillingPointSerializer) -> None:
        serializer.instance = services.billing_point_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: BillingPointSerializer) -> None:
        services.billing_point_update(
            billing_point=serializer.instance,
            actor=self.request.user,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance: BillingPoint) -> None:
        services.billing_point_delete(billing_point=instance, actor=self.request.user)


# --- meters ----------------------------------------------------------------------------


class MeterSerializer(OrganizationModelSerializer):
    parent = PublicIdRelatedField(queryset=Meter.objects.all(), required=False, allow_null=True)
    unit = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=8,
        help_text="Defaults to the type's usual unit; must fit the type (kWh for electricity…).",
    )
    meterNumber = serializers.CharField(source="serial_number", read_only=True)  # noqa: N815
    status = serializers.SerializerMethodField()
    connectionID = serializers.CharField(  # noqa: N815
        source="current_connection_id",
        read_only=True,
        default=None,
        allow_null=True,
        help_text="The billing point the meter is active at (null when inactive).",
    )

    class Meta:
        model = Meter
        fields = [
            "id",
            "serial_number",
            "meterNumber",
            "type",
            "unit",
            "label",
            "multiplier",
            "register_digits",
            "parent",
            "notes",
            "rated_capacity",
            "status",
            "connectionID",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        validators: list = []

    @extend_schema_field({"type": "string", "enum": ["active", "inactive"]})
    def get_status(self, obj: Meter) -> str:
        active = getattr(obj, "is_active", None)
        if active is None:
            active = obj.assignments.filter(removed_at__isnull=True).exists()
        return selectors.Status.ACTIVE if active else selectors.Status.INACTIVE


class MeterFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=selectors.Status.CHOICES,
        method="filter_status",
        help_text="active: has an open assignment; inactive: free to assign.",
    )
    type = django_filters.ChoiceFilter(
        choices=selectors.TYPE_FILTER_CHOICES,
        method="filter_type",
        help_text="A meter type, or a group: water = cold_water + hot_water, "
        "electric = electricity, thermal = heat + cooling.",
    )
    parent = django_filters.UUIDFilter(field_name="parent__public_id")

    class Meta:
        model = Meter
        fields = ["status", "type", "parent"]

    def filter_status(self, queryset, name, value):
        return queryset.filter(is_active=(value == selectors.Status.ACTIVE))

    def filter_type(self, queryset, name, value):
        return queryset.filter(type__in=selectors.types_for(value))


class MeterImportSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="The installer's CSV (, or ;).")
    csv = serializers.CharField(required=False, help_text="Or the CSV text itself.")


class MeterViewSet(OrganizationModelViewSet):
    """Meters. ``?status=inactive&type=water`` lists the water meters (cold and hot) free
    to assign; the serial number never changes once created."""

    queryset = Meter.objects.all()
    serializer_class = MeterSerializer
    filterset_class = MeterFilter
    search_fields = ["serial_number", "label"]
    ordering_fields = ["serial_number", "label", "type", "created_at"]

    def get_queryset(self):
        return selectors.meters_with_status().order_by("serial_number")

    def perform_create(self, serializer: MeterSerializer) -> None:
        serializer.instance = services.meter_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: MeterSerializer) -> None:
        services.meter_update(
            meter=serializer.instance, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance: Meter) -> None:
        services.meter_delete(meter=instance, actor=self.request.user)


class MeterImportView(OrganizationAPIView):
    """Bulk import of an installer's meter list (its own view: a different request body)."""

    serializer_class = MeterImportSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    @extend_schema(
        request={
            "multipart/form-data": MeterImportSerializer,
            "application/json": MeterImportSerializer,
        },
        responses={201: MeterSerializer(many=True)},
        description="All or nothing: a bad row rejects the file; `error.fields.file` lists "
        "every bad row as 'line N, column C: reason'.",
    )
    def post(self, request: Request) -> Response:
        ser = MeterImportSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        upload = ser.validated_data.get("file")
        content = upload.read() if upload else ser.validated_data.get("csv", "")
        if not content:
            raise serializers.ValidationError({"file": ["Send a CSV file (or csv text)."]})
        created = services.meter_import_csv(content=content, actor=request.user)
        return Response(MeterSerializer(created, many=True).data, status=status.HTTP_201_CREATED)
