"""Turning what people and machines send into Decimals and aware instants, or a reason why not.

Shared by every path (API, CSV, manual entry), so "12,5" or "2025-03-01" mean the same
thing wherever they arrive. Functions return ``(value, None)`` or ``(None, reason)``
instead of raising: ingestion collects every bad row rather than stopping at the first.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import IO, Any

from billspree.core.limits import date_in_range, date_range_message
from readings.models import VALUE_PLACES

COLUMNS = ("meterNumber", "readAt", "value", "quality")
REQUIRED_COLUMNS = ("meterNumber", "readAt", "value")


@dataclass(slots=True)
class RowIn:
    """One reading as received; ``line`` is what error reports cite (CSV line, API index)."""

    line: int
    meter_number: Any
    read_at: Any
    value: Any
    quality: Any = None


def parse_value(raw: Any) -> tuple[Decimal | None, str | None]:
    """A register value: a number, a decimal comma allowed ("12,5"), never NaN or negative."""
    if isinstance(raw, bool) or raw is None:
        return None, "A register value is required."
    if isinstance(raw, Decimal):
        number, text = raw, ""
    else:
        text = raw if isinstance(raw, str) else str(raw)
        if "," in text or " " in text or "\u00a0" in text:
            text = text.strip().replace("\u00a0", "").replace(" ", "")
            if "," in text and "." not in text and text.count(",") == 1:
                text = text.replace(",", ".")
        if not text:
            return None, "A register value is required."
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None, f"Not a number: {str(raw)[:40]!r}."
    if not number.is_finite():
        return None, "Not a finite number (NaN or infinity)."
    if number < 0:
        return None, "A register value cannot be negative."
    if _too_precise(number, text):
        return None, f"At most {VALUE_PLACES} decimal places."
    return number, None


def _too_precise(number: Decimal, text: str) -> bool:
    dot = text.find(".")
    if text and "e" not in text and "E" not in text:  # fast path: count the digits after the dot
        return (
            dot >= 0
            and len(text) - dot - 1 > VALUE_PLACES
            and number != round(number, VALUE_PLACES)
        )
    return -number.as_tuple().exponent > VALUE_PLACES and number != round(number, VALUE_PLACES)


def localize(naive: datetime, tz: tzinfo) -> tuple[datetime | None, str | None]:
    """Attach a time zone, refusing local times that DST makes ambiguous or impossible."""
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first, None
    roundtrip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if roundtrip != naive:
        return None, f"{naive:%Y-%m-%d %H:%M} does not exist in {tz} (clocks jump forward)."
    return (
        None,
        f"{naive:%Y-%m-%d %H:%M} is ambiguous in {tz} (clocks go back); add the UTC offset.",
    )


def parse_instant(raw: Any, tz: tzinfo) -> tuple[datetime | None, str | None]:
    """An ISO timestamp (with offset, or local to ``tz``) or an ISO date (local midnight)."""
    if isinstance(raw, datetime):
        parsed = raw
    elif isinstance(raw, date):
        parsed = datetime(raw.year, raw.month, raw.day)  # noqa: DTZ001 - localized below
    else:
        text = str(raw or "").strip()
        if not text:
            return None, "A timestamp is required."
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return (
                None,
                f"Not an ISO date or timestamp: {text[:40]!r} "
                "(e.g. 2025-03-01 or 2025-03-01T00:00:00Z).",
            )
    # before any time-zone arithmetic: year 1 or 9999 overflows it (and no period of the
    # product can hold it)
    if not date_in_range(parsed):
        return None, f"{parsed.date().isoformat()} is out of range. {date_range_message()}"
    if parsed.tzinfo is None:
        return localize(parsed, tz)
    return parsed.astimezone(UTC), None


# --- local date forms (CSV files) ------------------------------------------------------
#
# A CSV exported from a spreadsheet carries dates as the property's country writes them.
# Which order a slashed date has (3/12/2026: 3 December or March 12?) is decided once per
# property, from its locale, never from the row: the product has no locale field yet, so
# the locale is the country of the property's time zone (month-first where people write
# month/day/year: the United States and the Philippines; day-first everywhere else).
# Dotted dates (03.12.2026) are day.month.year in every country that writes them. A
# two-digit year (3.12.26) is refused: its century and its order cannot be told apart.

DAY_FIRST = "DMY"
MONTH_FIRST = "MDY"

#: Time zones of the countries that write month/day/year (US, its territories, PH, FM…).
_MONTH_FIRST_ZONES = re.compile(
    r"^(US/.*|America/(New_York|Chicago|Denver|Los_Angeles|Phoenix|Anchorage|Adak|Boise|"
    r"Detroit|Juneau|Menominee|Metlakatla|Nome|Sitka|Yakutat|Indiana/.*|Kentucky/.*|"
    r"North_Dakota/.*|Indianapolis|Louisville|Fort_Wayne|Knox_IN|Puerto_Rico|"
    r"St_Thomas)|Pacific/(Honolulu|Guam|Saipan|Pago_Pago|Majuro|Kwajalein|Palau|Chuuk|"
    r"Pohnpei|Kosrae)|Asia/Manila|EST5EDT|CST6CDT|MST7MDT|PST8PDT)$"
)

_LOCAL_DATE = re.compile(
    r"^(\d{1,2})([./])(\d{1,2})\2(\d{2,4})"
    r"(?:(?:\s+|T|,\s*)(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)


@lru_cache(maxsize=256)
def date_order(tz: tzinfo) -> str:
    """``DAY_FIRST`` or ``MONTH_FIRST``: how people of the time zone's country write a
    slashed date (see above)."""
    return MONTH_FIRST if _MONTH_FIRST_ZONES.match(str(tz)) else DAY_FIRST


def local_forms(tz: tzinfo) -> str:
    """The date forms accepted for a property in ``tz``, as the error messages list them."""
    slashed = "12/3/2026" if date_order(tz) == MONTH_FIRST else "3/12/2026"
    order = "month/day/year" if date_order(tz) == MONTH_FIRST else "day/month/year"
    return (
        f"2026-12-03 or 2026-12-03T14:00 (ISO 8601), 03.12.2026 or 3.12.2026 14:00 "
        f"(day.month.year), {slashed} ({order}), with a four-digit year"
    )


def local_example(when: datetime) -> str:
    """``when`` (local) in the dotted or slashed form of its time zone's country."""
    if date_order(when.tzinfo) == MONTH_FIRST:
        return f"{when.month}/{when.day}/{when.year} {when:%H:%M}"
    return f"{when:%d.%m.%Y %H:%M}"


def _parse_local(text: str, tz: tzinfo) -> tuple[datetime | None, str | None]:
    match = _LOCAL_DATE.match(text)
    if match is None:
        return None, f"Not a date the file can hold: {text[:40]!r}; use {local_forms(tz)}."
    first, sep, second, year, hour, minute, second_s = match.groups()
    if len(year) != 4:
        return None, (
            f"{text[:40]!r}: the year must have four digits ({year}: 19{year[-2:]} or "
            f"20{year[-2:]}?); use {local_forms(tz)}."
        )
    day, month = int(first), int(second)
    if sep == "/" and date_order(tz) == MONTH_FIRST:
        day, month = month, day
    try:
        parsed = datetime(  # noqa: DTZ001 - localized by the caller
            int(year), month, day, int(hour or 0), int(minute or 0), int(second_s or 0)
        )
    except ValueError:
        reading = "day.month.year" if sep == "." else (
            "month/day/year" if date_order(tz) == MONTH_FIRST else "day/month/year"
        )
        return None, f"{text[:40]!r} is not a date (read as {reading}); use {local_forms(tz)}."
    return parsed, None


def parse_local_instant(raw: Any, tz: tzinfo) -> tuple[datetime | None, str | None]:
    """What :func:`parse_instant` accepts, plus the local date forms of the property
    (CSV files only: the JSON API stays ISO 8601)."""
    if isinstance(raw, str):
        text = raw.strip()
        if text and text[0].isdigit() and ("." in text[:6] or "/" in text[:6]):
            parsed, why = _parse_local(text, tz)
            if why:
                return None, why
            return parse_instant(parsed, tz)
    instant, why = parse_instant(raw, tz)
    if why and why.startswith("Not an ISO"):
        return None, f"Not a date: {str(raw).strip()[:40]!r}; use {local_forms(tz)}."
    return instant, why


# --- CSV ------------------------------------------------------------------------------


class CsvFileError(ValueError):
    """The file cannot be read as a readings CSV (the message says where and why)."""


class CsvHeaderError(CsvFileError):
    """The file cannot be read as a readings CSV at all (no usable header)."""


def sniff_delimiter(header_line: str) -> str:
    """``;`` when the header uses it (European exports, decimal comma), else ``,``."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _header_map(header: list[str]) -> dict[str, int]:
    wanted = {c.lower(): c for c in COLUMNS}
    found: dict[str, int] = {}
    for index, name in enumerate(header):
        key = name.strip().lstrip("\ufeff").lower()
        if key in wanted:
            found[wanted[key]] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in found]
    if missing:
        raise CsvHeaderError(
            f"Line 1: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS[:3])} "
            f"[, quality] separated by ',' or ';'."
        )
    return found


def csv_rows(stream: IO[bytes]) -> Iterator[RowIn]:
    """Stream a readings CSV (UTF-8 bytes, BOM or not) as ``RowIn``; never the whole file."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    first = text.readline()
    if not first.strip():
        raise CsvHeaderError("Line 1: the file is empty; expected a header row.")
    delimiter = sniff_delimiter(first)
    columns = _header_map(next(csv.reader([first], delimiter=delimiter)))
    quality_at = columns.get("quality")
    width = max(columns.values()) + 1
    reader = csv.reader(text, delimiter=delimiter)
    for record in _records(reader):
        line = reader.line_num + 1  # the header was read before the reader started
        if not record or not any(cell.strip() for cell in record):
            continue
        if len(record) < width:
            record = record + [""] * (width - len(record))
        yield RowIn(
            line=line,
            meter_number=record[columns["meterNumber"]],
            read_at=record[columns["readAt"]],
            value=record[columns["value"]],
            quality=(record[quality_at] or None) if quality_at is not None else None,
        )


def _records(reader: Any) -> Iterator[list[str]]:
    """The reader's records; a line the csv module cannot parse (a cell longer than
    ``csv.field_size_limit()``, a quote never closed) ends the file with its line number:
    after it, the reader cannot tell where rows start, so no later row can be trusted."""
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num + 1
            reason = str(exc)
            if "field larger than field limit" in reason:
                reason = f"a cell is longer than {csv.field_size_limit():,} characters"
            raise CsvFileError(
                f"Line {line}: {reason}; nothing was imported. Fix the file and upload it again."
            ) from exc
        yield record
