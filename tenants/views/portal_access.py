"""The managers' side of the tenant portal: the "Portal access" panel of a tenant's page
(invite, resend, revoke). Writes need the manager role, like every tenants form."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views import View

from billspree.core.errors import Conflict
from billspree.core.portal import OrganizationPortalMixin
from tenants import services
from tenants.models import Tenant, TenantAccess
from tenants.views.common import error_text


class PortalInviteForm(forms.Form):
    email = forms.EmailField(help_text="The one-time link goes to this address.")


class TenantPortalInviteView(OrganizationPortalMixin, View):
    model = Tenant

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        tenant = get_object_or_404(Tenant, public_id=id)
        form = PortalInviteForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give a valid email address to send the invitation to.")
            return redirect("tenants:detail", id=tenant.public_id)
        try:
            access, _ = services.tenant_portal_invite(
                tenant=tenant, email=form.cleaned_data["email"], actor=request.user
            )
        except (ValidationError, Conflict) as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, f"Portal invitation sent to {access.email}.")
        return redirect("tenants:detail", id=tenant.public_id)


class TenantPortalResendView(OrganizationPortalMixin, View):
    model = TenantAccess

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        access = get_object_or_404(TenantAccess.objects.select_related("tenant"), public_id=id)
        try:
            services.tenant_portal_resend(access=access, actor=request.user)
        except Conflict as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"A new link was sent to {access.email}; the old one no "
                                      "longer works.")
        return redirect("tenants:detail", id=access.tenant.public_id)


class TenantPortalRevokeView(OrganizationPortalMixin, View):
    model = TenantAccess

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        access = get_object_or_404(TenantAccess.objects.select_related("tenant"), public_id=id)
        services.tenant_portal_revoke(access=access, actor=request.user)
        messages.success(request, f"Portal access of {access.email} revoked; it ends now.")
        return redirect("tenants:detail", id=access.tenant.public_id)
