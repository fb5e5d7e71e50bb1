"""Portal pages listing, showing and editing properties, billing points and meters."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import ListView

from billspree.core.panels import collect_panels
from billspree.core.portal import OrganizationPortalMixin
from meters import forms, selectors, services
from meters.models import BillingPoint, Meter, Property
from meters.views.common import (
    PAGE_SIZE,
    ServiceEditView,
    WriteView,
    paginate,
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


class PropertyCreateView(WriteView):
    model = Property

    def get(self, request: HttpRequest) -> HttpResponse:
        org = request.organization
        form = forms.PropertyForm(
            initial={"time_zone": str(org.time_zone), "currency": str(org.default_currency)}
        )
        return self._render(form)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.PropertyForm(request.POST)
        if form.is_valid():
            try:
                prop = services.property_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                forms.apply_errors(form, exc, {})
            else:
                messages.success(request, f"Property {prop.name} created. Add its billing points.")
                return redirect("meters:property_detail", id=prop.public_id)
        return self._render(form, status=400)

    def _render(self, form: forms.PropertyForm, status: int = 200) -> HttpResponse:
        ctx = {"form": form, "nav_section": "properties"}
        return render(self.request, "meters/property_form.html", ctx, status=status)


class PropertyEditView(ServiceEditView):
    model = Property
    form_class = forms.PropertyForm
    template_name = "meters/property_form.html"
    context_name = "property"
    nav_section = "properties"
    detail_url_name = "meters:property_detail"
    saved_message = "Property saved."

    def update(self, obj: Property, changed: dict[str, Any]) -> None:
        services.property_update(property=obj, actor=self.request.user, **changed)


class PropertyDetailView(OrganizationPortalMixin, View):
    model = Property

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        prop = get_object_or_404(Property, public_id=id)
        q, kind = request.GET.get("q", "").strip(), request.GET.get("kind", "")
        points = selectors.billing_point_list(property=prop, search=q, kind=kind)
        ctx = {
            "property": prop,
            "page_obj": paginate(request, points),
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
        services.billing_point_update(billing_point=obj, actor=self.request.user, **changed)


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
            "page_obj": paginate(request, meters),
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


class MeterCreateView(WriteView):
    model = Meter

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(forms.MeterForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.MeterForm(request.POST)
        if form.is_valid():
            try:
                meter = services.meter_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                forms.apply_errors(form, exc, {})
            else:
                messages.success(request, f"Meter {meter.serial_number} created.")
                return redirect("meters:meter_detail", id=meter.public_id)
        return self._render(form, status=400)

    def _render(self, form: Any, status: int = 200) -> HttpResponse:
        ctx = {"form": form, "nav_section": "meters"}
        return render(self.request, "meters/meter_form.html", ctx, status=status)


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
        services.meter_update(meter=obj, actor=self.request.user, **changed)


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
