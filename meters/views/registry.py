"""Portal pages listing, showing and editing properties, billing points and meters."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View
from django.views.generic import ListView

from billspree.core.models import Role
from billspree.core.panels import collect_panels
from billspree.core.portal import OrganizationPortalMixin
from billspree.core.portal_pages import paginate
from billspree.core.portal_views import ServiceFormView
from meters import forms, selectors, services
from meters.models import BillingPoint, Meter, Property
from meters.views.common import (
    PAGE_SIZE,
    ServiceEditView,
    query_without_page,
)

# --- properties ------------------------------------------------------------------------


class PropertyListView(OrganizationPortalMixin, ListView):
    model = Property
    template_name = "meters/property_list.html"
    context_object_name = "properties"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        return selectors.property_list(search=self.request.GET.get("q", "").strip())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx.update(
            q=self.request.GET.get("q", ""),
            query=query_without_page(self.request),
            nav_section="properties",
        )
        return ctx


class PropertyCreateView(ServiceFormView):
    model = Property
    read_role = Role.MANAGER
    form_class = forms.PropertyForm
    template_name = "meters/property_form.html"
    extra_context = {"nav_section": "properties"}

    def initial(self) -> dict[str, Any]:
        org = self.request.organization
        return {"time_zone": str(org.time_zone), "currency": str(org.default_currency)}

    def save(self, form: forms.PropertyForm) -> Property:
        return services.property_create(**self.actor.kwargs(), **form.cleaned_data)

    def success_message(self, prop: Property) -> str:
        return f"Property {prop.name} created. Add its billing points."

    def success_url(self, prop: Property) -> str:
        return reverse("meters:property_detail", kwargs={"id": prop.public_id})


class PropertyEditView(ServiceEditView):
    model = Property
    form_class = forms.PropertyForm
    template_name = "meters/property_form.html"
    context_name = "property"
    nav_section = "properties"
    detail_url_name = "meters:property_detail"
    saved_message = "Property saved."

    def update(self, obj: Property, changed: dict[str, Any]) -> None:
        services.property_update(property=obj, **self.actor.kwargs(), **changed)


class PropertyDetailView(OrganizationPortalMixin, View):
    model = Property

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        prop = get_object_or_404(Property, public_id=id)
        q, kind = request.GET.get("q", "").strip(), request.GET.get("kind", "")
        points = selectors.billing_point_list(property=prop, search=q, kind=kind)
        ctx = {
            "property": prop,
            "page_obj": paginate(request, points, PAGE_SIZE),
            "q": q,
            "kind": kind,
            "kinds": BillingPoint.Kind.choices,
            "query": query_without_page(request),
            "filtered": bool(q or kind),
            "nav_section": "properties",
        }
        return render(request, "meters/property_detail.html", ctx)


# --- billing points --------------------------------------------------------------------


class BillingPointDetailView(OrganizationPortalMixin, View):
    model = BillingPoint

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        bp = get_object_or_404(BillingPoint.objects.select_related("property"), public_id=id)
        history = selectors.assignment_history(billing_point=bp).filter(removed_at__isnull=False)
        ctx = {
            "bp": bp,
            "active": selectors.active_assignments(bp),
            "history": history,
            "nav_section": "properties",
            "panels": collect_panels("billing_point", request, bp),
        }
        return render(request, "meters/billing_point_detail.html", ctx)


class BillingPointEditView(ServiceEditView):
    model = BillingPoint
    form_class = forms.BillingPointForm
    template_name = "meters/billing_point_form.html"
    context_name = "bp"
    nav_section = "properties"
    detail_url_name = "meters:billing_point_detail"
    saved_message = "Billing point saved."

    def update(self, obj: BillingPoint, changed: dict[str, Any]) -> None:
        services.billing_point_update(billing_point=obj, **self.actor.kwargs(), **changed)


# --- meters ----------------------------------------------------------------------------


class MeterListView(OrganizationPortalMixin, View):
    model = Meter

    def get(self, request: HttpRequest) -> HttpResponse:
        q = request.GET.get("q", "").strip()
        meter_type = request.GET.get("type", "")
        status = request.GET.get("status", "")
        if meter_type not in dict(selectors.TYPE_FILTER_CHOICES):
            meter_type = ""
        if status not in (selectors.Status.ACTIVE, selectors.Status.INACTIVE):
            status = ""
        properties = list(Property.objects.values_list("public_id", "name"))
        prop = request.GET.get("property", "")
        if prop not in {str(p) for p, _ in properties}:
            prop = ""
        meters = selectors.meter_list(search=q, type=meter_type, status=status, property_id=prop)
        ctx = {
            "page_obj": paginate(request, meters, PAGE_SIZE),
            "q": q,
            "type": meter_type,
            "status": status,
            "property": prop,
            "properties": [(str(p), name) for p, name in properties],
            "types": selectors.TYPE_FILTER_CHOICES,
            "statuses": selectors.Status.CHOICES,
            "query": query_without_page(request),
            "filtered": bool(q or meter_type or status or prop),
            "nav_section": "meters",
        }
        return render(request, "meters/meter_list.html", ctx)


class MeterCreateView(ServiceFormView):
    model = Meter
    read_role = Role.MANAGER
    form_class = forms.MeterForm
    template_name = "meters/meter_form.html"
    extra_context = {"nav_section": "meters"}

    def save(self, form: forms.MeterForm) -> Meter:
        return services.meter_create(**self.actor.kwargs(), **form.cleaned_data)

    def success_message(self, meter: Meter) -> str:
        return f"Meter {meter.serial_number} created."

    def success_url(self, meter: Meter) -> str:
        return reverse("meters:meter_detail", kwargs={"id": meter.public_id})


class MeterEditView(ServiceEditView):
    """Rename a meter (and adjust multiplier, digits, main meter); the serial stays."""

    model = Meter
    form_class = forms.MeterForm
    template_name = "meters/meter_form.html"
    context_name = "meter"
    nav_section = "meters"
    detail_url_name = "meters:meter_detail"
    saved_message = "Meter saved."

    def update(self, obj: Meter, changed: dict[str, Any]) -> None:
        services.meter_update(meter=obj, **self.actor.kwargs(), **changed)


class MeterDetailView(OrganizationPortalMixin, View):
    model = Meter

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        meter = get_object_or_404(selectors.meters_with_status(), public_id=id)
        ctx = {
            "meter": meter,
            "history": selectors.assignment_history(meter=meter),
            "sub_meters": selectors.sub_meters(meter),
            "nav_section": "meters",
            "panels": collect_panels("meter", request, meter),
        }
        return render(request, "meters/meter_detail.html", ctx)
