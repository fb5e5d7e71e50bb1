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
from billspree.core.portal_pages import ForgivingPaging

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class OrganizationPortalMixin(ForgivingPaging, LoginRequiredMixin):
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


def role_allows(role: str | None, view_class: Any, method: str = "POST") -> bool:
    """Whether ``role`` passes the role check ``view_class`` makes for ``method``: the one
    rule that decides both what a view accepts and what a page offers."""
    if not role:
        return False
    write = method.upper() not in SAFE_METHODS
    default = Role.MANAGER if write else Role.VIEWER
    needed = getattr(view_class, "write_role" if write else "read_role", default)
    return Role.at_least(role, needed)


def role_allows_url(role: str | None, url: str, method: str = "POST") -> bool:
    """Whether ``role`` may send ``method`` to the portal view at ``url`` (a path)."""
    from django.urls import Resolver404, resolve

    try:
        match = resolve(url.split("?")[0])
    except Resolver404:
        return False
    view_class = getattr(match.func, "view_class", None)
    if view_class is None or not issubclass(view_class, OrganizationPortalMixin):
        return bool(role)
    return role_allows(role, view_class, method)


class Can:
    """``{{ can.manage }}``, ``{{ can.operate }}``, ``{{ can.admin }}``: the role levels a
    page needs for its actions; ``{{ can.write }}``: whether the role passes the write check
    of the view that renders the page. Pages ask this, never a list of role names."""

    def __init__(self, role: str | None, view_class: Any = None) -> None:
        self.role = role
        self._view_class = view_class

    def _at_least(self, needed: str) -> bool:
        return bool(self.role) and Role.at_least(self.role, needed)

    @property
    def manage(self) -> bool:
        return self._at_least(Role.MANAGER)

    @property
    def operate(self) -> bool:
        return self._at_least(Role.OPERATOR)

    @property
    def admin(self) -> bool:
        return self._at_least(Role.ADMIN)

    @property
    def write(self) -> bool:
        return role_allows(self.role, self._view_class or OrganizationPortalMixin)

    def __bool__(self) -> bool:
        return self.manage
