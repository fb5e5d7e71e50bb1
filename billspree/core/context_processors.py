from django.http import HttpRequest

from billspree.core.models import Role


def organization(request: HttpRequest) -> dict:
    role = getattr(request, "role", None)
    return {
        "organization": getattr(request, "organization", None),
        "memberships": getattr(request, "memberships", []),
        "role": role,
        "can_manage": bool(role) and Role.at_least(role, Role.MANAGER),
        "is_org_admin": bool(role) and Role.at_least(role, Role.ADMIN),
        "nav_section": request.path.strip("/").split("/")[0] or "dashboard",
    }
