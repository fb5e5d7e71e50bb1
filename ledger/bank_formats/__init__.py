"""Bank statement files → BankLines, for the ledger's bank import (pure, no database).

Formats: ISO 20022 camt.053 statements and camt.054 notifications (any version that
keeps the 001 message: 02, 04, 08, …) and a simple CSV format (README.md). Everything
else — matching lines to invoices, idempotent posting — is the ledger's job; this
package only turns bytes into checked values, or says precisely why it cannot.

    parse_bank_file(data, filename="") -> list[BankLine]   # sniffs the format
    parse_camt(data) -> list[BankLine]
    parse_csv(data) -> list[BankLine]
    BankFileError(ValueError).errors -> list[RowError(row, field, message)]
"""

from __future__ import annotations

from ledger.bank_formats.camt import parse_camt as parse_camt_document
from ledger.bank_formats.csvfile import parse_csv as parse_csv_document
from ledger.bank_formats.lines import MAX_FILE_BYTES, BankFileError, BankLine, RowError

__all__ = [
    "MAX_FILE_BYTES",
    "BankFileError",
    "BankLine",
    "RowError",
    "parse_bank_file",
    "parse_camt",
    "parse_csv",
]

XML_SUFFIXES = (".xml", ".camt", ".053", ".054")


def check_size(data: bytes) -> None:
    if not data or not data.strip():
        raise BankFileError.single("file", "the file is empty")
    if len(data) > MAX_FILE_BYTES:
        raise BankFileError.single(
            "file",
            f"the file is {len(data) / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB (split it by date)",
        )


def parse_camt(data: bytes) -> list[BankLine]:
    """A camt.053 or camt.054 file; ``BankFileError`` for anything else."""
    check_size(data)
    return parse_camt_document(data)


def parse_csv(data: bytes) -> list[BankLine]:
    """A CSV file in the documented format; ``BankFileError`` lists every bad row."""
    check_size(data)
    return parse_csv_document(data)


def parse_bank_file(data: bytes, filename: str = "") -> list[BankLine]:
    """Sniff the format from the content (an XML file is camt), the name as a hint only.

    Content decides because users rename files; a ``.xml`` name on something that is
    not XML is reported as such rather than as a baffling CSV header error.
    """
    check_size(data)
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return parse_camt_document(data)
    if filename.lower().endswith(XML_SUFFIXES):
        raise BankFileError.single(
            "file", f"{filename!r} is named like a camt XML file but is not XML"
        )
    return parse_csv_document(data)
