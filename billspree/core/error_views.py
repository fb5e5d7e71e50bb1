"""Error pages that answer in the caller's language: JSON in the error shape under
``/api/``, the portal's HTML page elsewhere.

Why: a URL the router cannot match (``/api/v1/meters/not-a-uuid/``) never reaches DRF, so
an integrator's client got the portal's HTML 404 page where the schema promises JSON.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from billspree.core.api_errors import error_body

API_PREFIX = "/api/"


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body(404, "not_found", "Not found."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse(error_body(500, "server_error",
                                       "Something went wrong on our side; it was logged."),
                            status=500)
    return defaults.server_error(request)
