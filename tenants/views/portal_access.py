"""The managers' side of the tenant portal: the "Portal access" panel of a tenant's page
(invite, resend, revoke). Writes need the manager role, like every tenants form."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views import View

from billspree.core.actor import Actor
from billspree.core.errors import Conflict
from billspree.core.portal import OrganizationPortalMixin
from billspree.core.portal_forms import error_text
from billspree.core.portal_views import ActionView
from tenants import services
from tenants.models import Tenant, TenantAccess


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
                tenant=tenant, email=form.cleaned_data["email"], **Actor.of(request).kwargs()
            )
        except (ValidationError, Conflict) as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, f"Portal invitation sent to {access.email}.")
        return redirect("tenants:detail", id=tenant.public_id)


class _AccessActionView(ActionView):
    model = TenantAccess
    queryset = TenantAccess.objects.select_related("tenant")

    def success_url(self, access: TenantAccess) -> str:
        return reverse("tenants:detail", kwargs={"id": access.tenant.public_id})


class TenantPortalResendView(_AccessActionView):
    def act(self, access: TenantAccess) -> str:
        services.tenant_portal_resend(access=access, **self.actor.kwargs())
        return f"A new link was sent to {access.email}; the old one no longer works."


class TenantPortalRevokeView(_AccessActionView):
    def act(self, access: TenantAccess) -> str:
        services.tenant_portal_revoke(access=access, **self.actor.kwargs())
        return f"Portal access of {access.email} revoked; it ends now."
