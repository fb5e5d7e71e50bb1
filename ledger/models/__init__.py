"""The money side: accounts, their append-only ledger entries, payments and allocations.

See ``ledger/README.md`` for the invariants and the database triggers that hold them.
"""

from ledger.models.accounts import Account, AccountKind
from ledger.models.bank import BankImport, BankImportLine, BankLineStatus, BankMatchHow
from ledger.models.entries import AMOUNT, Allocation, EntryKind, LedgerEntry
from ledger.models.payments import Payment, PaymentMethod

__all__ = [
    "AMOUNT", "Account", "AccountKind", "BankImport", "BankImportLine", "BankLineStatus",
    "BankMatchHow", "Allocation", "EntryKind", "LedgerEntry", "Payment",
    "PaymentMethod",
]
