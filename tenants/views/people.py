"""Tenants: list with search and filters, detail, create and edit, and the occupancy
and badge forms of a tenant's page."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView, ListView

from billspree.core.actor import Actor
from billspree.core.billing_inputs import impacts_warn
from billspree.core.errors import Conflict
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_forms import form_errors
from billspree.core.portal_views import ServiceFormView
from tenants import forms, selectors, services
from tenants.models import Occupancy, Tenant
from tenants.views.badges import assign_badge

# --- tenants ------------------------------------------------------------------------------


def _open_occupancies() -> Prefetch:
    return Prefetch(
        "occupancies",
        queryset=Occupancy.objects.filter(move_out__isnull=True).select_related("billing_point"),
        to_attr="current",
    )


class TenantListView(OrganizationPortalMixin, ListView):
    model = Tenant
    template_name = "tenants/tenant_list.html"
    context_object_name = "tenants"
    paginate_by = 25

    def get_queryset(self):
        self.filters = forms.TenantFilterForm(self.request.GET or None)
        qs = Tenant.objects.prefetch_related(_open_occupancies())
        if not self.filters.is_valid():
            return qs
        data = self.filters.cleaned_data
        if data["q"]:
            q = data["q"].strip()
            qs = qs.filter(
                Q(name__icontains=q)
                | Q(customer_number__icontains=q)
                | Q(email__icontains=q)
                | Q(contact_person__icontains=q)
            )
        if data["kind"]:
            qs = qs.filter(kind=data["kind"])
        occupying = Exists(Occupancy.objects.filter(tenant=OuterRef("pk"), move_out__isnull=True))
        if data["status"] == "occupying":
            qs = qs.filter(occupying)
        elif data["status"] == "none":
            qs = qs.filter(~occupying)
        return qs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["filters"] = self.filters
        ctx["filtered"] = any(self.request.GET.get(k) for k in ("q", "kind", "status"))
        return ctx


class TenantCreateView(ServiceFormView):
    form_class = forms.TenantForm
    template_name = "tenants/tenant_form.html"

    def save(self, form: Any) -> Tenant:
        return services.tenant_create(**self.actor.kwargs(), **form.cleaned_data)

    def success_message(self, tenant: Tenant) -> str:
        return f"Created {tenant.name} ({tenant.customer_number})."

    def success_url(self, tenant: Tenant) -> str:
        return reverse("tenants:detail", kwargs={"id": tenant.public_id})


class TenantUpdateView(ServiceFormView):
    model = Tenant
    template_name = "tenants/tenant_form.html"

    @cached_property
    def tenant(self) -> Tenant:
        return get_object_or_404(Tenant, public_id=self.kwargs["id"])

    def make_form(self, data: Any = None) -> forms.TenantForm:
        if data is None:
            return forms.TenantForm(instance=self.tenant)
        # the form edits a fresh copy, so a failed save leaves ``self.tenant`` as stored
        return forms.TenantForm(data, instance=Tenant.objects.get(pk=self.tenant.pk))

    def context(self, form: Any, **extra: Any) -> dict[str, Any]:
        return super().context(form, tenant=self.tenant, **extra)

    def save(self, form: Any) -> Tenant:
        services.tenant_update(tenant=self.tenant, **self.actor.kwargs(), **form.cleaned_data)
        return self.tenant

    def success_message(self, tenant: Tenant) -> str:
        return f"Saved {tenant.name}."

    def success_url(self, tenant: Tenant) -> str:
        return reverse("tenants:detail", kwargs={"id": tenant.public_id})


class TenantDetailView(OrganizationPortalMixin, DetailView):
    model = Tenant
    template_name = "tenants/tenant_detail.html"
    context_object_name = "tenant"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        tenant = self.object
        ctx["occupancies"] = tenant.occupancies.select_related("billing_point__property")
        ctx["badges"] = tenant.badge_assignments.select_related("badge")
        ctx["ownerships"] = tenant.ownerships.select_related("property", "billing_point")
        ctx.setdefault("occupancy_form", forms.OccupancyForm())
        ctx.setdefault("badge_form", forms.TenantBadgeForm())
        ctx["portal_accesses"] = list(selectors.tenant_portal_accesses(tenant))
        ctx["portal_access"] = next(
            (a for a in ctx["portal_accesses"] if a.revoked_at is None), None
        )
        ctx["return_form"] = forms.BadgeReturnForm(
            initial={"returned_on": organization_today(self.request)}
        )
        return ctx


class TenantOccupancyCreateView(OrganizationPortalMixin, View):
    """Record an occupancy directly (e.g. history when a building is taken over)."""

    model = Tenant

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        tenant = get_object_or_404(Tenant, public_id=id)
        form = forms.OccupancyForm(request.POST)
        if form.is_valid():
            try:
                occupancy = services.occupancy_create(tenant=tenant, **Actor.of(request).kwargs(),
                                                      **form.cleaned_data)
            except (ValidationError, Conflict) as exc:
                form_errors(form, exc, default="move_in")
            else:
                bp = form.cleaned_data["billing_point"]
                messages.success(request, f"{tenant.name} now occupies {bp.name}.")
                impacts_warn(request, occupancy.impacts)
                return redirect("tenants:detail", id=tenant.public_id)
        view = TenantDetailView(request=request, kwargs={"id": id}, object=tenant)
        ctx = view.get_context_data(occupancy_form=form)
        return render(request, "tenants/tenant_detail.html", ctx, status=400)


class TenantBadgeAssignView(OrganizationPortalMixin, View):
    model = Tenant

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        tenant = get_object_or_404(Tenant, public_id=id)
        form = forms.TenantBadgeForm(request.POST)
        if form.is_valid() and assign_badge(request, form, tenant):
            return redirect("tenants:detail", id=tenant.public_id)
        view = TenantDetailView(request=request, kwargs={"id": id}, object=tenant)
        ctx = view.get_context_data(badge_form=form)
        return render(request, "tenants/tenant_detail.html", ctx, status=400)
