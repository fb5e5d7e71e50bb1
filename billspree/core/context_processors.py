from django.http import HttpRequest

from billspree.core.portal import Can


def organization(request: HttpRequest) -> dict:
    role = getattr(request, "role", None)
    match = getattr(request, "resolver_match", None)
    can = Can(role, getattr(getattr(match, "func", None), "view_class", None))
    return {
        "organization": getattr(request, "organization", None),
        "memberships": getattr(request, "memberships", []),
        "role": role,
        "can": can,
        # the older names, from the same place
        "can_manage": can.manage,
        "can_operate": can.operate,
        "is_org_admin": can.admin,
        "nav_section": request.path.strip("/").split("/")[0] or "dashboard",
    }
