"""OpenAPI of the project (drf-spectacular): the API-key authentication, and pagination
documented only where the answer is paginated."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "billspree.core.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>` or `Bearer <key>`; made in Settings › API keys.",
        }


def paginated(method: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a viewset action that answers a page (``count``, ``next``, ``results``)."""
    method.paginated = True  # type: ignore[attr-defined]
    return method


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular wraps every ``many=True`` answer of a viewset with a paginator in a
    page, although only ``list`` (and actions marked :func:`paginated`) answer one: the
    drafts a ``POST /invoices/`` creates, a gateway's runs or a rate list's versions are
    plain arrays. Documenting them as pages made every client misread them."""

    def _get_paginator(self):
        action = getattr(self.view, "action", None)
        if action in (None, "list"):
            return super()._get_paginator()
        handler = getattr(self.view, action, None)
        return super()._get_paginator() if getattr(handler, "paginated", False) else None
