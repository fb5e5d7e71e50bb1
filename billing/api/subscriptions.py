"""REST endpoints of subscriptions: a billing point on a plan from a date."""

from __future__ import annotations

from rest_framework import serializers

from billing import services
from billing.models import (
    BillingBatch,
    Subscription,
)
from billspree.core.api_base import (
    OrganizationModelSerializer,
    OrganizationModelViewSet,
    PublicIdRelatedField,
)
from meters.models import BillingPoint
from tariffs.models import Plan, PlanVariant


class SubscriptionSerializer(OrganizationModelSerializer):
    billing_point = PublicIdRelatedField(queryset=BillingPoint.objects.all())
    plan = PublicIdRelatedField(queryset=Plan.objects.all())
    variant = PublicIdRelatedField(
        queryset=PlanVariant.objects.all(), required=False, allow_null=True
    )
    batch = PublicIdRelatedField(
        queryset=BillingBatch.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = Subscription
        fields = ["id", "billing_point", "plan", "variant", "batch", "start_date", "end_date",
                  "note", "created_at"]
        read_only_fields = ["created_at"]


class SubscriptionViewSet(OrganizationModelViewSet):
    """A billing point on a plan (and variant) from a date to an (exclusive) date."""

    queryset = Subscription.objects.select_related("billing_point", "plan", "variant", "batch")
    serializer_class = SubscriptionSerializer
    search_fields = ["billing_point__name", "billing_point__connection_id", "plan__name"]
    ordering_fields = ["start_date", "created_at"]

    def perform_create(self, serializer: SubscriptionSerializer) -> None:
        serializer.instance = services.subscription_create(
            **serializer.validated_data, **self.audit_kwargs()
        )

    def perform_update(self, serializer: SubscriptionSerializer) -> None:
        data = dict(serializer.validated_data)
        if "billing_point" in data and data["billing_point"] != serializer.instance.billing_point:
            raise serializers.ValidationError(
                {"billing_point": ["A subscription cannot move to another billing point."]}
            )
        data.pop("billing_point", None)
        serializer.instance = services.subscription_update(
            subscription=serializer.instance, **data, **self.audit_kwargs()
        )

    def perform_destroy(self, instance: Subscription) -> None:
        services.subscription_delete(subscription=instance, **self.audit_kwargs())
