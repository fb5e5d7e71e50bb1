"""Binds a logged-in tenant (a user with portal access and no membership) to the request.

Placed after core's ``OrganizationMiddleware`` (core must not import tenants). For a user
with an accepted, unrevoked :class:`~tenants.models.TenantAccess` and no membership it sets
``request.tenant`` / ``request.tenant_access`` and runs the request inside
``organization_context(access.organization)``, so the scoped manager works on ``/my/``.
It deliberately leaves ``request.organization`` and ``request.role`` empty: every manager
page and API endpoint then refuses the tenant exactly as it refuses any user without a
membership. The revocation check happens on every request, so revoking ends access at once.

The manager landing pages (the dashboard, where login sends everyone, and "create an
organization", where manager pages send users without one) redirect a tenant to ``/my/``,
and the managers' password page to the tenant portal's own.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from billspree.core.scoping import organization_context
from tenants.selectors import tenant_accesses_for_user

#: The session key of the portal access a tenant with several chose (``my:switch``).
TENANT_ACCESS_SESSION_KEY = "tenant_access_id"

#: Manager pages a tenant is sent on from, and where to (URL names).
SENT_ON = {
    "portal:dashboard": "my:home",
    "portal:no_organization": "my:home",
    "password_change": "my:password",
}


class TenantPortalMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self._sent_on: dict[str, str] | None = None

    def sent_on(self) -> dict[str, str]:
        if self._sent_on is None:
            self._sent_on = {reverse(name): target for name, target in SENT_ON.items()}
        return self._sent_on

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        request.tenant_access = None
        request.tenant_accesses = []
        user = getattr(request, "user", None)
        if (
            user is None
            or not user.is_authenticated
            or getattr(request, "organization", None) is not None
            or getattr(request, "memberships", None)
        ):
            return self.get_response(request)
        accesses = tenant_accesses_for_user(user)
        if not accesses:
            return self.get_response(request)
        wanted = request.session.get(TENANT_ACCESS_SESSION_KEY)
        access = next((a for a in accesses if str(a.public_id) == wanted), accesses[0])
        request.tenant_accesses = accesses
        request.tenant_access = access
        request.tenant = access.tenant
        target = self.sent_on().get(request.path)
        if target is not None:
            return redirect(target)
        with organization_context(access.organization):
            return self.get_response(request)
