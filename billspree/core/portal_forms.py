"""A service's refusal on a portal form or in a message: the one mapping every portal uses.

Services raise django ``ValidationError`` (a field → messages dict, or bare messages) and
:class:`~billspree.core.errors.Conflict` (a message, optionally naming fields). A portal
page shows them on the fields they name when the form has them, else on top of the form.
"""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from billspree.core.errors import Conflict


def form_errors(
    form: forms.BaseForm,
    exc: ValidationError | Conflict,
    *,
    names: Mapping[str, str] | None = None,
    default: str | None = None,
    prefix_unknown: bool = False,
) -> None:
    """Put a service's errors on ``form``.

    ``names`` maps a service argument to the form field showing it (``{"connected_at":
    "connected_on"}``); a key the form has no field for goes to ``default`` (``None``: on
    top of the form), prefixed with the key when ``prefix_unknown``. A ``Conflict`` goes on
    the first field it names that the form has, else to ``default``.
    """
    names = names or {}

    def target(key: str) -> str | None:
        name = names.get(key, key)
        return name if name in form.fields else default

    if isinstance(exc, Conflict):
        on = next((t for t in map(target, exc.fields) if t is not None), default)
        form.add_error(on, exc.message)
        return
    if not hasattr(exc, "error_dict"):
        form.add_error(default, exc.messages)
        return
    for key, messages in exc.message_dict.items():
        field = target(key)
        if field is None and prefix_unknown and key != NON_FIELD_ERRORS:
            messages = [f"{key}: {m}" for m in messages]
        form.add_error(field, messages)


def error_text(exc: ValidationError | Conflict) -> str:
    """The refusal as one sentence for a message or a page (all its messages, joined)."""
    if isinstance(exc, Conflict):
        return exc.message
    if hasattr(exc, "error_dict"):
        return " ".join(m for msgs in exc.message_dict.values() for m in msgs)
    return " ".join(exc.messages)
