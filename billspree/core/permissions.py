"""Role-based permissions: reading needs membership, writing needs the view's write role."""

from __future__ import annotations

from rest_framework import permissions
from rest_framework.request import Request

from billspree.core.models import Role


def required_role(view: object, method: str) -> str:
    if method in permissions.SAFE_METHODS:
        return getattr(view, "read_role", Role.VIEWER)
    return getattr(view, "write_role", Role.MANAGER)


class OrganizationRolePermission(permissions.BasePermission):
    message = "Your role in this organization does not allow this."

    def has_permission(self, request: Request, view: object) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        role = getattr(request, "role", None)
        if role is None or getattr(request, "organization", None) is None:
            self.message = "You are not a member of any organization."
            return False
        return Role.at_least(role, required_role(view, request.method))
