"""The API's request parsers: bodies that cannot be stored or walked are refused with 400.

Why: JSON nested thousands of levels deep (``[[[[…``) raised ``RecursionError`` in the
decoder (500), and one nested a few hundred levels deep passed the decoder only to blow
the stack later (validation, ``jsonb``). A NUL character (``\\x00``) in any string (a value
or a key) reached PostgreSQL, which cannot store it (500). These parsers are DRF's
defaults (``DEFAULT_PARSER_CLASSES``), so every endpoint refuses both in one place, and
name the field: ``readings[3].meterNumber``.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from billspree.core.bad_input import nul_fields
from billspree.core.validators import NUL, NUL_MESSAGE

#: Deepest nesting of arrays and objects a JSON body may have. The deepest document the
#: API takes (a reading batch with its options) is 4 levels; 32 leaves room.
MAX_JSON_DEPTH = 32


def _child_path(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    key = str(key).replace(NUL, "\\x00")
    return f"{path}.{key}" if path else key


def check_json_tree(data: Any, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise a 400 for nesting deeper than ``max_depth`` or a NUL in a string (value or
    key). Iterative, so the check itself cannot overflow the stack."""
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        node, path, depth = stack.pop()
        if isinstance(node, str):
            if NUL in node:
                raise ValidationError({path or "body": [NUL_MESSAGE]})
            continue
        if not isinstance(node, dict | list):
            continue
        if depth > max_depth:
            raise ParseError(f"JSON nested more than {max_depth} levels deep.")
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            child = _child_path(path, key)
            if isinstance(key, str) and NUL in key:
                raise ValidationError({child: [NUL_MESSAGE]})
            stack.append((value, child, depth + 1))


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with a nesting limit and no NUL characters."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep.") from None
        check_json_tree(data)
        return data


def _check_form(data: Any) -> None:
    fields = nul_fields(data.lists()) if hasattr(data, "lists") else {}
    if fields:
        raise ValidationError(fields)


class FormParser(parsers.FormParser):
    """DRF's form parser, refusing NUL characters in field names and values."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        _check_form(data)
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's multipart parser, refusing NUL characters in (non-file) fields. File contents
    are the business of the endpoint that reads them (an upload reports its rows)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        _check_form(parsed.data)
        return parsed
