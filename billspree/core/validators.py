"""Validators shared by models, forms and serializers: text the product can store and send.

Why one module: a NUL character cannot be stored by PostgreSQL (``text`` and ``jsonb``
refuse it, so it surfaced as a 500), and a line break in a one-line name (an organization,
a tenant, a building) makes every email whose subject carries that name fail: Django
refuses header newlines, and the task swallowed it. Each entry point (request middleware,
API parsers, model fields, forms) refuses these with the same words.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible

from billspree.core.limits import date_in_range, date_range_message

NUL = "\x00"
NUL_MESSAGE = "Contains a NUL character (\\x00), which is not allowed."
ONE_LINE_MESSAGE = "Must be a single line: no line breaks, tabs or other control characters."

#: Line and paragraph separators Python's ``str.splitlines`` breaks on, besides ``\r\n``.
_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_WHITESPACE_RUN = re.compile(r"\s+")


def has_nul(value: Any) -> bool:
    return isinstance(value, str) and NUL in value


def validate_no_nul(value: Any) -> None:
    if has_nul(value):
        raise ValidationError(NUL_MESSAGE, code="null_characters_not_allowed")


def is_one_line(value: str) -> bool:
    """No line break, tab or other control character (Unicode category ``Cc``, plus the
    line/paragraph separators)."""
    return not any(ch in _BREAKS or unicodedata.category(ch) == "Cc" for ch in value)


@deconstructible
class OneLineValidator:
    """A name that ends up in email subjects, PDF headers and one-line table cells."""

    message = ONE_LINE_MESSAGE
    code = "not_one_line"

    def __call__(self, value: Any) -> None:
        if isinstance(value, str) and not is_one_line(value):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OneLineValidator)

    def __hash__(self) -> int:
        return hash(self.code)


validate_one_line = OneLineValidator()


def one_line(text: str) -> str:
    """``text`` as one line: every run of whitespace or control characters becomes one space.

    Used where a stored value is put into a header (email subjects): a value stored before
    :data:`validate_one_line` existed, or entered around it, must not stop the email.
    """
    cleaned = "".join(" " if unicodedata.category(ch) == "Cc" or ch in _BREAKS else ch
                      for ch in str(text))
    return _WHITESPACE_RUN.sub(" ", cleaned).strip()


def validate_date_in_range(value: Any) -> None:
    """A date or datetime within :mod:`billspree.core.limits` (forms and model fields)."""
    if value is not None and not date_in_range(value):
        raise ValidationError(date_range_message(), code="date_out_of_range")


#: What PostgreSQL's regex calls a control character, plus the Unicode line separators:
#: the rows a data migration must rewrite (the others are left alone, unread).
_CONTROL_REGEX = "[[:cntrl:]\u0085\u2028\u2029]"


def one_line_data_migration(app_label: str, fields: dict[str, list[str]]) -> Any:
    """A ``RunPython`` that rewrites stored names with line breaks or control characters
    to one line (:func:`one_line`), for fields that just got :data:`validate_one_line`.

    ``fields`` maps model names of ``app_label`` to field names. Only rows matching a
    control character are loaded, so it is cheap on a large table.
    """
    from django.db import migrations
    from django.db.models import Q

    def forward(apps: Any, schema_editor: Any) -> None:
        for model_name, names in fields.items():
            model = apps.get_model(app_label, model_name)
            match = Q()
            for name in names:
                match |= Q(**{f"{name}__regex": _CONTROL_REGEX})
            for row in model._base_manager.filter(match).only("pk", *names).iterator():
                for name in names:
                    setattr(row, name, one_line(getattr(row, name)))
                row.save(update_fields=names)

    return migrations.RunPython(forward, migrations.RunPython.noop, elidable=True)


def refuse_multi_line_names(sender: Any, instance: Any, raw: bool = False,
                            update_fields: Any = None, **kwargs: Any) -> None:
    """``pre_save``: a field carrying :data:`validate_one_line` is checked on every save,
    whichever form, serializer or service wrote it, so a plain form's ``CharField`` or a
    service's ``objects.create`` cannot store a line break the validator would refuse.
    Answers the usual ``ValidationError`` by field (400 in the API, a form error in the
    portal)."""
    if raw:
        return  # fixtures load as stored
    errors: dict[str, list[str]] = {}
    for field in instance._meta.concrete_fields:
        if update_fields is not None and field.name not in update_fields:
            continue
        if validate_one_line in field.validators:
            value = getattr(instance, field.attname, None)
            if isinstance(value, str) and not is_one_line(value):
                errors[field.name] = [ONE_LINE_MESSAGE]
    if errors:
        raise ValidationError(errors)
