"""The one writer of ledger entries.

Every entry — invoice, payment, fee, reversal — is appended by :func:`post`, set-based:
the accounts are locked (``FOR UPDATE``, in id order so two posters never deadlock), each
posting takes the next ``seq`` and running balance of its account in memory, the accounts'
cached balances are written in one UPDATE and the entries in one COPY. Concurrent posters
to one account queue on its row lock, so no update is lost (Lago #2664, #3618); the
database re-checks the chain after the COPY and the balances at commit (migration 0002).

Posting is idempotent: a posting whose document (invoice, credit note, payment) or
idempotency key is on the ledger already is skipped, and its existing entry returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from billspree.core.db import copy_rows, next_ids, uuid4_texts
from billspree.core.scoping import require_organization

ZERO = Decimal("0")


@dataclass
class Posting:
    account_id: int
    kind: str
    amount: Decimal
    booked_on: date
    description: str
    due_on: date | None = None
    invoice_id: int | None = None
    credit_note_id: int | None = None
    payment_id: int | None = None
    reverses_id: int | None = None
    tax_rate: Decimal | None = None
    tax_amount: Decimal = ZERO
    idempotency_key: str | None = None
    created_by_id: int | None = None


@dataclass(frozen=True)
class Posted:
    entry_id: int
    created: bool


COLUMNS = ("account_id", "seq", "kind", "amount", "balance_after", "booked_on", "due_on",
           "description", "invoice_id", "credit_note_id", "payment_id", "reverses_id",
           "tax_rate", "tax_amount", "idempotency_key", "created_by_id")

TABLE = "ledger_ledgerentry"


def _lock_accounts(cur, org_id: int, account_ids: list[int]) -> dict[int, list]:
    cur.execute(
        "SELECT id, balance, last_seq FROM ledger_account "
        "WHERE organization_id = %s AND id = ANY(%s) ORDER BY id FOR UPDATE",
        [org_id, account_ids],
    )
    state = {row[0]: [row[1], row[2]] for row in cur.fetchall()}
    missing = set(account_ids) - set(state)
    if missing:
        raise LookupError(f"no account {sorted(missing)} in this organization")
    return state


def _already_posted(cur, org_id: int, postings: Sequence[Posting]) -> dict[tuple, int]:
    """Entries of these postings that exist already, by the posting's identity."""
    keys = [p.idempotency_key for p in postings if p.idempotency_key]
    docs = {kind: [getattr(p, f"{kind}_id") for p in postings
                   if p.kind == kind and getattr(p, f"{kind}_id")]
            for kind in ("invoice", "credit_note", "payment")}
    if not keys and not any(docs.values()):
        return {}
    cur.execute(
        "SELECT id, idempotency_key, kind, invoice_id, credit_note_id, payment_id "
        "FROM ledger_ledgerentry WHERE organization_id = %s AND ("
        " idempotency_key = ANY(%s::text[])"
        " OR (kind = 'invoice' AND invoice_id = ANY(%s::bigint[]))"
        " OR (kind = 'credit_note' AND credit_note_id = ANY(%s::bigint[]))"
        " OR (kind = 'payment' AND payment_id = ANY(%s::bigint[])))",
        [org_id, keys, docs["invoice"], docs["credit_note"], docs["payment"]],
    )
    found: dict[tuple, int] = {}
    for entry_id, key, kind, invoice_id, credit_note_id, payment_id in cur.fetchall():
        if key:
            found[("key", key)] = entry_id
        doc = {"invoice": invoice_id, "credit_note": credit_note_id,
               "payment": payment_id}.get(kind)
        if doc:
            found[(kind, doc)] = entry_id
    return found


def _identity(p: Posting) -> list[tuple]:
    ids = [("key", p.idempotency_key)] if p.idempotency_key else []
    doc = (p.invoice_id if p.kind == "invoice" else p.credit_note_id
           if p.kind == "credit_note" else p.payment_id if p.kind == "payment" else None)
    if doc:
        ids.append((p.kind, doc))
    return ids


def post(postings: Sequence[Posting]) -> list[Posted]:
    """Append ``postings`` (in order) to their accounts; one :class:`Posted` per posting."""
    if not postings:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger postings are written inside the caller's transaction")
    org_id = require_organization().pk
    for p in postings:
        if p.amount == ZERO:
            raise ValueError(f"a ledger entry of 0 ({p.description}) says nothing")
    with connection.cursor() as cur:
        state = _lock_accounts(cur, org_id, sorted({p.account_id for p in postings}))
        existing = _already_posted(cur, org_id, postings)
        results: list[Posted | None] = []
        rows: list[tuple] = []
        seen: dict[tuple, int] = {}
        for n, p in enumerate(postings):
            ident = _identity(p)
            hit = twin = None
            for i in ident:
                hit = existing.get(i) if hit is None else hit
                twin = seen.get(i) if twin is None else twin
            if hit is not None:
                results.append(Posted(hit, False))
                continue
            if twin is not None:  # the same document twice in one call: post it once
                results.append(("twin", twin))  # type: ignore[arg-type]
                continue
            for i in ident:
                seen[i] = n
            acc = state[p.account_id]
            acc[0] += p.amount
            acc[1] += 1
            rows.append((p.account_id, acc[1], p.kind, p.amount, acc[0], p.booked_on,
                         p.due_on, p.description[:300], p.invoice_id, p.credit_note_id,
                         p.payment_id, p.reverses_id, p.tax_rate, p.tax_amount,
                         p.idempotency_key, p.created_by_id))
            results.append(("new", p.account_id, acc[1]))  # type: ignore[arg-type]
        if not rows:
            return [r for r in results if isinstance(r, Posted)]
        touched = sorted({r[0] for r in rows})
        cur.execute(
            "UPDATE ledger_account a SET balance = v.balance, last_seq = v.seq "
            "FROM unnest(%s::bigint[], %s::numeric[], %s::bigint[]) AS v(id, balance, seq) "
            "WHERE a.id = v.id",
            [touched, [state[a][0] for a in touched], [state[a][1] for a in touched]],
        )
        # one COPY (ids drawn first): a bank file posts 100,000 entries at once
        ids = next_ids(TABLE, len(rows))
        now = timezone.now().isoformat()  # once, not once per row
        copy_rows(TABLE, ("id", "organization_id", "public_id", "created_at", *COLUMNS),
                  ((pk, org_id, public_id, now, *row) for pk, public_id, row
                   in zip(ids, uuid4_texts(len(rows)), rows, strict=True)))
        by_seq = {(row[0], row[1]): pk for pk, row in zip(ids, rows, strict=True)}
    out: list[Posted] = []
    for r in results:
        if isinstance(r, Posted):
            out.append(r)
        elif r[0] == "new":
            out.append(Posted(by_seq[(r[1], r[2])], True))
        else:
            out.append(Posted(out[r[1]].entry_id, False))
    return out
