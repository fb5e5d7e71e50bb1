"""Refuse NUL characters in what a request carries outside its API body, in one place.

Why: PostgreSQL cannot hold a NUL (``\\x00``) in text, so a ``?meter=a%00b`` filter, a
search term or a path component with one reached the database and answered 500. Checking
each view would miss the next one; this middleware answers **400 naming the parameter**
before any view (or session lookup) runs:

* the path, every query parameter (name and values), cookies and request headers, for
  every URL (API: the one JSON error shape; portal: the "Bad request" page);
* portal form bodies (``application/x-www-form-urlencoded`` and the fields of
  ``multipart/form-data``), at ``process_view``, only for views that CSRF protection
  reads anyway, so a view that takes over its own upload handling keeps its stream.

API bodies (JSON, form, multipart) are checked by the API's parsers
(:mod:`billspree.core.api_parsers`), which also name the field inside nested JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

from billspree.core.api_errors import error_body
from billspree.core.validators import NUL, NUL_MESSAGE

API_PREFIX = "/api/"


def _printable(name: str) -> str:
    return name.replace(NUL, "\\x00")


def nul_fields(items: Iterable[tuple[str, Iterable[Any]]], prefix: str = "") -> dict[str, list]:
    """``{name: [message]}`` for every name whose key or a value contains a NUL."""
    found: dict[str, list[str]] = {}
    for key, values in items:
        if NUL in key or any(isinstance(v, str) and NUL in v for v in values):
            found[prefix + _printable(key)] = [NUL_MESSAGE]
    return found


def request_nul_fields(request: HttpRequest) -> dict[str, list[str]]:
    """NULs in the path, query string, cookies and headers of ``request``."""
    found: dict[str, list[str]] = {}
    if NUL in request.path_info or NUL in request.path:
        found["path"] = [NUL_MESSAGE]
    found.update(nul_fields(request.GET.lists()))
    found.update(nul_fields(((k, [v]) for k, v in request.COOKIES.items()), "cookie "))
    headers = ((k[5:].replace("_", "-").title(), [v]) for k, v in request.META.items()
               if k.startswith("HTTP_") and isinstance(v, str))
    found.update(nul_fields(headers, "header "))
    return found


def bad_request(request: HttpRequest, fields: dict[str, list[str]]) -> HttpResponse:
    """400 in the caller's language: the API's JSON error shape, or the portal's page."""
    names = ", ".join(sorted(fields))
    message = f"{names}: {NUL_MESSAGE}"
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse(error_body(400, "invalid", message, fields), status=400)
    return render(request, "400.html", {"message": message, "fields": fields}, status=400)


class BadInputMiddleware:
    """Placed right after ``SecurityMiddleware``: nothing (sessions, authentication, the
    organization lookup) reads a NUL-bearing value before it is refused."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        fields = request_nul_fields(request)
        if fields:
            return bad_request(request, fields)
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func: Callable, view_args: Any,
                     view_kwargs: Any) -> HttpResponse | None:
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            return None
        if request.path_info.startswith(API_PREFIX) or getattr(view_func, "csrf_exempt", False):
            return None  # the API's parsers check bodies; exempt views own their stream
        if request.content_type not in ("application/x-www-form-urlencoded",
                                        "multipart/form-data"):
            return None
        try:
            fields = nul_fields(request.POST.lists())
        except (OSError, MultiPartParserError):
            return None  # unreadable: CSRF protection and the view answer as before
        return bad_request(request, fields) if fields else None
