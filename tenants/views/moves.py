"""Moves: the list and the "register a move" flow with its confirmation step."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import DetailView, ListView

from billspree.core.actions import collect_actions
from billspree.core.actor import Actor
from billspree.core.billing_inputs import impacts_warn
from billspree.core.errors import Conflict
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_forms import form_errors
from meters.models import BillingPoint
from readings import selectors as reading_selectors
from tenants import forms, selectors, services
from tenants.models import Move

# --- moves ----------------------------------------------------------------------------------


class MoveListView(OrganizationPortalMixin, ListView):
    model = Move
    template_name = "tenants/move_list.html"
    context_object_name = "moves"
    paginate_by = 25

    def get_queryset(self):
        return Move.objects.select_related(
            "billing_point__property", "outgoing__tenant", "incoming__tenant"
        )


class MoveRegisterView(OrganizationPortalMixin, View):
    """Register a move in steps: where and when → who leaves (shown), who comes or vacancy,
    meter readings → confirm. Nothing is written before the confirmation, and the service
    writes all of it or nothing."""

    template_name = "tenants/move_register.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        if "moved_on" not in request.GET:  # first visit, maybe from a billing point's page
            initial = {
                "moved_on": organization_today(request),
                "billing_point": request.GET.get("billing_point"),
            }
            return self._render(request, "start", start_form=forms.MoveStartForm(initial=initial))
        start = forms.MoveStartForm(request.GET)
        if not start.is_valid():
            return self._render(request, "start", start_form=start, status=400)
        form, ctx = self._move_form(start.cleaned_data, initial=start.cleaned_data)
        return self._render(request, "details", form=form, **ctx)

    def post(self, request: HttpRequest) -> HttpResponse:
        start = forms.MoveStartForm(request.POST)
        if not start.is_valid():
            return self._render(request, "start", start_form=start, status=400)
        form, ctx = self._move_form(start.cleaned_data, data=request.POST)
        step = request.POST.get("step")
        if not form.is_valid() or step == "edit":
            status = 200 if form.is_valid() else 400
            return self._render(request, "details", form=form, status=status, **ctx)
        if step != "confirm":
            return self._render(request, "confirm", form=form, **ctx)
        return self._register(request, form, ctx)

    def _register(self, request: HttpRequest, form, ctx: dict) -> HttpResponse:
        data = form.cleaned_data
        try:
            move = services.move_register(
                billing_point=data["billing_point"],
                moved_at=data["moved_on"],
                incoming_tenant=form.incoming(),
                new_tenant=form.new_tenant(),
                readings=form.readings(),
                note=data["note"],
                **Actor.of(request).kwargs(),
            )
        except (ValidationError, Conflict) as exc:
            form_errors(form, exc)
            return self._render(request, "details", form=form, status=400, **ctx)
        who = move.incoming.tenant.name if move.incoming else "vacancy (billed to the owner)"
        messages.success(request, f"Move registered at {move.billing_point.name}: now {who}.")
        impacts_warn(request, move.impacts)
        return redirect("tenants:move_detail", id=move.public_id)

    def _move_form(self, where: dict, data=None, initial=None):
        bp = where["billing_point"]
        at = services.to_instant(where["moved_on"], bp.property.time_zone, field="moved_on")
        meters = services.move_meters(bp, at)
        outgoing = selectors.occupancy_at(bp, at)
        last = reading_selectors.last_readings(meters=meters, at=at)
        if initial is not None:  # already read at the move (e.g. by a gateway): start with it
            for meter in meters:
                if meter.pk in last and last[meter.pk].read_at == at:
                    initial[forms.MoveForm.reading_name(meter)] = last[meter.pk].value
        form = forms.MoveForm(
            data, initial=initial, meters=meters, last_readings=last,
            outgoing=outgoing.tenant if outgoing else None,
        )
        ctx = {"billing_point": bp, "moved_at": at, "outgoing": outgoing}
        ctx["owner"] = selectors.owners_by_billing_point([bp.pk]).get(bp.pk)
        return form, ctx

    def _render(self, request, step: str, status: int = 200, **ctx) -> HttpResponse:
        ctx["step"] = step
        return render(request, self.template_name, ctx, status=status)


class MoveDetailView(OrganizationPortalMixin, DetailView):
    """A registered move, and what comes next: the outgoing tenant's final bill (offered by
    billing through ``billspree.core.actions``: tenants does not import billing)."""

    model = Move
    template_name = "tenants/move_detail.html"
    context_object_name = "move"

    def get_queryset(self):
        return Move.objects.select_related(
            "billing_point__property", "outgoing__tenant", "incoming__tenant"
        )

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["next_steps"] = collect_actions("move_registered", self.request, self.object)
        return ctx


def billing_point_moves_url(billing_point: BillingPoint) -> str:
    """Where a billing point's page links to start a move there."""
    return f"{reverse('tenants:move_register')}?billing_point={billing_point.public_id}"
