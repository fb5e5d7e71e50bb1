"""REST endpoints of the meter registry (thin: parse, call a service, shape the output).

The Meter Assignment API keeps the field names integrators know from the seed
(``connectionID``, ``meterNumber``, ``connectionDate``, ``status``, ``initialReading``);
errors a service raises under its own argument names are renamed to those fields, so a
400 or 409 names the field the client actually sent.

Querysets with subquery annotations (a meter's status, a billing point's active meters)
are built per request in ``get_queryset``: the scoping filter inside a ``Subquery`` is
added when first compiled and would otherwise stick to the first request's organization.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationModelViewSet,
    OrganizationViewSet,
    PublicIdRelatedField,
)
from billspree.core.errors import Conflict
from meters import selectors, services
from meters.models import BillingPoint, Meter, MeterAssignment, Property

ASSIGNMENT_NAMES = {
    "connected_at": "connectionDate",
    "removed_at": "removalDate",
    "initial_reading": "initialReading",
    "final_reading": "finalReading",
    "meter": "meterNumber",
    "new_meter": "newMeterNumber",
    "billing_point": "connectionID",
}
REPLACE_NAMES = {
    **ASSIGNMENT_NAMES,
    "removed_at": "replacementDate",
    "connected_at": "replacementDate",
    "meter": "newMeterNumber",
}


@contextmanager
def api_field_names(names: Mapping[str, str]) -> Iterator[None]:
    """Rename the field keys of a service's ValidationError/Conflict to the API's names."""
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        raise ValidationError({names.get(k, k): v for k, v in exc.message_dict.items()}) from exc
    except Conflict as exc:
        exc.fields = {names.get(k, k): v for k, v in exc.fields.items()}
        raise


# --- fields ----------------------------------------------------------------------------


class NaturalKeyField(PublicIdRelatedField):
    """A scoped relation by a natural key (connection ID, serial number), for the seed's API.

    Unknown values and other organizations' rows are the same 400 naming the field."""

    default_error_messages = {
        "does_not_exist": "No {model} with {key_label} '{value}' in this organization.",
        "invalid": "Not a valid value.",
    }

    def __init__(self, *, key_label: str, **kwargs: Any):
        self.key_label = key_label
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        queryset = self.get_queryset()
        if not isinstance(data, str | int) or not str(data).strip():
            self.fail("invalid")
        try:
            return queryset.get(**{self.slug_field: str(data).strip()})
        except queryset.model.DoesNotExist:
            self.fail(
                "does_not_exist",
                model=queryset.model._meta.verbose_name,
                key_label=self.key_label,
                value=data,
            )


@extend_schema_field(OpenApiTypes.STR)
class TimeZoneField(serializers.CharField):
    def to_representation(self, value: Any) -> str:
        return str(value)

    def to_internal_value(self, data: Any) -> str:
        text = super().to_internal_value(data)
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise serializers.ValidationError(
                f"Unknown time zone '{text}' (use an IANA name like Europe/Berlin)."
            ) from exc
        return text


@extend_schema_field(OpenApiTypes.STR)
class CurrencyCodeField(serializers.CharField):
    def to_representation(self, value: Any) -> str:
        return str(value)

    def to_internal_value(self, data: Any) -> str:
        code = super().to_internal_value(data).upper()
        if code not in settings.CURRENCIES:
            raise serializers.ValidationError(
                f"Unsupported currency '{code}'. Use one of {', '.join(settings.CURRENCIES)}."
            )
        return code


@extend_schema_field(
    {
        "type": "string",
        "description": "A date (midnight in the property's time zone) or an "
        "ISO 8601 date and time with an offset.",
        "example": "2026-03-01",
    }
)
class InstantField(serializers.CharField):
    """Kept as text here; the service turns it into an aware instant in the right zone."""


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
        # the organization of the first request in its subqueries (see the module doc).
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


# --- meter assignments -----------------------------------------------------------------


class MeterAssignmentSerializer(OrganizationModelSerializer):
    connectionID = serializers.CharField(source="billing_point.connection_id", read_only=True)  # noqa: N815
    billingPoint = serializers.UUIDField(source="billing_point.public_id", read_only=True)  # noqa: N815
    meterNumber = serializers.CharField(source="meter.serial_number", read_only=True)  # noqa: N815
    meter = serializers.UUIDField(source="meter.public_id", read_only=True)
    meterType = serializers.CharField(source="meter.type", read_only=True)  # noqa: N815
    connectionDate = serializers.DateTimeField(source="connected_at", read_only=True)  # noqa: N815
    removalDate = serializers.DateTimeField(source="removed_at", read_only=True)  # noqa: N815
    initialReading = serializers.DecimalField(  # noqa: N815
        source="initial_reading", max_digits=20, decimal_places=4, read_only=True
    )
    finalReading = serializers.DecimalField(  # noqa: N815
        source="final_reading", max_digits=20, decimal_places=4, read_only=True
    )
    status = serializers.SerializerMethodField()

    class Meta:
        model = MeterAssignment
        fields = [
            "id",
            "connectionID",
            "billingPoint",
            "meterNumber",
            "meter",
            "meterType",
            "connectionDate",
            "removalDate",
            "initialReading",
            "finalReading",
            "status",
            "created_at",
        ]

    @extend_schema_field({"type": "string", "enum": ["active", "inactive"]})
    def get_status(self, obj: MeterAssignment) -> str:
        return selectors.Status.ACTIVE if obj.removed_at is None else selectors.Status.INACTIVE


def _register(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=20, decimal_places=4, min_value=0, **kwargs)


class MeterAssignmentCreateSerializer(serializers.Serializer):
    """The seed's Meter Assignment request. ``status: inactive`` records a past, closed
    assignment and then needs ``removalDate`` and ``finalReading``."""

    connectionID = NaturalKeyField(  # noqa: N815
        queryset=BillingPoint.objects.all(),
        slug_field="connection_id",
        key_label="connectionID",
        help_text="The billing point's connection ID.",
    )
    meterNumber = NaturalKeyField(  # noqa: N815
        queryset=Meter.objects.all(),
        slug_field="serial_number",
        key_label="meterNumber",
        help_text="The meter's serial number.",
    )
    connectionDate = InstantField()  # noqa: N815
    status = serializers.ChoiceField(choices=selectors.Status.CHOICES, default="active")
    initialReading = _register(required=False, default=0)  # noqa: N815
    removalDate = InstantField(required=False)  # noqa: N815
    finalReading = _register(required=False)  # noqa: N815

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["status"] == selectors.Status.INACTIVE:
            missing = {
                f: ["Required when status is inactive (a closed, past assignment)."]
                for f in ("removalDate", "finalReading")
                if attrs.get(f) in (None, "")
            }
            if missing:
                raise serializers.ValidationError(missing)
        return attrs


class MeterAssignmentCloseSerializer(serializers.Serializer):
    finalReading = _register()  # noqa: N815
    removalDate = InstantField()  # noqa: N815


class MeterAssignmentReplaceSerializer(serializers.Serializer):
    newMeterNumber = NaturalKeyField(  # noqa: N815
        queryset=Meter.objects.all(),
        slug_field="serial_number",
        key_label="meterNumber",
        help_text="Serial number of the inactive meter that takes over.",
    )
    replacementDate = InstantField(help_text="When the old meter came out and the new went in.")  # noqa: N815
    finalReading = _register(help_text="The old meter's last register value.")  # noqa: N815
    initialReading = _register(required=False, default=0, help_text="The new meter's register.")  # noqa: N815


class MeterAssignmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, OrganizationViewSet
):
    """Meters at billing points over [connectionDate, removalDate). History is kept: an
    assignment is closed (``…/close/``) or replaced (``…/replace/``), never edited or deleted."""

    queryset = selectors.assignment_list()
    serializer_class = MeterAssignmentCreateSerializer
    filterset_fields = ["billing_point__public_id", "meter__public_id"]
    search_fields = ["meter__serial_number", "billing_point__connection_id", "billing_point__name"]
    ordering_fields = ["connected_at", "removed_at"]

    def get_serializer_class(self):
        if self.action in ("list", "retrieve"):
            return MeterAssignmentSerializer
        return super().get_serializer_class()

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        wanted = self.request.query_params.get("status")
        if wanted in (selectors.Status.ACTIVE, selectors.Status.INACTIVE):
            queryset = queryset.filter(removed_at__isnull=(wanted == selectors.Status.ACTIVE))
        return queryset

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=["active", "inactive"])],
        responses=MeterAssignmentSerializer(many=True),
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=MeterAssignmentCreateSerializer,
        responses={201: MeterAssignmentSerializer},
        description="Assign a meter to a connection. Unknown connectionID/meterNumber → 400 "
        "naming the field; a meter already active elsewhere → 409 naming that billing point.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ser = MeterAssignmentCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        with api_field_names(ASSIGNMENT_NAMES):
            assignment = self._create(ser.validated_data)
        data = MeterAssignmentSerializer(assignment).data
        return Response(data, status=status.HTTP_201_CREATED)

    def _create(self, data: dict[str, Any]) -> MeterAssignment:
        common = {
            "billing_point": data["connectionID"],
            "meter": data["meterNumber"],
            "connected_at": data["connectionDate"],
            "initial_reading": data["initialReading"],
            "actor": self.request.user,
        }
        if data["status"] == selectors.Status.INACTIVE:
            return services.meter_assignment_record(
                removed_at=data["removalDate"], final_reading=data["finalReading"], **common
            )
        return services.meter_assign(**common)


class MeterAssignmentActionView(OrganizationAPIView):
    """Base of the close/replace actions: the assignment by public id (404 if not ours).

    Plain views with ``<uuid:id>`` routes rather than viewset actions, so each action
    documents and validates its own request body."""

    queryset = MeterAssignment.objects.all()

    def assignment(self, id: str) -> MeterAssignment:
        return get_object_or_404(
            MeterAssignment.objects.select_related("meter", "billing_point"), public_id=id
        )


class MeterAssignmentCloseView(MeterAssignmentActionView):
    """Remove the meter: final reading and removal date close the assignment."""

    serializer_class = MeterAssignmentCloseSerializer

    @extend_schema(request=MeterAssignmentCloseSerializer, responses=MeterAssignmentSerializer)
    def post(self, request: Request, id: str) -> Response:
        assignment = self.assignment(id)
        ser = MeterAssignmentCloseSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        with api_field_names(ASSIGNMENT_NAMES):
            closed = services.meter_remove(
                assignment=assignment,
                removed_at=ser.validated_data["removalDate"],
                final_reading=ser.validated_data["finalReading"],
                actor=request.user,
            )
        return Response(MeterAssignmentSerializer(closed).data)


class MeterAssignmentReplaceView(MeterAssignmentActionView):
    serializer_class = MeterAssignmentReplaceSerializer

    @extend_schema(
        request=MeterAssignmentReplaceSerializer,
        responses={201: MeterAssignmentSerializer},
        description="Close this assignment and connect the new meter at the same instant, "
        "in one transaction. Returns the new assignment.",
    )
    def post(self, request: Request, id: str) -> Response:
        assignment = self.assignment(id)
        ser = MeterAssignmentReplaceSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        with api_field_names(REPLACE_NAMES), transaction.atomic():
            new = services.meter_replace(
                assignment=assignment,
                new_meter=data["newMeterNumber"],
                replaced_at=data["replacementDate"],
                final_reading=data["finalReading"],
                initial_reading=data["initialReading"],
                actor=request.user,
            )
        return Response(MeterAssignmentSerializer(new).data, status=status.HTTP_201_CREATED)
