"""Binds the request's organization (from the logged-in member's session) to the scope."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from billspree.core.scoping import current_organization, organization_context
from billspree.core.selectors import user_memberships

SESSION_KEY = "organization_id"


def bind_session_organization(request: HttpRequest) -> None:
    """Pick the member's selected organization, falling back to their first one."""
    request.organization = None
    request.membership = None
    request.role = None
    request.api_key = None
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return
    memberships = list(user_memberships(user))
    if not memberships:
        return
    wanted = request.session.get(SESSION_KEY)
    chosen = next(
        (m for m in memberships if str(m.organization.public_id) == wanted), memberships[0]
    )
    request.session[SESSION_KEY] = str(chosen.organization.public_id)
    request.memberships = memberships
    request.membership = chosen
    request.organization = chosen.organization
    request.role = chosen.role


class OrganizationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.memberships = []
        bind_session_organization(request)
        with organization_context(request.organization):
            return self.get_response(request)


class LocalTimeMiddleware:
    """Shows the request's times in its organization's time zone, not in UTC.

    Placed after every middleware that binds an organization (a member's, or a tenant's in
    the tenant portal): whatever a template prints with Django's own ``|date`` is then at
    least in the organization's zone. Pages that are about a property pass its zone to
    the :mod:`billspree.core.timefmt` filters explicitly.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        org = current_organization()
        if org is None:
            return self.get_response(request)
        with timezone.override(org.time_zone):
            return self.get_response(request)


class PermissionsPolicyMiddleware:
    """Send ``Permissions-Policy`` from ``settings.PERMISSIONS_POLICY``.

    The product uses no camera, microphone, location, payment or similar browser feature;
    refusing them means an injected script or a third-party frame cannot use them either.
    The header is built once: it depends on settings only.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        from django.conf import settings

        self.get_response = get_response
        policy: dict[str, list[str]] = getattr(settings, "PERMISSIONS_POLICY", {})
        self.header = ", ".join(
            f"{feature}=({' '.join(allow)})" for feature, allow in policy.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.header and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.header
        return response
