"""Pagination of portal lists: one helper, forgiving with the page number.

A page number that is not a number shows the first page, one past the end the last one
(``Paginator.get_page``): a bookmarked or hand-edited link never answers 404 or 500.
Lists built on ``ListView(paginate_by=...)`` page the same way (:class:`ForgivingPaging`,
part of every portal view through ``OrganizationPortalMixin``).
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


class ForgivingPaging:
    """``ListView`` paging as :func:`paginate` pages: a page number that is not a number or
    out of range shows the first or last page instead of Django's 404."""

    page_kwarg = "page"

    def paginate_queryset(self, queryset: Any, page_size: int):
        paginator = self.get_paginator(  # type: ignore[attr-defined]
            queryset, page_size, orphans=self.get_paginate_orphans(),  # type: ignore[attr-defined]
            allow_empty_first_page=self.get_allow_empty())  # type: ignore[attr-defined]
        page = paginator.get_page(self.request.GET.get(self.page_kwarg))  # type: ignore[attr-defined]
        return paginator, page, page.object_list, page.has_other_pages()
