"""Allocation: which credit paid which debit.

Credits (payments, credit notes, write-offs, opening credit) are spent on debits
(invoices, fees, bounced payments, refunds) — first as told (``directives``: a payment's
chosen invoices, a credit note's own invoice), then oldest due first, credits oldest
first. What no debit takes stays free credit on the account and pays the next invoice.
Callers hold the accounts' row locks (they posted to them in the same transaction), so two
allocations of one account never race.

The paid status of an invoice follows: fully allocated → ``paid``; a payment taken back
(bounced) → ``issued`` again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from billspree.core.db import copy_rows, uuid4_texts
from billspree.core.scoping import require_organization
from ledger.models.entries import DEBIT_KINDS

ZERO = Decimal("0")

#: credit entry id → [(debit entry id, amount or None for "as much as it can")]
Directives = dict[int, list[tuple[int, Decimal | None]]]


def open_debits(account_ids: list[int]) -> dict[int, list[list]]:
    """Each account's debits with something left to pay: [entry id, open, invoice id],
    oldest due first."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT e.account_id, e.id, e.amount - COALESCE(sum(a.amount), 0), e.invoice_id "
            "FROM ledger_ledgerentry e LEFT JOIN ledger_allocation a ON a.debit_id = e.id "
            "WHERE e.organization_id = %s AND e.account_id = ANY(%s) AND e.amount > 0 "
            "AND e.kind = ANY(%s) "
            "GROUP BY e.id HAVING e.amount - COALESCE(sum(a.amount), 0) > 0 "
            "ORDER BY e.account_id, COALESCE(e.due_on, e.booked_on), e.seq",
            [require_organization().pk, account_ids, [str(k) for k in DEBIT_KINDS]],
        )
        out: dict[int, list[list]] = defaultdict(list)
        for account_id, entry_id, left, invoice_id in cur.fetchall():
            out[account_id].append([entry_id, left, invoice_id])
    return out


def free_credits(account_ids: list[int]) -> dict[int, list[list]]:
    """Each account's credits not yet spent: [entry id, free], oldest first."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT e.account_id, e.id, -e.amount - COALESCE(sum(a.amount), 0) "
            "FROM ledger_ledgerentry e LEFT JOIN ledger_allocation a ON a.credit_id = e.id "
            "WHERE e.organization_id = %s AND e.account_id = ANY(%s) AND e.amount < 0 "
            "GROUP BY e.id HAVING -e.amount - COALESCE(sum(a.amount), 0) > 0 "
            "ORDER BY e.account_id, e.seq",
            [require_organization().pk, account_ids],
        )
        out: dict[int, list[list]] = defaultdict(list)
        for account_id, entry_id, left in cur.fetchall():
            out[account_id].append([entry_id, left])
    return out


def write_allocations(rows: list[tuple[int, int, Decimal]]) -> None:
    """Write (credit entry, debit entry, amount) rows in one ``COPY``."""
    if not rows:
        return
    org_id, now = require_organization().pk, timezone.now().isoformat()
    copy_rows("ledger_allocation", ("organization_id", "public_id", "credit_id", "debit_id",
                                    "amount", "created_at"),
              ((org_id, public_id, credit, debit, amount, now)
               for public_id, (credit, debit, amount) in zip(uuid4_texts(len(rows)), rows,
                                                              strict=True)))


def allocate(account_ids: Iterable[int], directives: Directives | None = None) -> set[int]:
    """Spend the accounts' free credit on their open debits (as told first, then oldest
    due first); returns the ids of the invoices whose paid amount changed."""
    accounts = sorted(set(account_ids))
    if not accounts:
        return set()
    debits = open_debits(accounts)
    credits = free_credits(accounts)
    debit_by_id = {d[0]: d for rows in debits.values() for d in rows}
    credit_by_id = {c[0]: c for rows in credits.values() for c in rows}
    rows: list[tuple[int, int, Decimal]] = []
    touched: set[int] = set()
    left: dict[int, Decimal] = {}  # invoice id → what is open on it after this allocation

    def take(credit: list, debit: list, want: Decimal | None) -> None:
        amount = min(credit[1], debit[1], want if want is not None else debit[1])
        if amount <= ZERO:
            return
        credit[1] -= amount
        debit[1] -= amount
        rows.append((credit[0], debit[0], amount))
        if debit[2]:
            touched.add(debit[2])
            left[debit[2]] = debit[1]

    for credit_id, wishes in (directives or {}).items():
        credit = credit_by_id.get(credit_id)
        if credit is None:
            continue
        for debit_id, want in wishes:
            debit = debit_by_id.get(debit_id)
            if debit is not None:
                take(credit, debit, want)
    for account_id in accounts:
        open_rows = [d for d in debits.get(account_id, []) if d[1] > ZERO]
        for credit in credits.get(account_id, []):
            for debit in open_rows:
                if credit[1] <= ZERO:
                    break
                if debit[1] > ZERO:
                    take(credit, debit, None)
    write_allocations(rows)
    _sync_known(left)
    return touched


def _sync_known(left: dict[int, Decimal]) -> None:
    """Invoice status from what :func:`allocate` knows is left open on each invoice it paid
    (allocation only pays, so an invoice left at 0 is paid; the rest stays issued) — no
    aggregate over the allocations, whose planner statistics do not know the rows this
    transaction just wrote."""
    paid = sorted(i for i, v in left.items() if v <= ZERO)
    if not paid:
        return
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE billing_invoice SET status = 'paid', paid_at = %s "
            "WHERE id = ANY(%s) AND status = 'issued'", [timezone.now(), paid])


def sync_invoice_status(invoice_ids: Iterable[int]) -> None:
    """Issued invoices fully allocated become paid; paid ones no longer fully allocated
    (a payment bounced) are issued again."""
    ids = sorted(set(invoice_ids))
    if not ids:
        return
    with connection.cursor() as cur:
        cur.execute(
            "WITH paid AS ("
            " SELECT e.invoice_id, e.amount - COALESCE(sum(a.amount), 0) AS left_open "
            " FROM ledger_ledgerentry e LEFT JOIN ledger_allocation a ON a.debit_id = e.id "
            " WHERE e.kind = 'invoice' AND e.invoice_id = ANY(%s) GROUP BY e.id) "
            "UPDATE billing_invoice i SET "
            " status = CASE WHEN paid.left_open <= 0 THEN 'paid' ELSE 'issued' END, "
            " paid_at = CASE WHEN paid.left_open <= 0 THEN %s::timestamptz ELSE NULL END "
            "FROM paid WHERE i.id = paid.invoice_id AND i.status IN ('issued', 'paid') "
            "AND (i.status = 'paid') <> (paid.left_open <= 0)",
            [ids, timezone.now()],
        )
