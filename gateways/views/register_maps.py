"""Register map pages: map a meter to a gateway, change or remove the mapping."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse

from billspree.core.portal_views import ServiceFormView
from gateways import forms, services
from gateways.models import ADDRESS_HELP, Gateway, RegisterMap
from gateways.views.gateways import DeleteView


class RegisterMapFormView(ServiceFormView):
    """Map a meter to a gateway (gateway id) or change a mapping (register map id)."""

    model = Gateway
    template_name = "gateways/map_form.html"

    @cached_property
    def objects(self) -> tuple[Gateway, RegisterMap | None]:
        if self.kwargs.get("id"):
            register_map = get_object_or_404(
                RegisterMap.objects.select_related("gateway", "meter"), public_id=self.kwargs["id"]
            )
            return register_map.gateway, register_map
        return get_object_or_404(Gateway, public_id=self.kwargs.get("gateway_id")), None

    def make_form(self, data: Any = None) -> forms.RegisterMapForm:
        register_map = self.objects[1]
        if data is None:
            return forms.RegisterMapForm(instance=register_map, creating=register_map is None)
        return forms.RegisterMapForm(data, instance=RegisterMap(), creating=register_map is None)

    def context(self, form: Any, **extra: Any) -> dict[str, Any]:
        gateway, register_map = self.objects
        return super().context(form, gateway=gateway, register_map=register_map,
                               address_help=ADDRESS_HELP, nav_section="gateways", **extra)

    def get(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        self.objects  # noqa: B018 (404 before anything else)
        services.profile_builtins_ensure()
        return super().get(request, **kwargs)

    def save(self, form: Any) -> Gateway:
        gateway, register_map = self.objects
        if register_map is None:
            services.register_map_create(
                gateway=gateway, **self.actor.kwargs(), **form.cleaned_data
            )
        else:
            services.register_map_update(
                register_map=register_map, **self.actor.kwargs(), **form.cleaned_data
            )
        return gateway

    def success_message(self, gateway: Gateway) -> str:
        return "Register map saved; the next poll reads the meter."

    def success_url(self, gateway: Gateway) -> str:
        return reverse("gateways:detail", kwargs={"id": gateway.public_id})


class RegisterMapEditView(RegisterMapFormView):
    model = RegisterMap


class RegisterMapDeleteView(DeleteView):
    model = RegisterMap
    queryset = RegisterMap.objects.select_related("gateway", "meter")
    what = "register map"

    def consequence(self, register_map: RegisterMap) -> str:
        return f"{register_map.meter.serial_number} will no longer be polled. Its readings stay."

    def act(self, register_map: RegisterMap) -> str:
        services.register_map_delete(register_map=register_map, **self.actor.kwargs())
        return "Register map removed."

    def success_url(self, register_map: RegisterMap) -> str:
        return reverse("gateways:detail", kwargs={"id": register_map.gateway.public_id})
