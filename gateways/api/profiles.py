"""Meter profiles: built-in (read-only) and the organization's own, with their values."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationModelSerializer,
    OrganizationModelViewSet,
)
from gateways import services
from gateways.models import (
    ADDRESS_HELP,
    Profile,
    ProfileValue,
)
from gateways.services.profiles import PROFILE_FIELDS


class ProfileValueSerializer(serializers.ModelSerializer):
    address = serializers.IntegerField(min_value=0, max_value=65535, help_text=ADDRESS_HELP)
    register_number = serializers.IntegerField(
        source="printed_number",
        read_only=True,
        help_text="The 1-based number manuals print (3xxxx input, 4xxxx holding).",
    )

    class Meta:
        model = ProfileValue
        fields = [
            "key",
            "label",
            "function_code",
            "address",
            "register_number",
            "data_type",
            "word_order",
            "scale",
            "unit",
            "is_reading",
            "quantity",
        ]
        extra_kwargs = {"key": {"validators": []}}


class ProfileSerializer(OrganizationModelSerializer):
    values = ProfileValueSerializer(many=True)

    class Meta:
        model = Profile
        fields = ["id", "name", "builtin", *(f for f in PROFILE_FIELDS if f != "name"),
                  "values", "created_at"]
        read_only_fields = ["builtin", "created_at"]
        extra_kwargs = {"name": {"validators": []}}


class ProfileViewSet(OrganizationModelViewSet):
    """Meter profiles: built-in (read-only) and the organization's own."""

    queryset = Profile.objects.prefetch_related("values")
    serializer_class = ProfileSerializer
    filterset_fields = ["meter_type", "builtin"]
    search_fields = ["name", "manufacturer"]

    def list(self, request: Request, *args, **kwargs) -> Response:
        services.profile_builtins_ensure()
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer: ProfileSerializer) -> None:
        data = dict(serializer.validated_data)
        values = data.pop("values")
        serializer.instance = services.profile_create(values=values, **data, **self.audit_kwargs())

    def perform_update(self, serializer: ProfileSerializer) -> None:
        data = dict(serializer.validated_data)
        services.profile_update(
            profile=serializer.instance,
            values=data.pop("values", None),
            **data,
            **self.audit_kwargs(),
        )

    def perform_destroy(self, instance: Profile) -> None:
        services.profile_delete(profile=instance, **self.audit_kwargs())
