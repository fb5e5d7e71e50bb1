"""Relay control: switch a meter's supply on or off, with a reason, by an operator."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from billspree.core.actor import Actor
from billspree.core.errors import Conflict
from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin
from billspree.core.portal_forms import error_text
from gateways import forms, services
from gateways.models import RegisterMap


class RelayView(OrganizationPortalMixin, View):
    """Switch a meter's supply: a confirmation page with a reason, then the write."""

    model = RegisterMap
    write_role = Role.OPERATOR

    def _map(self, id):
        return get_object_or_404(
            RegisterMap.objects.select_related("meter", "gateway", "profile"), public_id=id
        )

    def _render(self, request, register_map, form, status=200, refused=False):
        can_operate = Role.at_least(request.role, Role.OPERATOR)
        ctx = {
            "register_map": register_map,
            "form": form,
            "nav_section": "gateways",
            "can_operate": can_operate,
            # the page asks the meter where its relay stands as soon as it opens; not right
            # after the gateway failed or was busy (the operator reads it with the button)
            "auto_read": can_operate
            and not refused
            and register_map.profile.has_relay
            and register_map.gateway.enabled,
        }
        return render(request, "gateways/relay.html", ctx, status=status)

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        register_map = self._map(id)
        initial = {"action": request.GET.get("action", "disconnect")}
        return self._render(request, register_map, forms.RelayForm(initial=initial))

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        register_map = self._map(id)
        form = forms.RelayForm(request.POST)
        if not form.is_valid():
            return self._render(request, register_map, form, status=400)
        on = form.cleaned_data["action"] == "connect"
        try:
            services.relay_switch(
                register_map=register_map,
                on=on,
                reason=form.cleaned_data["reason"],
                **Actor.of(request).kwargs(),
            )
        except ValidationError as exc:
            form.add_error(None, error_text(exc))
            return self._render(request, register_map, form, status=409)
        except Conflict as exc:
            form.add_error(None, error_text(exc))
            return self._render(request, register_map, form, status=409, refused=True)
        state = "ON" if on else "OFF"
        messages.success(request, f"Supply of {register_map.meter.serial_number} switched {state}.")
        return redirect("gateways:detail", id=register_map.gateway.public_id)


class RelayStateView(OrganizationPortalMixin, View):
    """Ask the meter where its relay stands (htmx, when the relay page opens or on "Read
    the relay" / "Read again"); answers the state partial, with the gateway's error if the
    read failed (or the gateway stayed busy)."""

    model = RegisterMap
    write_role = Role.OPERATOR

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        register_map = get_object_or_404(
            RegisterMap.objects.select_related("meter", "gateway", "profile"), public_id=id
        )
        error = ""
        try:
            register_map = services.relay_state_read(register_map=register_map)
        except Conflict as exc:
            error = error_text(exc)
        ctx = {"register_map": register_map, "read_error": error, "can_operate": True}
        return render(request, "gateways/_relay_state.html", ctx)
