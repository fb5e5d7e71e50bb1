"""REST endpoints of tariffs (thin: parse, call a service or selector, shape the output)."""

from tariffs.api.catalog import (
    AddOnViewSet,
    BillingPointRateListViewSet,
    CashRoundingViewSet,
    PlanVariantViewSet,
    PlanViewSet,
    PricingTemplateViewSet,
)
from tariffs.api.rate_lists import (
    ChargeRuleViewSet,
    HolidayCalendarViewSet,
    RateListVersionViewSet,
    RateListViewSet,
)

__all__ = [
    "AddOnViewSet", "BillingPointRateListViewSet", "CashRoundingViewSet",
    "ChargeRuleViewSet", "HolidayCalendarViewSet",
    "PlanVariantViewSet", "PlanViewSet", "PricingTemplateViewSet", "RateListVersionViewSet",
    "RateListViewSet",
]
