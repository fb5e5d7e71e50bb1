"""CSV files the product writes for people to open in a spreadsheet: formula-safe.

Why: a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read
by Excel, LibreOffice and Google Sheets as a formula (CSV injection, OWASP). A meter
number, a file name or an error message echoing what someone uploaded ends up in such
cells (``=HYPERLINK(...)``, ``=cmd|...``), so every CSV export goes through
:func:`writer` / :func:`safe_cell`, which prefix such text with a single quote, as OWASP
recommends; spreadsheets show the text, not a result.

Numbers are data, not text: a value the code passes as ``int``, ``float`` or ``Decimal``
is never prefixed (a negative consumption or credit must stay a number the spreadsheet can
sum), and neither is a string that is *only* a plain number (``-12.5``, ``-3,25``,
``+41``): a spreadsheet reads it as that number and nothing else. OWASP's concern is text
that a spreadsheet would *evaluate* (``-2+3``, ``-1*cmd|...``, ``+A1``); the plain-number
pattern below admits digits, one decimal separator and an exponent only, so anything with
an operator, a letter or a parenthesis after the sign is still neutralised.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet will show it literally (see the module doc)."""
    if value is None or isinstance(value, bool | int | float | Decimal | date | datetime):
        return value
    text = str(value)
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in row]


class SafeWriter:
    """``csv.writer`` with every cell through :func:`safe_cell`."""

    def __init__(self, f: IO[str], **kwargs: Any) -> None:
        self._writer = csv.writer(f, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        self._writer.writerows(safe_row(r) for r in rows)


class SafeDictWriter(csv.DictWriter):
    """``csv.DictWriter`` with every value (and the header) through :func:`safe_cell`."""

    def writeheader(self) -> Any:
        return self.writer.writerow(safe_row(self.fieldnames))

    def _dict_to_list(self, rowdict: dict) -> Any:
        return safe_row(super()._dict_to_list(rowdict))


def writer(f: IO[str], **kwargs: Any) -> SafeWriter:
    """The one way the product writes CSV for people (use instead of ``csv.writer``)."""
    return SafeWriter(f, **kwargs)


def csv_reader(f: IO[str], **kwargs: Any) -> Any:
    """Read back a CSV the product wrote (e.g. a stored report, to re-write it safely)."""
    return csv.reader(f, **kwargs)
