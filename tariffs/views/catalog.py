"""Portal pages of plans, variants, pricing templates, add-ons, holiday calendars and
billing-point rate overrides."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from billspree.core.portal import OrganizationPortalMixin
from billspree.core.portal_pages import page_context, paginate
from tariffs import forms, services
from tariffs.models import (
    AddOn,
    BillingPointRateList,
    CashRounding,
    HolidayCalendar,
    Plan,
    PlanVariant,
    PricingTemplate,
)
from tariffs.views.base import PAGE_SIZE, ServiceFormView


class PlanListView(OrganizationPortalMixin, View):
    model = Plan
    def get(self, request: HttpRequest) -> HttpResponse:
        qs = Plan.objects.prefetch_related(
            "rate_lists", "add_ons",
            Prefetch("variants", queryset=PlanVariant.objects.prefetch_related(
                "rate_lists", "add_ons")),
        )
        q = request.GET.get("q", "").strip()
        if q:
            qs = qs.filter(name__icontains=q)
        ctx = {"q": q, "tab": "plans", **page_context(paginate(request, qs, PAGE_SIZE)),
               "templates": PricingTemplate.objects.select_related("plan", "variant")}
        return render(request, "tariffs/plan_list.html", ctx)


def _ids(objs) -> list:
    return [o.public_id for o in objs]


class PlanFormView(ServiceFormView):
    tab = "plans"

    def make_form(self, data=None):
        self.object = None
        initial = {}
        if "id" in self.kwargs:
            self.object = get_object_or_404(Plan, public_id=self.kwargs["id"])
            o = self.object
            initial = {"name": o.name, "description": o.description,
                       "property_kind": o.property_kind, "active": o.active,
                       "rate_lists": _ids(o.rate_lists.all()), "add_ons": _ids(o.add_ons.all())}
        self.title = f"Edit {self.object}" if self.object else "New plan"
        return forms.PlanForm(data, initial=initial or {"active": True})

    def save(self, form):
        return services.plan_save(plan=self.object, **form.cleaned_data, **self.actor.kwargs())

    def success_url(self, obj):
        return reverse("tariffs:plan_list")


class PlanVariantFormView(ServiceFormView):
    tab = "plans"

    def make_form(self, data=None):
        initial = {}
        self.object = None
        if "plan_id" in self.kwargs:
            self.plan = get_object_or_404(Plan, public_id=self.kwargs["plan_id"])
        else:
            self.object = get_object_or_404(PlanVariant.objects.select_related("plan"),
                                            public_id=self.kwargs["id"])
            self.plan = self.object.plan
            o = self.object
            initial = {"name": o.name, "description": o.description,
                       "rate_lists": _ids(o.rate_lists.all()), "add_ons": _ids(o.add_ons.all())}
        self.title = f"Edit {self.object}" if self.object else f"New variant of {self.plan.name}"
        return forms.PlanVariantForm(data, initial=initial)

    def save(self, form):
        return services.plan_variant_save(plan=self.plan, variant=self.object,
                                          **form.cleaned_data, **self.actor.kwargs())

    def success_url(self, obj):
        return reverse("tariffs:plan_list")


class PricingTemplateFormView(ServiceFormView):
    tab = "plans"

    def make_form(self, data=None):
        self.object, initial = None, {}
        if "id" in self.kwargs:
            self.object = get_object_or_404(PricingTemplate, public_id=self.kwargs["id"])
            o = self.object
            initial = {"name": o.name, "description": o.description,
                       "plan": o.plan.public_id,
                       "variant": o.variant.public_id if o.variant else None,
                       "billing_point_kind": o.billing_point_kind}
        self.title = f"Edit {self.object}" if self.object else "New pricing template"
        return forms.PricingTemplateForm(data, initial=initial)

    def save(self, form):
        return services.pricing_template_save(template=self.object, **form.cleaned_data,
                                              **self.actor.kwargs())

    def success_url(self, obj):
        return reverse("tariffs:plan_list")


class AddOnListView(OrganizationPortalMixin, View):
    model = AddOn
    def get(self, request: HttpRequest) -> HttpResponse:
        qs = AddOn.objects.annotate(plan_count=Count("plans")).order_by("name")
        q = request.GET.get("q", "").strip()
        if q:
            qs = qs.filter(Q(name__icontains=q) | Q(description__icontains=q))
        ctx = {"q": q, "tab": "add_ons", **page_context(paginate(request, qs, PAGE_SIZE))}
        return render(request, "tariffs/add_on_list.html", ctx)


class AddOnFormView(ServiceFormView):
    tab = "add_ons"

    def make_form(self, data=None):
        self.object, initial = None, {
            "currency": str(self.request.organization.default_currency), "active": True,
            "tax_rate": self.request.organization.default_vat_rate,
        }
        if "id" in self.kwargs:
            self.object = get_object_or_404(AddOn, public_id=self.kwargs["id"])
            o = self.object
            initial = {k: getattr(o, k) for k in ("name", "description", "price", "per",
                                                  "meter_type", "tax_rate", "active")}
            initial["currency"] = str(o.currency)
        self.title = f"Edit {self.object}" if self.object else "New add-on"
        return forms.AddOnForm(data, initial=initial)

    def save(self, form):
        return services.add_on_save(add_on=self.object, **form.cleaned_data,
                                    **self.actor.kwargs())

    def success_url(self, obj):
        return reverse("tariffs:add_on_list")


class CalendarListView(OrganizationPortalMixin, View):
    model = HolidayCalendar
    def get(self, request: HttpRequest) -> HttpResponse:
        qs = HolidayCalendar.objects.prefetch_related("days")
        return render(request, "tariffs/calendar_list.html",
                      {"tab": "calendars", **page_context(paginate(request, qs, PAGE_SIZE))})


class CalendarFormView(ServiceFormView):
    tab = "calendars"

    def make_form(self, data=None):
        self.object, initial = None, {}
        if "id" in self.kwargs:
            self.object = get_object_or_404(HolidayCalendar, public_id=self.kwargs["id"])
            o = self.object
            initial = {"name": o.name, "description": o.description,
                       "days": "\n".join(f"{d.date:%Y-%m-%d} {d.name}" for d in o.days.all())}
        self.title = f"Edit {self.object}" if self.object else "New holiday calendar"
        return forms.HolidayCalendarForm(data, initial=initial)

    def save(self, form):
        data = form.cleaned_data
        return services.holiday_calendar_save(
            calendar=self.object, name=data["name"], description=data["description"],
            days=form.holiday_days(), **self.actor.kwargs(),
        )

    def success_url(self, obj):
        return reverse("tariffs:calendar_list")


class OverrideListView(ServiceFormView):
    """Billing points with their own rate list (seed 002: Billing points › Rates)."""

    template_name = "tariffs/override_list.html"
    title = "Billing points with their own rates"
    submit = "Set rate list"
    tab = "overrides"

    def make_form(self, data=None):
        return forms.OverrideForm(data, initial={
            "billing_point": self.request.GET.get("billing_point")
        })

    def context(self, form, **extra):
        qs = BillingPointRateList.objects.select_related("billing_point__property", "rate_list")
        return super().context(form, **page_context(paginate(self.request, qs, PAGE_SIZE)), **extra)

    def save(self, form):
        return services.billing_point_rate_list_set(**form.cleaned_data, **self.actor.kwargs())

    def success_url(self, obj):
        return reverse("tariffs:override_list")


class CashRoundingView(ServiceFormView):
    """The organization's cash rounding per currency (one source for quotes and invoices)."""

    template_name = "tariffs/cash_rounding.html"
    title = "Cash rounding"
    submit = "Save"
    tab = "cash_rounding"

    def make_form(self, data=None):
        return forms.CashRoundingForm(
            data, initial={"currency": str(self.request.organization.default_currency)}
        )

    def context(self, form, **extra):
        return super().context(form, rows=CashRounding.objects.all(), **extra)

    def save(self, form):
        data = form.cleaned_data
        found = services.cash_rounding_set(currency=data["currency"], step=data["step"],
                                           **self.actor.kwargs())
        return found or f"no cash rounding in {data['currency']}"

    def success_url(self, obj):
        return reverse("tariffs:cash_rounding")
