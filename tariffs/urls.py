from django.urls import path

from tariffs import views
from tariffs.models import (
    AddOn,
    BillingPointRateList,
    HolidayCalendar,
    Plan,
    PlanVariant,
    PricingTemplate,
)

app_name = "tariffs"


def _delete(model, tab: str, back: str):
    return views.DeleteView.as_view(model=model, tab=tab, back=back)


urlpatterns = [
    path("", views.RateListListView.as_view(), name="index"),
    path("rate-lists/new/", views.RateListCreateView.as_view(), name="rate_list_create"),
    path("rate-lists/<uuid:id>/", views.RateListDetailView.as_view(), name="rate_list_detail"),
    path("rate-lists/<uuid:id>/edit/", views.RateListEditView.as_view(), name="rate_list_edit"),
    path("rate-lists/<uuid:id>/delete/", views.RateListDeleteView.as_view(),
         name="rate_list_delete"),
    path("rate-lists/<uuid:id>/versions/new/", views.VersionCreateView.as_view(),
         name="version_create"),
    path("rate-lists/<uuid:id>/try/", views.QuoteView.as_view(), name="rate_list_quote"),
    path("versions/<uuid:id>/delete/", views.VersionDeleteView.as_view(),
         name="version_delete"),
    path("versions/<uuid:id>/rules/new/", views.RuleCreateView.as_view(), name="rule_create"),
    path("rules/<uuid:id>/edit/", views.RuleEditView.as_view(), name="rule_edit"),
    path("rules/<uuid:id>/delete/", views.RuleDeleteView.as_view(), name="rule_delete"),
    path("plans/", views.PlanListView.as_view(), name="plan_list"),
    path("plans/new/", views.PlanFormView.as_view(), name="plan_create"),
    path("plans/<uuid:id>/edit/", views.PlanFormView.as_view(model=Plan), name="plan_edit"),
    path("plans/<uuid:id>/delete/", _delete(Plan, "plans", "tariffs:plan_list"),
         name="plan_delete"),
    path("plans/<uuid:plan_id>/variants/new/", views.PlanVariantFormView.as_view(),
         name="plan_variant_create"),
    path("variants/<uuid:id>/edit/", views.PlanVariantFormView.as_view(model=PlanVariant),
         name="plan_variant_edit"),
    path("variants/<uuid:id>/delete/", _delete(PlanVariant, "plans", "tariffs:plan_list"),
         name="plan_variant_delete"),
    path("templates/new/", views.PricingTemplateFormView.as_view(), name="template_create"),
    path("templates/<uuid:id>/edit/",
         views.PricingTemplateFormView.as_view(model=PricingTemplate), name="template_edit"),
    path("templates/<uuid:id>/delete/",
         _delete(PricingTemplate, "plans", "tariffs:plan_list"), name="template_delete"),
    path("add-ons/", views.AddOnListView.as_view(), name="add_on_list"),
    path("add-ons/new/", views.AddOnFormView.as_view(), name="add_on_create"),
    path("add-ons/<uuid:id>/edit/", views.AddOnFormView.as_view(model=AddOn),
         name="add_on_edit"),
    path("add-ons/<uuid:id>/delete/", _delete(AddOn, "add_ons", "tariffs:add_on_list"),
         name="add_on_delete"),
    path("holiday-calendars/", views.CalendarListView.as_view(), name="calendar_list"),
    path("holiday-calendars/new/", views.CalendarFormView.as_view(), name="calendar_create"),
    path("holiday-calendars/<uuid:id>/edit/",
         views.CalendarFormView.as_view(model=HolidayCalendar), name="calendar_edit"),
    path("holiday-calendars/<uuid:id>/delete/",
         _delete(HolidayCalendar, "calendars", "tariffs:calendar_list"), name="calendar_delete"),
    path("cash-rounding/", views.CashRoundingView.as_view(), name="cash_rounding"),
    path("billing-point-rates/", views.OverrideListView.as_view(), name="override_list"),
    path("billing-point-rates/<uuid:id>/delete/", _delete(
        BillingPointRateList, "overrides", "tariffs:override_list"), name="override_delete"),
]
