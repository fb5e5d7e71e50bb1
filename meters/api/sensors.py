"""API of environmental sensors (``/sensors/``); their values are posted as measurements."""

from __future__ import annotations

from rest_framework import serializers

from billspree.core.api_base import (
    OrganizationModelSerializer,
    OrganizationModelViewSet,
    PublicIdRelatedField,
)
from meters import services
from meters.models import BillingPoint, Property, Sensor


class SensorSerializer(OrganizationModelSerializer):
    property = PublicIdRelatedField(queryset=Property.objects.all())
    billing_point = PublicIdRelatedField(
        queryset=BillingPoint.objects.all(), required=False, allow_null=True
    )
    sensorNumber = serializers.CharField(source="serial_number", read_only=True)  # noqa: N815

    class Meta:
        model = Sensor
        fields = [
            "id", "serial_number", "sensorNumber", "kind", "label", "property",
            "billing_point", "area", "notes", "created_at",
        ]
        read_only_fields = ["created_at"]
        validators: list = []


class SensorViewSet(OrganizationModelViewSet):
    """Environmental sensors (temperature, humidity…) at a property, an area of it or a
    billing point. Their values are posted to ``/measurements/`` with ``sensorNumber``."""

    queryset = Sensor.objects.all()
    serializer_class = SensorSerializer
    search_fields = ["serial_number", "label", "area"]
    ordering_fields = ["serial_number", "label", "kind", "created_at"]

    def get_queryset(self):
        return Sensor.objects.select_related("property", "billing_point").order_by(
            "serial_number")

    def perform_create(self, serializer: SensorSerializer) -> None:
        serializer.instance = services.sensor_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer: SensorSerializer) -> None:
        services.sensor_update(
            sensor=serializer.instance, actor=self.request.user, **serializer.validated_data
        )

    def perform_destroy(self, instance: Sensor) -> None:
        services.sensor_delete(sensor=instance, actor=self.request.user)
