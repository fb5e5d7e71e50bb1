"""One JSON error shape for every API error.

``{"error": {"status": 400, "code": "invalid", "message": "...", "fields": {"name": ["..."]}}}``
Integrators parse one format whether the error came from a serializer, a service
(Django ``ValidationError``), a state conflict (409) or authentication.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from billspree.core.errors import Conflict


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class ErrorDetailSerializer(serializers.Serializer):
    """OpenAPI of the one error shape."""

    status = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField(help_text="What is wrong, in words.")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Messages by field (or row) name.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def _flatten(detail: Any) -> list[str]:
    if isinstance(detail, dict):
        return [m for v in detail.values() for m in _flatten(v)]
    if isinstance(detail, list):
        return [m for v in detail for m in _flatten(v)]
    return [str(detail)]


def _code(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return getattr(exc, "default_code", "error")


def error_body(
    status_code: int, code: str, message: str, fields: dict[str, Any] | None = None
) -> dict:
    return {
        "error": {"status": status_code, "code": code, "message": message, "fields": fields or {}}
    }


def _fields_message(fields: dict[str, list[str]]) -> str:
    """The top-level message of field errors says what is wrong, not only where:
    "subscription: Tenant 3 is already invoiced on INV-000001 for …" (at most three
    messages, then how many more)."""
    parts = [f"{name}: {text}" for name in sorted(fields) for text in fields[name]]
    more = f" (and {len(parts) - 3} more)" if len(parts) > 3 else ""
    return "; ".join(parts[:3]) + more if parts else "Invalid input."


def _throttled_message(exc: exceptions.Throttled, context: dict[str, Any]) -> str:
    """Whose limit was reached, what it is, and when to retry (the seconds are also in the
    ``Retry-After`` header)."""
    request = context.get("request")
    holder, rate = getattr(request, "_billspree_throttled", ("this client", ""))
    wait = max(1, math.ceil(exc.wait or 1))
    at = (timezone.now() + timedelta(seconds=wait)).strftime("%Y-%m-%dT%H:%M:%SZ")
    limit = f" (limit {rate})" if rate else ""
    return f"Too many requests for {holder}{limit}. Retry in {wait} seconds, after {at}."


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    fields: dict[str, Any] = {}
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    elif isinstance(exc, Conflict):
        fields = exc.fields
        exc = ConflictError(detail=exc.message, code=exc.code)
    elif isinstance(exc, ProtectedError | RestrictedError):
        # A service that forgot to check what still uses a row must not answer 500: the
        # database refused the delete, which is a conflict with the current state.
        used_by = sorted({o._meta.verbose_name for o in (
            exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects)})
        exc = ConflictError(detail=f"Still used by: {', '.join(used_by)}; it cannot be deleted.",
                            code="in_use")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            fields = {k: _flatten(v) for k, v in detail.items() if k != "non_field_errors"}
            general = _flatten(detail.get("non_field_errors", []))
            message = general[0] if general else _fields_message(fields)
        else:
            message = "; ".join(_flatten(detail))
        code = "invalid"
    elif isinstance(exc, exceptions.Throttled):
        message = _throttled_message(exc, context)
        code = "throttled"
    else:
        message = "; ".join(_flatten(exc.detail))
        code = _code(exc)
    response.data = error_body(response.status_code, code, message, fields)
    return response
