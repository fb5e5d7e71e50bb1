"""The money side: accounts, their append-only ledger entries, payments and allocations.

See ``ledger/README.md`` for the invariants and the database triggers that hold them.
"""

from ledger.models.accounts import Account, AccountKind
from ledger.models.bank import BankImport, BankImportLine, BankLineStatus, BankMatchHow
from ledger.models.dunning import (
    DunningDelivery,
    DunningDeliveryKind,
    DunningDeliveryStatus,
    DunningLevel,
    DunningNotice,
    DunningRun,
    DunningRunStatus,
    DunningRunTrigger,
    EmailStatus,
    InvoiceDispute,
)
from ledger.models.entries import AMOUNT, Allocation, EntryKind, LedgerEntry
from ledger.models.payments import Payment, PaymentMethod
from ledger.models.requests import PaymentRequest
from ledger.models.summaries import ParentSummary, ParentSummaryItem

__all__ = [
    "AMOUNT", "Account", "AccountKind", "Allocation", "BankImport", "BankImportLine",
    "BankLineStatus", "BankMatchHow", "DunningDelivery", "DunningDeliveryKind",
    "DunningDeliveryStatus", "DunningLevel",
    "DunningNotice", "DunningRun", "DunningRunStatus", "DunningRunTrigger", "EmailStatus",
    "EntryKind", "InvoiceDispute", "LedgerEntry", "ParentSummary", "ParentSummaryItem",
    "Payment", "PaymentMethod", "PaymentRequest",
]
