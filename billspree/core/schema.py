"""OpenAPI of the project (drf-spectacular): the API-key authentication, pagination
documented only where the answer is paginated, and the error answers every operation can
give, in the one error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

from billspree.core.api_errors import ErrorSerializer


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


#: The error answers documented on every operation (409 only where the method changes
#: state: a read never conflicts). Why all of them everywhere: a client generated from the
#: schema must be able to decode any answer it can get, and schemathesis fails the build on
#: a status code the schema does not list.
ERROR_ANSWERS: dict[str, str] = {
    "400": "The request is invalid: `fields` names each wrong field (or row) and says why.",
    "401": "No API key or session, or the key is unknown, revoked or expired.",
    "403": "Authenticated, but the key's scopes or the user's role do not allow this.",
    "404": "No such object in your organization (other organizations' ids answer the same).",
    "409": "The object's state does not allow this (e.g. an issued invoice is immutable).",
    "429": "Too many requests: wait the number of seconds in `Retry-After`.",
}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
LOCAL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


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

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        """A local time of day (``"06:00:00"``, a batch's run time in the organization's zone)
        has no offset, so it is not an OpenAPI ``format: time`` (RFC 3339 ``full-time``
        requires one) and validators rejected every answer; document it by its pattern."""
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.TimeField) and schema.get("format") == "time":
            del schema["format"]
            schema["pattern"] = LOCAL_TIME_PATTERN
            schema.setdefault("example", "06:00:00")
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        error_ref = self.resolve_serializer(ErrorSerializer(), "response").ref
        for code, description in ERROR_ANSWERS.items():
            if code in responses or (code == "409" and self.method in SAFE_METHODS):
                continue
            answer: dict[str, Any] = {
                "description": description,
                "content": {"application/json": {"schema": error_ref}},
            }
            if code == "429":
                answer["headers"] = {"Retry-After": {
                    "schema": {"type": "integer", "minimum": 0},
                    "description": "Seconds to wait before the next request.",
                }}
            responses[code] = answer
        return responses
