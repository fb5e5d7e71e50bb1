"""Helpers of the meters portal views: paging, the manager-only base view."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.views import View

from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin

PAGE_SIZE = 25
ASSIGN_NAMES = {"connected_at": "connected_on", "initial_reading": "initial_reading"}
REMOVE_NAMES = {"removed_at": "removed_on", "final_reading": "final_reading"}
REPLACE_NAMES = {
    "removed_at": "replaced_on",
    "connected_at": "replaced_on",
    "new_meter": "new_meter",
    "meter": "new_meter",
    "final_reading": "final_reading",
    "initial_reading": "initial_reading",
}


def paginate(request: HttpRequest, queryset: Any) -> Any:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


class WriteView(OrganizationPortalMixin, View):
    """A form page only managers see (viewers get 403 on GET too: nothing to do there)."""

    read_role = Role.MANAGER
