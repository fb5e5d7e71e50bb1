"""Base classes of portal views: login, an organization, and a role for writes.

Views query ``Model.objects`` without filtering by organization (the scoped manager does
it) and look objects up by ``public_id``; another organization's row is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from billspree.core.models import Role

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class OrganizationPortalMixin(LoginRequiredMixin):
    read_role: str = Role.VIEWER
    write_role: str = Role.MANAGER
    slug_field = "public_id"
    slug_url_kwarg = "id"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if request.organization is None:
            return redirect("portal:no_organization")
        needed = self.read_role if request.method in SAFE_METHODS else self.write_role
        if not Role.at_least(request.role, needed):
            raise PermissionDenied("Your role in this organization does not allow this.")
        return super().dispatch(request, *args, **kwargs)


def organization_today(request: HttpRequest):
    """Today's date where the organization works, for form defaults (not the server's UTC day)."""
    from django.utils import timezone

    return timezone.localdate(timezone=request.organization.time_zone)
