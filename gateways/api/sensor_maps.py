"""``/sensor-maps/``: which gateway, device id and register layout read each sensor."""

from __future__ import annotations

from billspree.core.api_base import (
    OrganizationModelSerializer,
    OrganizationModelViewSet,
    PublicIdRelatedField,
)
from gateways.models import Gateway, SensorMap
from gateways.services.sensors import sensor_map_create, sensor_map_delete, sensor_map_update
from meters.models import Sensor


class SensorMapSerializer(OrganizationModelSerializer):
    sensor = PublicIdRelatedField(queryset=Sensor.objects.all())
    gateway = PublicIdRelatedField(queryset=Gateway.objects.all())

    class Meta:
        model = SensorMap
        fields = ["id", "sensor", "gateway", "device_id", "layout", "enabled",
                  "last_success_at", "created_at"]
        read_only_fields = ["last_success_at", "created_at"]
        validators: list = []


class SensorMapViewSet(OrganizationModelViewSet):
    """Environmental sensors on a gateway's bus; their values are stored as measurements
    when the gateway polls measurements (``poll_measurements``)."""

    queryset = SensorMap.objects.select_related("sensor", "gateway")
    serializer_class = SensorMapSerializer
    ordering_fields = ["device_id", "created_at"]

    def perform_create(self, serializer: SensorMapSerializer) -> None:
        serializer.instance = sensor_map_create(**serializer.validated_data,
                                                **self.audit_kwargs())

    def perform_update(self, serializer: SensorMapSerializer) -> None:
        sensor_map_update(sensor_map=serializer.instance, **serializer.validated_data,
                          **self.audit_kwargs())

    def perform_destroy(self, instance: SensorMap) -> None:
        sensor_map_delete(sensor_map=instance, **self.audit_kwargs())
