"""Portal pages of gateways: connectivity, configuration, register maps, relays, profiles.

Thin: forms parse, services change state, ``OrganizationPortalMixin`` checks roles
(viewer reads; operator polls and switches relays; manager configures).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import ListView

from billspree.core.errors import Conflict
from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin
from gateways import forms, selectors, services
from gateways.models import ADDRESS_HELP, Gateway, Health, Profile, RegisterMap


def _error_text(exc: ValidationError | Conflict) -> str:
    if isinstance(exc, Conflict):
        return exc.message
    return " ".join(m for msgs in exc.message_dict.values() for m in msgs)


def _form_errors(form, exc: ValidationError | Conflict) -> None:
    if isinstance(exc, Conflict):
        form.add_error(None, exc.message)
        return
    for field, msgs in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, msgs)


class GatewayListView(OrganizationPortalMixin, ListView):
    """The connectivity page: a green or red check per gateway, and "Poll now"."""

    model = Gateway
    template_name = "gateways/index.html"
    context_object_name = "gateways"
    paginate_by = 25

    def get_queryset(self):
        qs = Gateway.objects.select_related("property").annotate(
            meter_count=Count("register_maps"),
            failing_meters=Count(
                "register_maps", filter=Q(register_maps__consecutive_failures__gt=0)
            ),
        ).order_by("name")
        if q := self.request.GET.get("q", "").strip():
            qs = qs.filter(
                Q(name__icontains=q) | Q(host__icontains=q) | Q(property__name__icontains=q)
            )
        if health := self.request.GET.get("health", ""):
            return [g for g in qs if g.health() == health]  # health is computed, not stored
        return qs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(
            rows=[(g, g.health()) for g in ctx["gateways"]],
            q=self.request.GET.get("q", ""),
            health=self.request.GET.get("health", ""),
            health_choices=Health.choices,
            summary=selectors.health_summary(),
            nav_section="gateways",
            can_operate=Role.at_least(self.request.role, Role.OPERATOR),
            can_configure=Role.at_least(self.request.role, Role.MANAGER),
        )
        return ctx

    def get_template_names(self):
        if self.request.headers.get("HX-Request"):
            return ["gateways/_health_table.html"]
        return [self.template_name]


class GatewayDetailView(OrganizationPortalMixin, View):
    model = Gateway

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        gateway = get_object_or_404(Gateway.objects.select_related("property"), public_id=id)
        maps = gateway.register_maps.select_related("meter", "profile").order_by("device_id")
        ctx = {
            "gateway": gateway,
            "health": gateway.health(),
            "maps": [(m, m.health()) for m in maps],
            "runs": gateway.poll_runs.all()[:10],
            "errors": gateway.errors.select_related("register_map__meter")[:20],
            "nav_section": "gateways",
            "can_operate": Role.at_least(request.role, Role.OPERATOR),
            "can_configure": Role.at_least(request.role, Role.MANAGER),
        }
        template = "gateways/_detail_live.html" if request.headers.get("HX-Request") else None
        return render(request, template or "gateways/detail.html", ctx)


class GatewayFormView(OrganizationPortalMixin, View):
    """Add (no id) or edit (id) a gateway."""

    model = Gateway

    def _render(self, request, form, gateway=None, status=200):
        ctx = {"form": form, "gateway": gateway, "nav_section": "gateways"}
        return render(request, "gateways/gateway_form.html", ctx, status=status)

    def get(self, request: HttpRequest, id: str | None = None) -> HttpResponse:
        gateway = get_object_or_404(Gateway, public_id=id) if id else None
        return self._render(request, forms.GatewayForm(instance=gateway), gateway)

    def post(self, request: HttpRequest, id: str | None = None) -> HttpResponse:
        gateway = get_object_or_404(Gateway, public_id=id) if id else None
        form = forms.GatewayForm(request.POST, instance=Gateway() if gateway is None else None)
        if form.is_valid():
            try:
                if gateway is None:
                    gateway = services.gateway_create(actor=request.user, **form.cleaned_data)
                    messages.success(request, f"Gateway {gateway.name} added. Now map its meters.")
                else:
                    services.gateway_update(
                        gateway=gateway, actor=request.user, **form.cleaned_data
                    )
                    messages.success(request, f"Gateway {gateway.name} saved.")
                return redirect("gateways:detail", id=gateway.public_id)
            except (ValidationError, Conflict) as exc:
                _form_errors(form, exc)
        return self._render(request, form, gateway, status=400)


class GatewayDeleteView(OrganizationPortalMixin, View):
    model = Gateway

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        gateway = get_object_or_404(Gateway, public_id=id)
        return render(
            request,
            "gateways/confirm_delete.html",
            {
                "object": gateway,
                "what": "gateway",
                "nav_section": "gateways",
                "consequence": f"Its {gateway.register_maps.count()} register maps, poll history "
                "and errors are deleted and its meters are no longer polled. Readings stay.",
            },
        )

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        gateway = get_object_or_404(Gateway, public_id=id)
        services.gateway_delete(gateway=gateway, actor=request.user)
        messages.success(request, f"Gateway {gateway.name} deleted.")
        return redirect("gateways:index")


class PollNowView(OrganizationPortalMixin, View):
    model = Gateway
    write_role = Role.OPERATOR

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        gateway = get_object_or_404(Gateway, public_id=id)
        try:
            services.gateway_poll_request(gateway=gateway, actor=request.user)
            messages.success(
                request, f"Polling {gateway.name} now; results appear here in a few seconds."
            )
        except Conflict as exc:
            messages.error(request, exc.message)
        if request.POST.get("next") == "index":
            return redirect("gateways:index")
        return redirect("gateways:detail", id=gateway.public_id)


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
                        gateway=gateway, actor=request.user, **form.cleaned_data
                    )
                else:
                    services.register_map_update(
                        register_map=register_map, actor=request.user, **form.cleaned_data
                    )
                messages.success(request, "Register map saved; the next poll reads the meter.")
                return redirect("gateways:detail", id=gateway.public_id)
            except (ValidationError, Conflict) as exc:
                _form_errors(form, exc)
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
        services.register_map_delete(register_map=register_map, actor=request.user)
        messages.success(request, "Register map removed.")
        return redirect("gateways:detail", id=gateway.public_id)


class RelayView(OrganizationPortalMixin, View):
    """Switch a meter's supply: a confirmation page with a reason, then the write."""

    model = RegisterMap
    write_role = Role.OPERATOR

    def _map(self, id):
        return get_object_or_404(
            RegisterMap.objects.select_related("meter", "gateway", "profile"), public_id=id
        )

    def _render(self, request, register_map, form, status=200):
        ctx = {"register_map": register_map, "form": form, "nav_section": "gateways"}
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
                actor=request.user,
            )
        except (ValidationError, Conflict) as exc:
            form.add_error(None, _error_text(exc))
            return self._render(request, register_map, form, status=409)
        state = "ON" if on else "OFF"
        messages.success(request, f"Supply of {register_map.meter.serial_number} switched {state}.")
        return redirect("gateways:detail", id=register_map.gateway.public_id)


class ProfileListView(OrganizationPortalMixin, ListView):
    model = Profile
    template_name = "gateways/profiles.html"
    context_object_name = "profiles"
    paginate_by = 50

    def get_queryset(self):
        services.profile_builtins_ensure()
        qs = (
            Profile.objects.prefetch_related("values")
            .annotate(used=Count("register_maps"))
            .order_by("-builtin", "name")
        )
        if q := self.request.GET.get("q", "").strip():
            qs = qs.filter(Q(name__icontains=q) | Q(manufacturer__icontains=q))
        return qs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.update(
            q=self.request.GET.get("q", ""),
            nav_section="gateways",
            can_configure=Role.at_least(self.request.role, Role.MANAGER),
        )
        return ctx


class ProfileDetailView(OrganizationPortalMixin, View):
    model = Profile

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        profile = get_object_or_404(Profile, public_id=id)
        return render(
            request,
            "gateways/profile_detail.html",
            {
                "profile": profile,
                "values": profile.values.all(),
                "nav_section": "gateways",
                "copy_form": forms.CopyProfileForm(initial={"name": f"{profile.name} (copy)"}),
                "can_configure": Role.at_least(request.role, Role.MANAGER),
            },
        )


class ProfileFormView(OrganizationPortalMixin, View):
    """Create (no id) or edit (id) a custom profile with its values."""

    model = Profile

    def _render(self, request, form, formset, profile=None, status=200):
        ctx = {
            "form": form,
            "formset": formset,
            "profile": profile,
            "address_help": ADDRESS_HELP,
            "nav_section": "gateways",
        }
        return render(request, "gateways/profile_form.html", ctx, status=status)

    def get(self, request: HttpRequest, id: str | None = None) -> HttpResponse:
        profile = get_object_or_404(Profile, public_id=id) if id else None
        if profile is not None and profile.is_builtin:
            messages.info(request, "Built-in profiles are read-only; copy it to change it.")
            return redirect("gateways:profile_detail", id=profile.public_id)
        initial = (
            [
                {f: getattr(v, f) for f in forms.ProfileValueForm.Meta.fields}
                for v in profile.values.all()
            ]
            if profile
            else []
        )
        return self._render(
            request,
            forms.ProfileForm(instance=profile),
            forms.ProfileValueFormSet(initial=initial, prefix="values"),
            profile,
        )

    def post(self, request: HttpRequest, id: str | None = None) -> HttpResponse:
        profile = get_object_or_404(Profile, public_id=id) if id else None
        form = forms.ProfileForm(request.POST, instance=Profile())
        formset = forms.ProfileValueFormSet(request.POST, prefix="values")
        if form.is_valid() and formset.is_valid():
            values = [
                {k: v for k, v in f.cleaned_data.items() if k != "DELETE"}
                for f in formset.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE")
            ]
            try:
                if profile is None:
                    profile = services.profile_create(
                        values=values, actor=request.user, **form.cleaned_data
                    )
                else:
                    services.profile_update(
                        profile=profile, values=values, actor=request.user, **form.cleaned_data
                    )
                messages.success(request, f"Profile {profile.name} saved.")
                return redirect("gateways:profile_detail", id=profile.public_id)
            except (ValidationError, Conflict) as exc:
                _form_errors(form, exc)
        return self._render(request, form, formset, profile, status=400)


class ProfileCopyView(OrganizationPortalMixin, View):
    model = Profile

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        profile = get_object_or_404(Profile, public_id=id)
        form = forms.CopyProfileForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give the copy a name.")
            return redirect("gateways:profile_detail", id=profile.public_id)
        try:
            copy = services.profile_copy(
                profile=profile, name=form.cleaned_data["name"], actor=request.user
            )
        except (ValidationError, Conflict) as exc:
            messages.error(request, _error_text(exc))
            return redirect("gateways:profile_detail", id=profile.public_id)
        messages.success(request, f"Copied into {copy.name}; edit it to match your meter.")
        return redirect("gateways:profile_edit", id=copy.public_id)


class ProfileDeleteView(OrganizationPortalMixin, View):
    model = Profile

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        profile = get_object_or_404(Profile, public_id=id)
        try:
            services.profile_delete(profile=profile, actor=request.user)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("gateways:profile_detail", id=profile.public_id)
        messages.success(request, f"Profile {profile.name} deleted.")
        return redirect("gateways:profiles")
