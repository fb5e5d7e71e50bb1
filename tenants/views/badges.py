"""RFID badges: the list, handing one out, taking it back."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import ListView

from billspree.core.actor import Actor
from billspree.core.errors import Conflict
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_forms import error_text, form_errors
from tenants import forms, services
from tenants.models import BadgeAssignment, RfidBadge, Tenant


def assign_badge(request: HttpRequest, form, tenant: Tenant) -> bool:
    data = form.cleaned_data
    try:
        assignment = services.badge_assign(
            uid=data["uid"],
            label=data["label"],
            tenant=tenant,
            assigned_at=data["assigned_on"],
            **Actor.of(request).kwargs(),
        )
    except (ValidationError, Conflict) as exc:
        form_errors(form, exc, default="uid")
        return False
    messages.success(request, f"Badge {assignment.badge.uid} handed to {tenant.name}.")
    return True


# --- badges -------------------------------------------------------------------------------


class BadgeListView(OrganizationPortalMixin, ListView):
    model = RfidBadge
    template_name = "tenants/badge_list.html"
    context_object_name = "badges"
    paginate_by = 50

    def get_queryset(self):
        held = BadgeAssignment.objects.filter(returned_at__isnull=True).select_related("tenant")
        qs = RfidBadge.objects.prefetch_related(Prefetch("assignments", held, to_attr="held"))
        q = self.request.GET.get("q", "").strip()
        if q:
            qs = qs.filter(Q(uid__icontains=q) | Q(label__icontains=q))
        return qs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.setdefault(
            "form", forms.BadgeAssignForm(initial={"assigned_on": organization_today(self.request)})
        )
        ctx["return_form"] = forms.BadgeReturnForm(
            initial={"returned_on": organization_today(self.request)}
        )
        ctx["q"] = self.request.GET.get("q", "")
        return ctx

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.BadgeAssignForm(request.POST)
        if form.is_valid() and assign_badge(request, form, form.cleaned_data["tenant"]):
            return redirect("tenants:badge_list")
        self.object_list = self.get_queryset()
        return render(request, self.template_name, self.get_context_data(form=form), status=400)


class BadgeReturnView(OrganizationPortalMixin, View):
    model = BadgeAssignment

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        assignment = get_object_or_404(
            BadgeAssignment.objects.select_related("tenant"), public_id=id
        )
        form = forms.BadgeReturnForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give the date the badge was returned.")
        else:
            try:
                services.badge_return(
                    assignment=assignment,
                    returned_at=form.cleaned_data["returned_on"],
                    **Actor.of(request).kwargs(),
                )
                messages.success(request, "Badge returned; it can be handed out again.")
            except (ValidationError, Conflict) as exc:
                messages.error(request, error_text(exc))
        back = request.POST.get("next", "")
        return redirect(back if back.startswith("/tenants/") else reverse("tenants:badge_list"))
