"""The tenant portal (``/my/``) pages of tenants data: home, consumption per meter, profile,
password, and the invitation link. Every page inherits :class:`TenantPortalMixin`, so what
it reads is the logged-in tenant's only (see :mod:`tenants.portal`)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model, login, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from billspree.core.errors import Conflict
from billspree.core.files import logo_response
from billspree.core.forms import SignupForm
from billspree.core.portal_forms import error_text
from tenants import services
from tenants.consumption import (
    tenant_day_chart,
    tenant_meter_days,
    tenant_meter_months,
    tenant_month_chart,
)
from tenants.middleware import TENANT_ACCESS_SESSION_KEY
from tenants.portal import TenantPortalMixin


class PortalPage(TenantPortalMixin, TemplateView):
    pass


class HomeView(PortalPage):
    """Where a tenant lands: where they live, their meters, their latest invoices."""

    template_name = "tenant_portal/home.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["occupancies"] = list(self.scoped("occupancy"))
        ctx["meters"] = list(self.scoped("meter").order_by("type", "serial_number"))
        return ctx


class ConsumptionView(PortalPage):
    """Every meter of the tenant with its last twelve months (their share only)."""

    template_name = "tenant_portal/consumption.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        meters = self.scoped("meter").order_by("type", "serial_number")
        ctx["charts"] = [
            {"meter": m, "chart": tenant_month_chart(
                meter=m, bars=tenant_meter_months(tenant=self.tenant, meter=m))}
            for m in meters
        ]
        return ctx


class MeterConsumptionView(PortalPage):
    """One meter: the chart and the month-by-month table, clipped to the tenant's stay."""

    template_name = "tenant_portal/meter.html"
    scope = "meter"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        meter = self.get_object()
        bars = tenant_meter_months(tenant=self.tenant, meter=meter, months=24)
        days = tenant_meter_days(tenant=self.tenant, meter=meter)
        ctx.update(meter=meter, bars=bars, rows=list(reversed(bars)), days=days,
                   month_chart=tenant_month_chart(meter=meter, bars=bars),
                   day_chart=tenant_day_chart(meter=meter, days=days,
                                              tz=bars[0].start.tzinfo if bars else None))
        return ctx


class ProfileView(PortalPage):
    template_name = "tenant_portal/profile.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["occupancies"] = list(self.scoped("occupancy"))
        return ctx


class PasswordView(TenantPortalMixin, View):
    """Change the password inside the tenant layout (the managers' page has their shell)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(PasswordChangeForm(request.user))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PasswordChangeForm(request.user, request.POST)
        if not form.is_valid():
            return self._render(form, status=400)
        form.save()
        update_session_auth_hash(request, form.user)
        messages.success(request, "Your password was changed.")
        return redirect("my:profile")

    def _render(self, form, status: int = 200) -> HttpResponse:
        ctx = {"form": form, "tenant": self.tenant,
               "portal_organization": self.request.tenant_access.organization}
        return render(self.request, "tenant_portal/password.html", ctx, status=status)


class SwitchView(TenantPortalMixin, View):
    """A person with portal access in several organizations (or as several tenants) picks
    which account the portal shows; the choice is kept in the session. Only the logged-in
    user's own live accesses (loaded by the middleware) can be picked; anything else is a
    404 like a random id."""

    def post(self, request: HttpRequest, access: str) -> HttpResponse:
        chosen = next(
            (a for a in request.tenant_accesses if str(a.public_id) == str(access)), None
        )
        if chosen is None:
            raise Http404("No such account.")
        access = chosen
        request.session[TENANT_ACCESS_SESSION_KEY] = str(access.public_id)
        messages.success(
            request, f"Now showing your account with {access.organization.name} "
                     f"({access.tenant.name})."
        )
        return redirect("my:home")


class LogoView(TenantPortalMixin, View):
    """The logo of the organization whose portal the tenant is in (the page header).

    Logos are private files (``uploads`` storage): only this organization's tenants get it
    here; another organization's id answers 404 like a random one.
    """

    def get(self, request: HttpRequest, organization) -> HttpResponse:
        org = request.tenant_access.organization
        if org.public_id != organization or not org.logo:
            raise Http404("No logo.")
        return logo_response(org)


class AcceptView(View):
    """The link in the invitation email: set a password (new email) or log in (known one)."""

    def _render(self, request, access, form=None, status: int = 200) -> HttpResponse:
        exists = get_user_model().objects.filter(email__iexact=access.email).exists()
        ctx = {
            "access": access,
            "portal_organization": access.organization,
            "form": form or SignupForm(email=access.email),
            "account_exists": exists,
            "signed_in_as_other": request.user.is_authenticated
            and request.user.email.lower() != access.email.lower(),
        }
        return render(request, "tenant_portal/accept.html", ctx, status=status)

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        access = services.tenant_access_by_token(token)
        if access is None:
            return render(request, "tenant_portal/invalid.html", status=404)
        return self._render(request, access)

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        access = services.tenant_access_by_token(token)
        if access is None:
            return render(request, "tenant_portal/invalid.html", status=404)
        if request.user.is_authenticated:
            return self._accept_signed_in(request, access, token)
        if get_user_model().objects.filter(email__iexact=access.email).exists():
            return redirect(f"{reverse('login')}?next={request.path}")
        form = SignupForm(request.POST, email=access.email)
        if not form.is_valid():
            return self._render(request, access, form, status=400)
        try:
            access = services.tenant_portal_signup(
                token=token, password=form.cleaned_data["password"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
            )
        except (ValidationError, Conflict) as exc:
            form.add_error(None, error_text(exc))
            return self._render(request, access, form, status=400)
        login(request, access.user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {access.tenant.name}. This is your tenant portal.")
        return redirect("my:home")

    def _accept_signed_in(self, request, access, token: str) -> HttpResponse:
        try:
            services.tenant_portal_accept(token=token, user=request.user)
        except (ValidationError, Conflict) as exc:
            messages.error(request, error_text(exc))
            return self._render(request, access, status=400)
        messages.success(request, f"Welcome, {access.tenant.name}. This is your tenant portal.")
        return redirect("my:home")

