"""Portal pages of tariffs (thin: forms parse, services change, selectors read)."""

from tariffs.views.base import DeleteView, ServiceFormView
from tariffs.views.catalog import (
    AddOnFormView,
    AddOnListView,
    CalendarFormView,
    CalendarListView,
    CashRoundingView,
    OverrideListView,
    PlanFormView,
    PlanListView,
    PlanVariantFormView,
    PricingTemplateFormView,
)
from tariffs.views.rate_lists import (
    QuoteView,
    RateListCreateView,
    RateListDeleteView,
    RateListDetailView,
    RateListEditView,
    RateListListView,
    RuleCreateView,
    RuleDeleteView,
    RuleEditView,
    VersionCreateView,
    VersionDeleteView,
)

__all__ = [
    "AddOnFormView", "AddOnListView", "CalendarFormView", "CalendarListView", "CashRoundingView",
    "DeleteView",
    "OverrideListView", "PlanFormView", "PlanListView", "PlanVariantFormView",
    "PricingTemplateFormView", "QuoteView", "RateListCreateView", "RateListDeleteView",
    "RateListDetailView", "RateListEditView", "RateListListView", "RuleCreateView",
    "RuleDeleteView", "RuleEditView", "ServiceFormView", "VersionCreateView",
    "VersionDeleteView",
]
