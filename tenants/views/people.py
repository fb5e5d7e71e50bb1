"""Tenants: list with search and filters, detail, create and edit, and the occupancy
and badge forms of a tenant's page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import DetailView, ListView

from billspree.core.actor import Actor
from billspree.core.billing_inputs import impacts_warn
from billspree.core.errors import Conflict
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_forms import form_errors
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


class TenantCreateView(OrganizationPortalMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "tenants/tenant_form.html", {"form": forms.TenantForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.TenantForm(request.POST)
        if form.is_valid():
            try:
                tenant = services.tenant_create(**Actor.of(request).kwargs(), **form.cleaned_data)
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, f"Created {tenant.name} ({tenant.customer_number}).")
                return redirect("tenants:detail", id=tenant.public_id)
        return render(request, "tenants/tenant_form.html", {"form": form}, status=400)


class TenantUpdateView(OrganizationPortalMixin, View):
    model = Tenant

    def _render(self, request, tenant, form, status=200):
        ctx = {"form": form, "tenant": tenant}
        return render(request, "tenants/tenant_form.html", ctx, status=status)

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        tenant = get_object_or_404(Tenant, public_id=id)
        return self._render(request, tenant, forms.TenantForm(instance=tenant))

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        tenant = get_object_or_404(Tenant, public_id=id)
        form = forms.TenantForm(request.POST, instance=Tenant.objects.get(pk=tenant.pk))
        if form.is_valid():
            try:
                services.tenant_update(tenant=tenant, **Actor.of(request).kwargs(),
                                       **form.cleaned_data)
            except ValidationError as exc:
                form_errors(form, exc)
            else:
                messages.success(request, f"Saved {tenant.name}.")
                return redirect("tenants:detail", id=tenant.public_id)
        return self._render(request, tenant, form, status=400)


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
