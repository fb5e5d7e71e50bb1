"""The simple CSV bank format (see README.md): one credit or debit per row.

For banks without camt export and for hand-made corrections. Columns are found by
header name (case-insensitive, with a few German/French aliases), not by position,
so a re-ordered export still imports correctly.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from typing import Protocol

from ledger.bank_formats import values
from ledger.bank_formats.lines import BankFileError, BankLine, RowError

#: Header (normalised: lower-case, ``_``/``-`` as space) → field. Keep it small and
#: documented in README.md; a column not listed here is ignored.
ALIASES: dict[str, str] = {
    "date": "date", "booking date": "date", "booked on": "date",
    "buchungsdatum": "date", "datum": "date", "date comptable": "date",
    "value date": "value_date", "valuta": "value_date", "valutadatum": "value_date",
    "date valeur": "value_date",
    "amount": "amount", "betrag": "amount", "montant": "amount",
    "currency": "currency", "ccy": "currency", "währung": "currency",
    "waehrung": "currency", "devise": "currency", "monnaie": "currency",
    "reference": "reference", "referenz": "reference", "référence": "reference",
    "qr reference": "reference", "creditor reference": "reference",
    "remittance": "remittance", "mitteilung": "remittance", "message": "remittance",
    "verwendungszweck": "remittance", "communication": "remittance",
    "payer name": "payer_name", "payer": "payer_name", "auftraggeber": "payer_name",
    "payeur": "payer_name",
    "payer iban": "payer_iban", "iban auftraggeber": "payer_iban",
    "bank reference": "bank_reference", "transaction id": "bank_reference",
    "bankreferenz": "bank_reference", "transaktions id": "bank_reference",
    "account iban": "account_iban", "konto iban": "account_iban",
}
REQUIRED = ("date", "amount", "currency")


class CsvReader(Protocol):
    """What ``records`` needs of ``csv.reader``: the rows and the physical line count."""

    line_num: int

    def __next__(self) -> list[str]: ...
DELIMITERS = (";", ",")


def header_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def decode(data: bytes) -> str:
    """UTF-8 with or without BOM; anything else is refused with the line it failed on."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise BankFileError.single(
            "encoding",
            f"the file is not UTF-8 (byte 0x{data[exc.start]:02x} on line {line}); "
            "save it as UTF-8",
        ) from exc


def sniff_delimiter(header: str) -> str:
    """``;`` or ``,`` — whichever splits the header into more columns."""
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    if counts[best] == 0:
        raise BankFileError.single(
            "header", f"the first line {header[:80]!r} has no ';' or ',' between column names",
            row=1,
        )
    return best


def map_header(cells: list[str]) -> dict[str, int]:
    """Field → column index; unknown, duplicate and missing columns are reported."""
    columns: dict[str, int] = {}
    errors = []
    for i, cell in enumerate(cells):
        field = ALIASES.get(header_key(cell))
        if field is None:
            continue
        if field in columns:
            errors.append(RowError(1, "header", f"columns {cells[columns[field]]!r} and "
                                                f"{cell!r} both mean {field}"))
        columns[field] = i
    for field in REQUIRED:
        if field not in columns:
            found = ", ".join(repr(c) for c in cells)
            errors.append(RowError(1, "header", f"no {field} column (found {found})"))
    if errors:
        raise BankFileError(errors)
    return columns


def parse_csv(data: bytes) -> list[BankLine]:
    """Every data row as a BankLine; all row problems are collected, then raised."""
    text = decode(data)
    if not text.strip():
        raise BankFileError.single("file", "the file is empty")
    first_line = text.lstrip("\r\n").splitlines()[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sniff_delimiter(first_line))
    header: list[str] | None = None
    columns: dict[str, int] = {}
    errors: list[RowError] = []
    lines: list[BankLine] = []
    first_use: dict[str, int] = {}
    header_row = 0
    for row, cells in records(reader):
        if not any(c.strip() for c in cells):
            continue
        if header is None:
            header, columns = cells, map_header(cells)
            header_row = row
            continue
        line = parse_row(row, cells, header, columns, errors)
        if line is None:
            continue
        if line.bank_reference in first_use:
            errors.append(RowError(
                row, "bank_reference",
                f"{line.bank_reference!r} is already used in row "
                f"{first_use[line.bank_reference]}; each line needs its own",
            ))
            continue
        first_use[line.bank_reference] = row
        lines.append(line)
    if errors:
        raise BankFileError(errors)
    if header is None:
        raise BankFileError.single("header", "no header row (every line is empty)")
    if not lines:
        raise BankFileError.single("file", f"no data rows after the header (row {header_row})")
    return lines


def records(reader: CsvReader) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, cells); a quoted cell may span lines.

    csv's own errors (a NUL byte, an endless quoted field) become a BankFileError
    naming the line, instead of a 500 from deep inside the csv module.
    """
    line_no = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise BankFileError.single(
                "row", f"unreadable CSV ({exc})", row=reader.line_num
            ) from exc
        yield line_no + 1, cells
        line_no = reader.line_num


def parse_row(
    row: int, cells: list[str], header: list[str], columns: dict[str, int],
    errors: list[RowError],
) -> BankLine | None:
    """One data row, or None after recording why it cannot be imported."""
    if len(cells) > len(header):
        errors.append(RowError(row, "row", f"{len(cells)} fields but the header has "
                                           f"{len(header)} (an unquoted decimal comma?)"))
        return None
    n_errors = len(errors)

    def cell(field: str) -> str:
        i = columns.get(field)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    def field(name: str, parse: Callable[[str], object]) -> object:
        try:
            return parse(cell(name))
        except ValueError as exc:
            errors.append(RowError(row, name, str(exc)))
            return None

    booked_on = field("date", values.parse_date)
    value_on = field("value_date", values.parse_date) if cell("value_date") else None
    currency = field("currency", values.parse_currency)
    amount = field("amount", values.parse_amount)
    if amount is not None:
        if amount == 0:
            errors.append(RowError(row, "amount", "is zero; a bank line moves money"))
        elif currency is not None:
            try:
                values.check_minor_units(amount, currency)
            except ValueError as exc:
                errors.append(RowError(row, "amount", str(exc)))
    if len(errors) > n_errors:
        return None
    reference = values.normalise_reference(cell("reference"))
    payer_iban = values.normalise_iban(cell("payer_iban"))
    account_iban = values.normalise_iban(cell("account_iban"))
    bank_reference = cell("bank_reference") or values.stable_hash(
        row, *(c.strip() for c in cells)
    )
    return BankLine(
        row=row,
        amount=amount,
        currency=currency,
        booked_on=booked_on,
        value_on=value_on,
        reference=reference,
        remittance=" ".join(cell("remittance").split()),
        payer_name=cell("payer_name"),
        payer_iban=payer_iban,
        bank_reference=bank_reference,
        account_iban=account_iban,
        reversal=False,
    )
