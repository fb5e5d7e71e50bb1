"""Helpers of the tenants portal views: service errors onto forms and messages."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from billspree.core.errors import Conflict


def errors_into(form, exc: ValidationError | Conflict, default: str | None = None) -> None:
    """Put a service error on the form fields it names (else on the form)."""
    if isinstance(exc, Conflict):
        fields = exc.fields or {None: [exc.message]}
        for name in fields:
            form.add_error(name if name in form.fields else default, exc.message)
        return
    for name, msgs in exc.message_dict.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else default, msg)


def error_text(exc: ValidationError | Conflict) -> str:
    if isinstance(exc, Conflict):
        return exc.message
    return " ".join(m for msgs in exc.message_dict.values() for m in msgs)
