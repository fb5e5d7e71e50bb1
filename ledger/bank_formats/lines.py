"""The result and error types every bank-file parser returns.

They live apart from the parsers so the ledger's import service can depend on them
without caring which file format a line came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

#: Bigger uploads are refused before parsing: a daily statement is a few hundred kB, and
#: a hard cap keeps one upload from holding a worker's memory.
MAX_FILE_BYTES = 50 * 1024 * 1024

#: How many problems ``str(BankFileError)`` spells out; ``errors`` always holds all.
SHOWN_ERRORS = 50


@dataclass(frozen=True)
class BankLine:
    """One booked money movement on the receiving account, format-independent.

    ``row`` points back into the file so a person can find the line: the CSV line number
    (the header is line 1), or for camt the 1-based position of the transaction in
    document order (every ``TxDtls``, or an ``Ntry`` without details, counts — pending
    and debit ones too — so the number matches what a person counts in the file).
    """

    row: int
    amount: Decimal
    currency: str
    booked_on: date
    value_on: date | None
    reference: str
    remittance: str
    payer_name: str
    payer_iban: str
    bank_reference: str
    account_iban: str
    reversal: bool


@dataclass(frozen=True)
class RowError:
    """One problem in a file: where (row 0 is the file as a whole), which field, why."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}, {self.field}" if self.row else self.field
        return f"{where}: {self.message}"


class BankFileError(ValueError):
    """A bank file that cannot be imported as a whole.

    All problems are collected before raising, so the uploader fixes the file once
    instead of once per error; nothing of a rejected file is imported.
    """

    def __init__(self, errors: list[RowError]):
        self.errors = list(errors)
        super().__init__(self.describe())

    @classmethod
    def single(cls, field: str, message: str, row: int = 0) -> BankFileError:
        return cls([RowError(row, field, message)])

    def describe(self) -> str:
        shown = [str(e) for e in self.errors[:SHOWN_ERRORS]]
        more = len(self.errors) - len(shown)
        if more > 0:
            shown.append(f"… and {more} more problems")
        return "\n".join(shown)

    def __str__(self) -> str:
        return self.describe()

    def __reduce__(self) -> tuple[type[BankFileError], tuple[list[RowError]]]:
        # Celery pickles exceptions of failed tasks; without this, unpickling would call
        # BankFileError(message) and turn the error list into characters.
        return (type(self), (self.errors,))
