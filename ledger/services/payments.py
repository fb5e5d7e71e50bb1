"""Payments in: by hand, by API (idempotency key), from bank files (many at once).

:func:`payments_record` is the one path. It writes the payment rows, posts their ledger
entries (one locked, set-based :func:`ledger.services.posting.post`) and allocates them:
to the invoices the payer named (a bank line's structured reference, a manager's choice)
first, then oldest due first; an overpayment stays as credit and pays the next invoice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from billspree.core.db import copy_rows, next_ids, uuid4_texts
from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from billspree.core.timefmt import local_date
from ledger.models import Account, Allocation, EntryKind, LedgerEntry, Payment, PaymentMethod
from ledger.services.allocations import allocate, sync_invoice_status, write_allocations
from ledger.services.posting import Posting, post
from tariffs.pricing.vat import minor_unit

ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class AccountRef:
    """What recording a payment needs of its account, for files of many thousand payments
    (no model instance per account)."""

    pk: int
    organization_id: int
    currency: str


@dataclass
class PaymentIn:
    """One payment to record. ``invoices``: the invoice ids it pays first, each with the
    amount it should take (None: as much as is open), in that order."""

    account: Account | AccountRef
    amount: Decimal
    received_on: date
    method: str = PaymentMethod.BANK_TRANSFER
    reference: str = ""
    remittance: str = ""
    payer_name: str = ""
    bank_reference: str = ""
    note: str = ""
    idempotency_key: str | None = None
    invoices: list[tuple[int, Decimal | None]] = field(default_factory=list)


_METHODS = frozenset(PaymentMethod.values)
_LABELS = dict(PaymentMethod.choices)


def _check(p: PaymentIn, row: str = "", today: date | None = None) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    where = f"{row}: " if row else ""
    if not isinstance(p.amount, Decimal) or not p.amount.is_finite() or p.amount <= ZERO:
        errors["amount"] = [f"{where}the amount must be a number greater than 0."]
    elif p.amount != p.amount.quantize(minor_unit(str(p.account.currency))):
        errors["amount"] = [f"{where}{p.amount} has more decimals than "
                            f"{p.account.currency} has."]
    elif p.amount > Decimal("999999999.99"):
        errors["amount"] = [f"{where}{p.amount} is more than any payment we accept."]
    if p.method not in _METHODS:
        errors["method"] = [f"{where}choose one of: {', '.join(PaymentMethod.values)}."]
    today = today or local_date(timezone.now(), p.account.organization)
    if p.received_on > today:
        errors["received_on"] = [f"{where}{p.received_on} is in the future (today is {today})."]
    if p.invoices:
        told = [a for _, a in p.invoices if a is not None]
        if any(a <= ZERO for a in told):
            errors["allocations"] = [f"{where}each allocated amount must be greater than 0."]
        elif sum(told, ZERO) > p.amount:
            errors["allocations"] = [f"{where}the allocations add up to {sum(told, ZERO)}, "
                                     f"more than the payment of {p.amount}."]
    return errors


def _same(existing: tuple, p: PaymentIn) -> bool:
    """``existing``: (id, account, amount, received_on, method, reference)."""
    return existing[1:] == (p.account.pk, p.amount, p.received_on, p.method, p.reference)


_REPLAY_FIELDS = ("pk", "account_id", "amount", "received_on", "method", "reference")


def _replays(items: list[PaymentIn]) -> dict[int, int]:
    """Payments recorded already under these items' idempotency keys or bank lines, by
    the item's index: the payment's id."""
    keys = [p.idempotency_key for p in items if p.idempotency_key]
    lines = [p.bank_reference for p in items if p.bank_reference]
    found: dict[int, int] = {}
    if not keys and not lines:
        return found
    by_key = {x[0]: x[1:] for x in Payment.objects.filter(idempotency_key__any=keys)
              .values_list("idempotency_key", *_REPLAY_FIELDS)} if keys else {}
    by_line = {x[0]: x[1:] for x in Payment.objects.filter(bank_reference__any=lines)
               .values_list("bank_reference", *_REPLAY_FIELDS)} if lines else {}
    for n, p in enumerate(items):
        hit = by_key.get(p.idempotency_key) if p.idempotency_key else None
        hit = hit or (by_line.get(p.bank_reference) if p.bank_reference else None)
        if hit is not None:
            if p.idempotency_key and not _same(hit, p):
                raise Conflict(
                    f"Idempotency key {p.idempotency_key!r} was used for another payment "
                    f"({hit[2]} {p.account.currency} on {hit[3]}); use a new key.",
                    code="idempotency_key_reused")
            found[n] = hit[0]
    return found


@transaction.atomic
def payments_record(items: list[PaymentIn], *, actor=None, api_key=None,
                    source: str = "manual") -> list[tuple[Payment, bool]]:
    """Record ``items``; each comes back with True if it was recorded now, False if it was
    recorded before (same idempotency key or bank line): replays change nothing."""
    recorded = payments_record_ids(items, actor=actor, api_key=api_key, source=source)
    rows = Payment.objects.in_bulk([pk for pk, _ in recorded])
    return [(rows[pk], created) for pk, created in recorded]


@transaction.atomic
def payments_record_ids(items: list[PaymentIn], *, actor=None, api_key=None,
                        source: str = "manual") -> list[tuple[int, bool]]:
    """:func:`payments_record` for files of many thousand payments: the same checks and
    writes, answering with the payments' ids only (no model instance is built)."""
    org = require_organization()
    today = local_date(timezone.now(), org)  # every account is of this organization
    errors: dict[str, list[str]] = {}
    for n, p in enumerate(items):
        for key, msgs in _check(p, f"payment {n + 1}" if len(items) > 1 else "",
                                today).items():
            errors.setdefault(key, []).extend(msgs)
    if errors:
        raise ValidationError(errors)
    # the accounts' row locks serialize replays of one key: the second sees the first
    list(Account.objects.select_for_update().filter(
        pk__any=sorted({p.account.pk for p in items})).order_by("pk").values_list("pk"))
    done = _replays(items)
    fresh = [p for n, p in enumerate(items) if n not in done]
    user_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) \
        and not getattr(actor, "api_key", None) else None
    try:
        with transaction.atomic():
            ids = _insert_payments(org.pk, fresh, user_id)
    except IntegrityError as exc:  # a concurrent replay on another account won the key
        raise Conflict("This payment was recorded at the same moment by another request; "
                       "look it up before recording it again.", code="concurrent") from exc
    posted = post([
        Posting(account_id=p.account.pk, kind=EntryKind.PAYMENT, amount=-p.amount,
                booked_on=p.received_on, payment_id=pk, created_by_id=user_id,
                description=_describe(p))
        for p, pk in zip(fresh, ids, strict=True)
    ])
    wanted = [inv for p in fresh for inv, _ in p.invoices]
    invoice_entry = dict(LedgerEntry.objects.filter(
        kind=EntryKind.INVOICE, invoice_id__any=wanted).values_list("invoice_id", "pk")) \
        if wanted else {}
    directives = {}
    for p, entry in zip(fresh, posted, strict=True):
        told = [(invoice_entry[i], a) for i, a in p.invoices if i in invoice_entry]
        if told:
            directives[entry.entry_id] = told
    allocate({p.account.pk for p in fresh}, directives)
    if fresh:
        total = sum((p.amount for p in fresh), ZERO)
        audit_record(
            action="payment.record", actor=actor, api_key=api_key,
            target=str(Payment.objects.get(pk=ids[0]).public_id) if len(ids) == 1 else "",
            detail={"payments": len(ids), "total": str(total), "source": source},
        )
    fresh_ids = iter(ids)
    return [(done[n], False) if n in done else (next(fresh_ids), True)
            for n in range(len(items))]


PAYMENT_COLUMNS = ("id", "organization_id", "public_id", "account_id", "amount", "currency",
                   "received_on", "method", "reference", "remittance", "payer_name",
                   "bank_reference", "note", "idempotency_key", "created_by_id", "created_at")


def _insert_payments(org_id: int, items: list[PaymentIn], user_id: int | None) -> list[int]:
    """The payment rows in one ``COPY``, ids drawn beforehand (``COPY`` returns none)."""
    ids = next_ids(Payment._meta.db_table, len(items))
    now = timezone.now().isoformat()
    copy_rows(Payment._meta.db_table, PAYMENT_COLUMNS, (
        (pk, org_id, public_id, p.account.pk, p.amount, p.account.currency,
         p.received_on, p.method, p.reference[:140], p.remittance[:500], p.payer_name[:200],
         p.bank_reference[:200], p.note[:300], p.idempotency_key, user_id, now)
        for p, pk, public_id in zip(items, ids, uuid4_texts(len(items)), strict=True)))
    return ids


def _describe(p: PaymentIn) -> str:
    how = _LABELS[p.method]
    ref = p.reference or p.remittance
    return f"Payment ({how.lower()})" + (f": {ref}" if ref else "")


def payment_record(*, account: Account, amount: Decimal, received_on: date,
                   method: str = PaymentMethod.BANK_TRANSFER, reference: str = "",
                   remittance: str = "", payer_name: str = "", note: str = "",
                   idempotency_key: str | None = None,
                   invoices: list[tuple[int, Decimal | None]] | None = None,
                   actor=None, api_key=None) -> tuple[Payment, bool]:
    """Record one payment (see :func:`payments_record`). A payment on a parent account
    quoting one of its summaries' references (and naming no invoices) is split over the
    children's invoices on it: the first part comes back (``ledger.services.summaries``)."""
    if reference and not invoices:
        from ledger.services.summaries import summary_payment_quoted  # imports this module

        parts = summary_payment_quoted(
            account=account, reference=reference, amount=amount, received_on=received_on,
            method=method, remittance=remittance, payer_name=payer_name, note=note,
            idempotency_key=idempotency_key, actor=actor, api_key=api_key)
        if parts:
            return parts[0]
    return payments_record([PaymentIn(
        account=account, amount=amount, received_on=received_on, method=method,
        reference=reference, remittance=remittance, payer_name=payer_name, note=note,
        idempotency_key=idempotency_key, invoices=invoices or [],
    )], actor=actor, api_key=api_key)[0]


@transaction.atomic
def payment_reverse(*, payment: Payment, reason: str, booked_on: date | None = None,
                    actor=None, api_key=None) -> LedgerEntry:
    """The payment bounced or was booked in error: a reversing entry puts the amount back
    on the account, the invoices it paid are open again, and the rest of the account's
    credit is re-spent oldest first. Reversing twice changes nothing."""
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the payment is reversed."]})
    pay = Payment.objects.select_related("account").get(pk=payment.pk)
    entry = LedgerEntry.objects.get(kind=EntryKind.PAYMENT, payment=pay)
    existing = LedgerEntry.objects.filter(reverses=entry).first()
    if existing is not None:
        return existing
    day = booked_on or local_date(timezone.now(), pay.account.organization)
    if day < pay.received_on:
        raise ValidationError({"booked_on": [
            f"A payment received on {pay.received_on} cannot be reversed before that."]})
    [rev] = post([Posting(
        account_id=pay.account_id, kind=EntryKind.PAYMENT_REVERSAL, amount=pay.amount,
        booked_on=day, payment_id=pay.pk, reverses_id=entry.pk,
        description=f"Payment of {pay.received_on} reversed: {reason.strip()}"[:300],
        idempotency_key=f"reversal:{entry.pk}",
    )])
    undo = [(entry.pk, debit, -amount) for debit, amount in _net_allocations(entry.pk)]
    write_allocations(undo + [(entry.pk, rev.entry_id, pay.amount)])
    invoices = set(LedgerEntry.objects.filter(
        pk__in=[d for _, d, _ in undo], invoice__isnull=False).values_list("invoice_id",
                                                                            flat=True))
    sync_invoice_status(invoices)
    allocate([pay.account_id])
    audit_record(action="payment.reverse", actor=actor, api_key=api_key,
                 target=str(pay.public_id), detail={"reason": reason, "amount": str(pay.amount)})
    return LedgerEntry.objects.get(pk=rev.entry_id)


def _net_allocations(credit_id: int) -> list[tuple[int, Decimal]]:
    rows = (Allocation.objects.filter(credit_id=credit_id).values("debit_id")
            .annotate(total=Sum("amount")).filter(total__gt=0))
    return [(r["debit_id"], r["total"]) for r in rows]
