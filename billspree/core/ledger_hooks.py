"""Documents issued by billing reach the ledger in the same transaction.

``DESIGN.md``: an account's balance is the sum of its ledger entries, and billing must not
import the ledger (the ledger sits above it). So billing announces what it issued here and
the ledger, when installed, connects receivers (``ledger.apps``) that post the entries.
Both signals are sent with ``send`` (not ``send_robust``): a receiver's error rolls the
issue back, so an invoice never exists without its ledger entry.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.dispatch import Signal

#: Sent with ``invoices`` (issued :class:`billing.models.Invoice` rows, numbered) and
#: ``credit_notes`` (:class:`billing.models.CreditNote` rows), ``actor``, ``api_key``,
#: inside the transaction that issued them. Bill runs send thousands at once: receivers
#: work set-based.
documents_issued = Signal()

#: Sent with ``invoice``, ``actor``, ``api_key`` when someone asks for an invoice to be
#: marked paid ("Mark paid", ``POST invoices/{id}/mark_paid/``). The ledger records a
#: payment of what is still open on it, so the invoice's paid status follows the money;
#: with no receiver the status simply moves to paid.
invoice_settle_requested = Signal()


def announce_issued(*, invoices=(), credit_notes=(), actor=None, api_key=None) -> None:
    documents_issued.send(sender=None, invoices=list(invoices),
                          credit_notes=list(credit_notes), actor=actor, api_key=api_key)


#: What is still open on issued invoices, by invoice id, as the ledger knows it (partial
#: payments). The ledger registers its selector at start-up (``ledger.apps``); billing's
#: tenant pages read it through :func:`invoice_open_amounts` without importing the ledger.
_open_amounts: Callable[[list[int]], dict[int, Decimal]] | None = None


def provide_open_amounts(fn: Callable[[list[int]], dict[int, Decimal]]) -> None:
    global _open_amounts  # noqa: PLW0603 - a registry of one provider, set once at start-up
    _open_amounts = fn


def invoice_open_amounts(invoice_ids: list[int]) -> dict[int, Decimal]:
    """Open amounts of the invoices the ledger has (an invoice not on it is missing)."""
    if _open_amounts is None or not invoice_ids:
        return {}
    return _open_amounts(list(invoice_ids))
