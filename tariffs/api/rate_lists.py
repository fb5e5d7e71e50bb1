"""REST endpoints of rate lists (with nested versions and rules), versions, charge rules,
holiday calendars and the quote."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from billspree.core.api_base import (
    OrganizationModelSerializer,
    OrganizationModelViewSet,
    PublicIdRelatedField,
)
from billspree.core.api_fields import BoundedDateField
from tariffs import selectors, services
from tariffs.api.base import TariffViewSet
from tariffs.api.fields import BandsField, TiersField
from tariffs.models import (
    ChargeRule,
    HolidayCalendar,
    RateList,
    RateListVersion,
)
from tariffs.quotes import QuoteInputSerializer, QuoteOutputSerializer, quote_payload
from tariffs.services.common import CASH_ROUNDING_MOVED


class ChargeRuleSerializer(OrganizationModelSerializer):
    version = PublicIdRelatedField(queryset=RateListVersion.objects.all())
    holiday_calendar = PublicIdRelatedField(
        queryset=HolidayCalendar.objects.all(), required=False, allow_null=True
    )
    tiers = TiersField(required=False, help_text="Blocks of a tiered or volume rule.")
    bands = BandsField(required=False, help_text="Time-of-use bands covering the whole week.")

    class Meta:
        model = ChargeRule
        fields = [
            "id", "version", "name", "kind", "meter_type", "unit", "price", "per", "tiers",
            "bands", "holiday_calendar", "allowance", "minimum_charge", "tax_rate", "position",
        ]
        extra_kwargs = {"unit": {"required": False}}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return attrs  # the service validates (and names each bad field)


class VersionSerializer(OrganizationModelSerializer):
    rate_list = serializers.UUIDField(source="rate_list.public_id", read_only=True)
    rules = ChargeRuleSerializer(many=True, read_only=True)

    class Meta:
        model = RateListVersion
        fields = ["id", "rate_list", "number", "effective_from", "effective_to", "note", "rules"]
        read_only_fields = fields


class VersionCreateSerializer(serializers.Serializer):
    effective_from = BoundedDateField()
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)
    copy_rules = serializers.BooleanField(default=True)


class RateListSerializer(OrganizationModelSerializer):
    effective_from = BoundedDateField(
        write_only=True, help_text="Creation only: when the first version's prices start."
    )
    effective_to = BoundedDateField(
        write_only=True, required=False, allow_null=True,
        help_text="The first day without prices (exclusive end of the last version); "
        "optional on creation, null on update reopens it. Read: the last version's end.",
    )
    versions = VersionSerializer(many=True, read_only=True)
    currency = serializers.CharField(max_length=3)
    rounding_mode = serializers.CharField(required=False, help_text="ROUND_HALF_UP (default), "
                                          "ROUND_HALF_EVEN, ROUND_UP or ROUND_DOWN.")
    cash_rounding = serializers.CharField(
        write_only=True, required=False, allow_blank=True, allow_null=True,
        help_text="Refused: cash rounding is an organization setting per currency "
        "(/api/v1/cash-roundings/).",
    )

    class Meta:
        model = RateList
        fields = [
            "id", "name", "description", "currency", "rounding_mode", "cash_rounding",
            "effective_from", "effective_to", "versions", "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate_cash_rounding(self, value):
        if value not in (None, ""):
            raise serializers.ValidationError(CASH_ROUNDING_MOVED)
        return value

    def validate(self, attrs):
        attrs.pop("cash_rounding", None)
        return super().validate(attrs)

    def get_fields(self):
        fields = super().get_fields()
        if self.instance is not None:
            fields["effective_from"].required = False
        return fields

    def to_representation(self, instance: RateList) -> dict[str, Any]:
        data = super().to_representation(instance)
        versions = data["versions"]
        data["effective_from"] = versions[-1]["effective_from"] if versions else None
        data["effective_to"] = versions[0]["effective_to"] if versions else None
        return data


def _version_prefetch() -> Prefetch:
    return Prefetch(
        "versions",
        queryset=RateListVersion.objects.order_by("-effective_from").select_related("rate_list")
        .prefetch_related(Prefetch(
            "rules",
            queryset=ChargeRule.objects.select_related("version", "holiday_calendar"),
        )),
    )


class RateListViewSet(TariffViewSet):
    """Rate lists with their versions (newest first) and each version's charge rules."""

    queryset = RateList.objects.all()
    serializer_class = RateListSerializer
    filterset_fields = ["currency"]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return RateList.objects.prefetch_related(_version_prefetch())

    def perform_create(self, serializer: RateListSerializer) -> None:
        serializer.instance = services.rate_list_create(
            **serializer.validated_data, **self.audit_kwargs_actor()
        )

    def perform_update(self, serializer: RateListSerializer) -> None:
        data = dict(serializer.validated_data)
        data.pop("effective_from", None)
        if data:  # the end date and the other fields change together or not at all
            services.rate_list_update(
                rate_list=serializer.instance, **data, **self.audit_kwargs_actor()
            )

    def perform_destroy(self, instance: RateList) -> None:
        services.rate_list_delete(rate_list=instance, **self.audit_kwargs_actor())

    @extend_schema(methods=["GET"], responses=VersionSerializer(many=True))
    @extend_schema(methods=["POST"], request=VersionCreateSerializer,
                   responses={201: VersionSerializer})
    @action(detail=True, methods=["get", "post"])
    def versions(self, request: Request, id: str) -> Response:
        """GET: the version history. POST: new prices from a date (the current version
        closes that day; its rules are copied unless ``copy_rules`` is false)."""
        rate_list = self.get_object()
        if request.method == "GET":
            data = VersionSerializer(
                rate_list.versions.prefetch_related("rules__holiday_calendar", "rules__version")
                .select_related("rate_list"), many=True,
            ).data
            return Response(data)
        ser = VersionCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        version = services.rate_list_version_create(
            rate_list=rate_list, **ser.validated_data, **self.audit_kwargs_actor()
        )
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=QuoteInputSerializer, responses=QuoteOutputSerializer)
    @action(detail=True, methods=["post"])
    def quote(self, request: Request, id: str) -> Response:
        """Price quantities (or interval data, for time-of-use) over a period with this rate
        list, without storing anything. Needs the write role like every POST."""
        rate_list = self.get_object()
        ser = QuoteInputSerializer(data=request.data, context={"request": request})
        ser.is_valid(raise_exception=True)
        quote = selectors.rate_list_quote(rate_list=rate_list, request=ser.to_request())
        return Response(quote_payload(quote))


class RateListVersionViewSet(OrganizationModelViewSet):
    """Versions; create them with ``POST rate-lists/{id}/versions/``. ``DELETE`` undoes the
    latest price change (the previous version takes its days back); older ones stay."""

    http_method_names = ["get", "delete", "head", "options"]
    queryset = RateListVersion.objects.all()
    serializer_class = VersionSerializer
    filterset_fields = ["rate_list__public_id"]
    ordering_fields = ["effective_from"]

    def get_queryset(self):
        return RateListVersion.objects.select_related("rate_list").prefetch_related(
            Prefetch("rules", queryset=ChargeRule.objects.select_related(
                "version", "holiday_calendar"))
        )

    def perform_destroy(self, instance: RateListVersion) -> None:
        services.rate_list_version_delete(version=instance, actor=self.request.user)


class ChargeRuleViewSet(TariffViewSet):
    queryset = ChargeRule.objects.all()
    serializer_class = ChargeRuleSerializer
    filterset_fields = ["kind", "meter_type"]
    search_fields = ["name"]

    def get_queryset(self):
        return ChargeRule.objects.select_related("version", "holiday_calendar")

    def perform_create(self, serializer: ChargeRuleSerializer) -> None:
        serializer.instance = services.charge_rule_create(
            **serializer.validated_data, **self.audit_kwargs_actor()
        )

    def perform_update(self, serializer: ChargeRuleSerializer) -> None:
        data = dict(serializer.validated_data)
        if "version" in data and data.pop("version") != serializer.instance.version:
            from django.core.exceptions import ValidationError

            raise ValidationError({"version": ["A rule stays in its version."]})
        services.charge_rule_update(
            rule=serializer.instance, **data, **self.audit_kwargs_actor()
        )

    def perform_destroy(self, instance: ChargeRule) -> None:
        services.charge_rule_delete(rule=instance, **self.audit_kwargs_actor())


class HolidayField(serializers.Serializer):
    date = BoundedDateField()
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate(self, attrs):
        # A PATCH makes DRF skip required fields of nested items too, so a day without a
        # date reached the service (500); the list of days is always replaced whole.
        if "date" not in attrs:
            raise serializers.ValidationError({"date": ["Each day needs a date."]})
        return attrs


class HolidayCalendarSerializer(OrganizationModelSerializer):
    days = HolidayField(many=True, required=False)

    class Meta:
        model = HolidayCalendar
        fields = ["id", "name", "description", "days"]


class HolidayCalendarViewSet(TariffViewSet):
    queryset = HolidayCalendar.objects.all()
    serializer_class = HolidayCalendarSerializer
    search_fields = ["name"]

    def get_queryset(self):
        return HolidayCalendar.objects.prefetch_related("days")

    def _save(self, serializer, calendar=None) -> None:
        data = serializer.validated_data
        days = data.get("days")
        if days is None and calendar is not None:
            days = [{"date": d.date, "name": d.name} for d in calendar.days.all()]
        serializer.instance = services.holiday_calendar_save(
            calendar=calendar,
            name=data.get("name", calendar.name if calendar else ""),
            description=data.get("description", calendar.description if calendar else ""),
            days=[(d["date"], d.get("name", "")) for d in days or []],
            **self.audit_kwargs_actor(),
        )

    def perform_create(self, serializer) -> None:
        self._save(serializer)

    def perform_update(self, serializer) -> None:
        self._save(serializer, serializer.instance)
