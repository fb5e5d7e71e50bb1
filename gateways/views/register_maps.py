"""Register map pages: map a meter to a gateway, change or remove the mapping."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from billspree.core.actor import Actor
from billspree.core.errors import Conflict
from billspree.core.portal import OrganizationPortalMixin
from billspree.core.portal_forms import form_errors
from gateways import forms, services
from gateways.models import ADDRESS_HELP, Gateway, RegisterMap


class RegisterMapFormView(OrganizationPortalMixin, View):
    """Map a meter to a gateway (gateway id) or change a mapping (register map id)."""

    model = Gateway

    def _objects(self, gateway_id=None, id=None):
        if id:
            register_map = get_object_or_404(
                RegisterMap.objects.select_related("gateway", "meter"), public_id=id
            )
            return register_map.gateway, register_map
        return get_object_or_404(Gateway, public_id=gateway_id), None

    def _render(self, request, form, gateway, register_map, status=200):
        ctx = {
            "form": form,
            "gateway": gateway,
            "register_map": register_map,
            "address_help": ADDRESS_HELP,
            "nav_section": "gateways",
        }
        return render(request, "gateways/map_form.html", ctx, status=status)

    def get(self, request, gateway_id=None, id=None):
        gateway, register_map = self._objects(gateway_id, id)
        services.profile_builtins_ensure()
        form = forms.RegisterMapForm(instance=register_map, creating=register_map is None)
        return self._render(request, form, gateway, register_map)

    def post(self, request, gateway_id=None, id=None):
        gateway, register_map = self._objects(gateway_id, id)
        form = forms.RegisterMapForm(
            request.POST, instance=RegisterMap(), creating=register_map is None
        )
        if form.is_valid():
            try:
                if register_map is None:
                    services.register_map_create(
                        gateway=gateway, **Actor.of(request).kwargs(), **form.cleaned_data
                    )
                else:
                    services.register_map_update(
                        register_map=register_map, **Actor.of(request).kwargs(), **form.cleaned_data
                    )
                messages.success(request, "Register map saved; the next poll reads the meter.")
                return redirect("gateways:detail", id=gateway.public_id)
            except (ValidationError, Conflict) as exc:
                form_errors(form, exc)
        return self._render(request, form, gateway, register_map, status=400)


class RegisterMapEditView(RegisterMapFormView):
    model = RegisterMap


class RegisterMapDeleteView(OrganizationPortalMixin, View):
    model = RegisterMap

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        register_map = get_object_or_404(RegisterMap.objects.select_related("meter"), public_id=id)
        return render(
            request,
            "gateways/confirm_delete.html",
            {
                "object": register_map,
                "what": "register map",
                "nav_section": "gateways",
                "consequence": f"{register_map.meter.serial_number} will no longer be polled. "
                "Its readings stay.",
            },
        )

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        register_map = get_object_or_404(
            RegisterMap.objects.select_related("gateway"), public_id=id
        )
        gateway = register_map.gateway
        services.register_map_delete(register_map=register_map, **Actor.of(request).kwargs())
        messages.success(request, "Register map removed.")
        return redirect("gateways:detail", id=gateway.public_id)
