"""The OpenAPI schema and its Swagger UI page, public or for logged-in callers only.

``settings.API_SCHEMA_PUBLIC`` (default on) decides, read per request. The schema describes
operations, not data, and every operation still needs a key or a session; publishing it
lets integrators and their code generators start before they have a key. An operator who
would rather not advertise the surface sets ``API_SCHEMA_PUBLIC=false``: then the schema
answers 401 to anonymous callers (an API key or a session opens it) and the docs page
sends a browser to the login page.

The docs page is the Swagger UI "split" view: its start-up script is a separate same-origin
request, and our template moves drf-spectacular's inline <style> into a static file, so
the page runs under the portal's own strict Content-Security-Policy with no exception
(Swagger UI sets styles through the DOM, which the policy allows; its CSS images are
``data:`` URIs). tests/e2e/test_csp.py opens an operation, tries it out and authorizes.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated


def schema_permissions() -> list[BasePermission]:
    return [AllowAny()] if settings.API_SCHEMA_PUBLIC else [IsAuthenticated()]


class SchemaView(SpectacularAPIView):
    def get_permissions(self) -> list[BasePermission]:
        return schema_permissions()


class DocsView(SpectacularSwaggerSplitView):
    template_name = "api/swagger_ui.html"

    def get_permissions(self) -> list[BasePermission]:
        return schema_permissions()

    def permission_denied(self, request, message=None, code=None):
        # a browser without a session: to the login page and back, not a JSON 401
        if not settings.API_SCHEMA_PUBLIC and not request.user.is_authenticated:
            raise _LoginRedirect(redirect_to_login(request.get_full_path()))
        super().permission_denied(request, message=message, code=code)

    def handle_exception(self, exc):
        if isinstance(exc, _LoginRedirect):
            return exc.response
        return super().handle_exception(exc)


class _LoginRedirect(Exception):  # noqa: N818 (a control-flow signal, not an error)
    def __init__(self, response):
        super().__init__("login required")
        self.response = response
