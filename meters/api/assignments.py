"""The seed's Meter Assignment API: assign, list, retrieve, close, replace."""

from __future__ import annotations

from typing import Any

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationAPIView,
    OrganizationModelSerializer,
    OrganizationViewSet,
)
from billspree.core.api_fields import BoundedDateTimeField
from billspree.core.billing_inputs import IMPACTS_SCHEMA, impacts_payload
from meters import selectors, services
from meters.api.fields import (
    ASSIGNMENT_NAMES,
    REPLACE_NAMES,
    InstantField,
    NaturalKeyField,
    api_field_names,
)
from meters.models import BillingPoint, Meter, MeterAssignment

# --- meter assignments -----------------------------------------------------------------


class MeterAssignmentSerializer(OrganizationModelSerializer):
    connectionID = serializers.CharField(source="billing_point.connection_id", read_only=True)  # noqa: N815
    billingPoint = serializers.UUIDField(source="billing_point.public_id", read_only=True)  # noqa: N815
    meterNumber = serializers.CharField(source="meter.serial_number", read_only=True)  # noqa: N815
    meter = serializers.UUIDField(source="meter.public_id", read_only=True)
    meterType = serializers.CharField(source="meter.type", read_only=True)  # noqa: N815
    connectionDate = BoundedDateTimeField(source="connected_at", read_only=True)  # noqa: N815
    removalDate = BoundedDateTimeField(  # noqa: N815
        source="removed_at", read_only=True, allow_null=True)
    initialReading = serializers.DecimalField(  # noqa: N815
        source="initial_reading", max_digits=20, decimal_places=4, read_only=True
    )
    finalReading = serializers.DecimalField(  # noqa: N815
        source="final_reading", max_digits=20, decimal_places=4, read_only=True, allow_null=True
    )
    status = serializers.SerializerMethodField()
    affects_invoices = serializers.SerializerMethodField()

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
            "affects_invoices",
        ]

    @extend_schema_field({"type": "string", "enum": ["active", "inactive"]})
    def get_status(self, obj: MeterAssignment) -> str:
        return selectors.Status.ACTIVE if obj.removed_at is None else selectors.Status.INACTIVE


    @extend_schema_field(IMPACTS_SCHEMA)
    def get_affects_invoices(self, obj) -> list:
        """What this write changed in billing (drafts made stale, adjustments); empty on
        reads."""
        return impacts_payload(obj)


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


class MeterAssignmentFilter(django_filters.FilterSet):
    """Filters in the seed's vocabulary: ``?connectionID=…&status=active``."""

    connectionID = django_filters.CharFilter(field_name="billing_point__connection_id")  # noqa: N815
    meterNumber = django_filters.CharFilter(field_name="meter__serial_number")  # noqa: N815
    billingPoint = django_filters.UUIDFilter(field_name="billing_point__public_id")  # noqa: N815
    meter = django_filters.UUIDFilter(field_name="meter__public_id")
    status = django_filters.ChoiceFilter(
        choices=selectors.Status.CHOICES,
        method="filter_status",
        help_text="active: still connected (no removal date); inactive: closed.",
    )

    class Meta:
        model = MeterAssignment
        fields: list[str] = []

    def filter_status(self, queryset, name, value):
        return queryset.filter(removed_at__isnull=(value == selectors.Status.ACTIVE))


class MeterAssignmentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, OrganizationViewSet
):
    """Meters at billing points over [connectionDate, removalDate). History is kept: an
    assignment is closed (``…/close/``) or replaced (``…/replace/``), never edited or deleted."""

    queryset = selectors.assignment_list()
    serializer_class = MeterAssignmentCreateSerializer
    filterset_class = MeterAssignmentFilter
    search_fields = ["meter__serial_number", "billing_point__connection_id", "billing_point__name"]
    ordering_fields = ["connected_at", "removed_at"]

    def get_serializer_class(self):
        if self.action in ("list", "retrieve"):
            return MeterAssignmentSerializer
        return super().get_serializer_class()

    @extend_schema(responses=MeterAssignmentSerializer(many=True))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        request=MeterAssignmentCreateSerializer,
        responses={201: MeterAssignmentSerializer, 200: MeterAssignmentSerializer},
        description="Assign a meter to a connection. Unknown connectionID/meterNumber → 400 "
        "naming the field; a meter already active elsewhere → 409 naming that billing point. "
        "Sending the same assignment again (a retry) answers 200 with the existing one.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ser = MeterAssignmentCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        with api_field_names(ASSIGNMENT_NAMES):
            assignment = self._create(ser.validated_data)
        data = MeterAssignmentSerializer(assignment).data
        replayed = getattr(assignment, "replayed", False)
        return Response(data, status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED)

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
        with api_field_names(REPLACE_NAMES):
            new = services.meter_replace(
                assignment=assignment,
                new_meter=data["newMeterNumber"],
                replaced_at=data["replacementDate"],
                final_reading=data["finalReading"],
                initial_reading=data["initialReading"],
                actor=request.user,
            )
        return Response(MeterAssignmentSerializer(new).data, status=status.HTTP_201_CREATED)
