"""Helpers shared by the gateway portal views: a service's refusal as form or message text."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from billspree.core.errors import Conflict


def error_text(exc: ValidationError | Conflict) -> str:
    if isinstance(exc, Conflict):
        return exc.message
    return " ".join(m for msgs in exc.message_dict.values() for m in msgs)


def form_errors(form, exc: ValidationError | Conflict) -> None:
    if isinstance(exc, Conflict):
        form.add_error(None, exc.message)
        return
    for field, msgs in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, msgs)
