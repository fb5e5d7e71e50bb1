"""Pagination of portal lists: one helper, forgiving with the page number.

A page number that is not a number shows the first page, one past the end the last one
(``Paginator.get_page``): a bookmarked or hand-edited link never answers 404 or 500.
Lists built on ``ListView(paginate_by=...)`` keep Django's own paging.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PAGE_SIZE = 25


def paginate(request: HttpRequest, queryset: Any, per_page: int = PAGE_SIZE) -> Page:
    """The page of ``queryset`` that ``?page=`` asks for (first or last when out of range)."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def page_context(page: Page, rows: str = "rows") -> dict[str, Any]:
    """What ``partials/pagination.html`` and the list need: ``page_obj``, ``is_paginated``
    and the page's rows under ``rows``."""
    return {"page_obj": page, "is_paginated": page.has_other_pages(), rows: page.object_list}
