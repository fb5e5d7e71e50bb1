"""The managers' side of the tenant portal: the "Portal access" panel of a tenant's page
(invite, resend, revoke). Writes need the manager role, like every tenants form."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

from billspree.core.portal_views import ActionView
from tenants import services
from tenants.models import Tenant, TenantAccess


class PortalInviteForm(forms.Form):
    email = forms.EmailField(help_text="The one-time link goes to this address.")


class TenantPortalInviteView(ActionView):
    model = Tenant

    def act(self, tenant: Tenant) -> str:
        form = PortalInviteForm(self.request.POST)
        if not form.is_valid():
            raise ValidationError("Give a valid email address to send the invitation to.")
        access, _ = services.tenant_portal_invite(
            tenant=tenant, email=form.cleaned_data["email"], **self.actor.kwargs()
        )
        return f"Portal invitation sent to {access.email}."

    def success_url(self, tenant: Tenant) -> str:
        return reverse("tenants:detail", kwargs={"id": tenant.public_id})


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
