"""REST endpoints of add-ons, plans, plan variants, pricing templates and billing-point
rate overrides."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from billspree.core.api_base import (
    OrganizationModelSerializer,
    PublicIdRelatedField,
)
from meters.models import BillingPoint, MeterType
from tariffs import services
from tariffs.api.base import SavedWholeViewSet, TariffViewSet
from tariffs.models import (
    AddOn,
    BillingPointRateList,
    CashRounding,
    Plan,
    PlanVariant,
    PricingTemplate,
    RateList,
)


class AddOnSerializer(OrganizationModelSerializer):
    currency = serializers.CharField(max_length=3)

    class Meta:
        model = AddOn
        fields = ["id", "name", "description", "currency", "price", "per", "meter_type",
                  "tax_rate", "active"]


class AddOnViewSet(SavedWholeViewSet):
    queryset = AddOn.objects.all()
    serializer_class = AddOnSerializer
    filterset_fields = ["active", "per", "meter_type"]
    search_fields = ["name", "description"]
    save_service, save_key = "add_on_save", "add_on"


class PlanSerializer(OrganizationModelSerializer):
    rate_lists = PublicIdRelatedField(queryset=RateList.objects.all(), many=True, required=False)
    add_ons = PublicIdRelatedField(queryset=AddOn.objects.all(), many=True, required=False)
    variants = serializers.SerializerMethodField()

    class Meta:
        model = Plan
        fields = ["id", "name", "description", "property_kind", "rate_lists", "add_ons",
                  "active", "variants"]

    def get_variants(self, plan: Plan) -> list[dict[str, str]]:
        return [{"id": str(v.public_id), "name": v.name} for v in plan.variants.all()]


def _m2m_data(serializer, names=("rate_lists", "add_ons")) -> dict[str, Any]:
    data = dict(serializer.validated_data)
    instance = serializer.instance
    for name in names:
        if name not in data and instance is not None:
            data[name] = list(getattr(instance, name).all())
    return data


class PlanViewSet(SavedWholeViewSet):
    queryset = Plan.objects.all()
    serializer_class = PlanSerializer
    filterset_fields = ["active", "property_kind"]
    search_fields = ["name", "description"]

    save_service, save_key = "plan_save", "plan"
    kept_fields = ("name", "description", "property_kind", "active")

    def get_queryset(self):
        return Plan.objects.prefetch_related("rate_lists", "add_ons", "variants")

    def changes(self, serializer) -> dict[str, Any]:
        return _m2m_data(serializer)


class PlanVariantSerializer(OrganizationModelSerializer):
    plan = PublicIdRelatedField(queryset=Plan.objects.all())
    rate_lists = PublicIdRelatedField(queryset=RateList.objects.all(), many=True, required=False)
    add_ons = PublicIdRelatedField(queryset=AddOn.objects.all(), many=True, required=False)

    class Meta:
        model = PlanVariant
        fields = ["id", "plan", "name", "description", "rate_lists", "add_ons"]


class PlanVariantViewSet(SavedWholeViewSet):
    queryset = PlanVariant.objects.all()
    serializer_class = PlanVariantSerializer
    search_fields = ["name"]
    filterset_fields = ["plan__public_id"]
    save_service, save_key = "plan_variant_save", "variant"
    kept_fields = ("plan", "name", "description")

    def get_queryset(self):
        return PlanVariant.objects.select_related("plan").prefetch_related(
            "rate_lists", "add_ons"
        )

    def changes(self, serializer) -> dict[str, Any]:
        return _m2m_data(serializer)


class PricingTemplateSerializer(OrganizationModelSerializer):
    plan = PublicIdRelatedField(queryset=Plan.objects.all())
    variant = PublicIdRelatedField(
        queryset=PlanVariant.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = PricingTemplate
        fields = ["id", "name", "description", "plan", "variant", "billing_point_kind"]


class PricingTemplateViewSet(SavedWholeViewSet):
    queryset = PricingTemplate.objects.all()
    serializer_class = PricingTemplateSerializer
    search_fields = ["name"]
    save_service, save_key = "pricing_template_save", "template"
    kept_fields = ("name", "description", "plan", "variant", "billing_point_kind")

    def get_queryset(self):
        return PricingTemplate.objects.select_related("plan", "variant")


class BillingPointRateListSerializer(OrganizationModelSerializer):
    billing_point = PublicIdRelatedField(queryset=BillingPoint.objects.all())
    rate_list = PublicIdRelatedField(queryset=RateList.objects.all())
    meter_type = serializers.ChoiceField(
        choices=[("", "All meter types"), *MeterType.choices], required=False, allow_blank=True
    )

    class Meta:
        model = BillingPointRateList
        fields = ["id", "billing_point", "rate_list", "meter_type", "note", "created_at"]
        read_only_fields = ["created_at"]
        validators: list = []  # uniqueness is the service's, with a clear message


class BillingPointRateListViewSet(SavedWholeViewSet):
    """A billing point's own rate list, overriding its plan's (seed 002: Billing points ›
    Rates)."""

    queryset = BillingPointRateList.objects.all()
    serializer_class = BillingPointRateListSerializer
    filterset_fields = ["billing_point__public_id", "meter_type"]
    save_service, save_key = "billing_point_rate_list_set", "override"
    kept_fields = ("billing_point", "rate_list", "meter_type", "note")

    def get_queryset(self):
        return BillingPointRateList.objects.select_related("billing_point", "rate_list")


class CashRoundingSerializer(OrganizationModelSerializer):
    currency = serializers.CharField(max_length=3, help_text="ISO code; one setting each.")
    step = serializers.CharField(
        max_length=10, help_text="Gross totals are rounded to the nearest step, e.g. \"0.05\"."
    )

    class Meta:
        model = CashRounding
        fields = ["id", "currency", "step", "updated_at"]
        read_only_fields = ["updated_at"]

    def to_representation(self, instance: CashRounding) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["step"] = f"{instance.step:.2f}"
        return data


class CashRoundingViewSet(TariffViewSet):
    """The organization's cash rounding per currency: the one source for quotes and
    invoices. ``POST`` sets a currency's step (again: replaces it), ``PATCH`` changes it,
    ``DELETE`` turns cash rounding off for that currency."""

    queryset = CashRounding.objects.all()
    serializer_class = CashRoundingSerializer
    filterset_fields = ["currency"]

    def perform_create(self, serializer) -> None:
        data = serializer.validated_data
        serializer.instance = services.cash_rounding_set(
            currency=data["currency"], step=data["step"], **self.audit_kwargs_actor()
        )

    def perform_update(self, serializer) -> None:
        data = serializer.validated_data
        current = str(serializer.instance.currency)
        if "currency" in data and data["currency"].upper() != current:
            raise serializers.ValidationError({"currency": [
                f"This setting is for {current}; create one for {data['currency']} instead."
            ]})
        serializer.instance = services.cash_rounding_set(
            currency=current, step=data.get("step", serializer.instance.step),
            **self.audit_kwargs_actor(),
        )

    def perform_destroy(self, instance: CashRounding) -> None:
        services.cash_rounding_set(currency=str(instance.currency), step=None,
                                   **self.audit_kwargs_actor())
