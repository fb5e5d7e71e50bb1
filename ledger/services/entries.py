"""Entries a manager books by hand: write-offs, refunds, adjustments, opening balances.

Each goes through :func:`ledger.services.posting.post` like every other entry and is then
allocated, so a write-off of an invoice closes it and a refund spends the account's credit.
What each may do is checked here, where the money is known: a refund pays out credit the
account has, a write-off cancels what is owed (on a chosen invoice: up to what is open).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billspree.core.services import audit_record
from billspree.core.timefmt import local_date
from ledger.models import Account, EntryKind, LedgerEntry
from ledger.selectors.invoices import invoice_open_amount
from ledger.services.allocations import allocate
from ledger.services.posting import Posting, post
from tariffs.pricing.vat import minor_unit

ZERO = Decimal("0")
#: kind → the sign its amount takes (a manager gives a positive amount; adjustment and
#: opening balance are signed as given: + the tenant owes, − the tenant has credit)
MANUAL = {EntryKind.WRITE_OFF: -1, EntryKind.REFUND: 1, EntryKind.ADJUSTMENT: 0,
          EntryKind.OPENING_BALANCE: 0}


@transaction.atomic
def entry_record(*, account: Account, kind: str, amount: Decimal, booked_on: date,
                 description: str, invoice=None, idempotency_key: str | None = None,
                 actor=None, api_key=None) -> LedgerEntry:
    acc = Account.objects.select_for_update().get(pk=account.pk)
    errors: dict[str, list[str]] = {}
    if kind not in MANUAL:
        errors["kind"] = [f"Choose one of: {', '.join(str(k) for k in MANUAL)}."]
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount == ZERO:
        errors["amount"] = ["Give an amount other than 0."]
    elif amount != amount.quantize(minor_unit(str(acc.currency))):
        errors["amount"] = [f"{amount} has more decimals than {acc.currency} has."]
    elif MANUAL.get(kind) and amount < ZERO:
        errors["amount"] = ["Give the amount as a positive number; its direction follows "
                            "from the kind."]
    if not description.strip():
        errors["description"] = ["Say what the entry is for (it is on the statement)."]
    today = local_date(timezone.now(), acc.organization)
    if booked_on > today:
        errors["booked_on"] = [f"{booked_on} is in the future (today is {today})."]
    if errors:
        raise ValidationError(errors)
    signed = amount * MANUAL[kind] if MANUAL[kind] else amount
    if kind == EntryKind.OPENING_BALANCE and LedgerEntry.objects.filter(
            account=acc, kind=EntryKind.OPENING_BALANCE).exists():
        raise ValidationError({"kind": ["The account has an opening balance already; "
                                        "correct it with an adjustment."]})
    if kind == EntryKind.REFUND and acc.balance > -amount:
        raise ValidationError({"amount": [
            f"The account has {max(-acc.balance, ZERO):.2f} {acc.currency} of credit; a "
            f"refund of {amount:.2f} would pay out more than that."]})
    directives = None
    if invoice is not None:
        left, on = invoice_open_amount(invoice)
        if on is None or on.pk != acc.pk:
            raise ValidationError({"invoice": ["That invoice is not on this account."]})
        if kind != EntryKind.WRITE_OFF:
            raise ValidationError({"invoice": ["Only a write-off is booked against an "
                                               "invoice."]})
        if amount > left:
            raise ValidationError({"amount": [
                f"Only {left:.2f} {acc.currency} is open on {invoice.number}."]})
    [done] = post([Posting(
        account_id=acc.pk, kind=kind, amount=signed, booked_on=booked_on,
        description=description.strip()[:300], idempotency_key=idempotency_key,
        invoice_id=invoice.pk if invoice is not None else None,
        created_by_id=getattr(actor, "pk", None) if actor is not None
        and getattr(actor, "is_authenticated", False) and not getattr(actor, "api_key", None)
        else None)])
    if done.created:
        if invoice is not None:
            debit = LedgerEntry.objects.get(kind=EntryKind.INVOICE, invoice=invoice)
            directives = {done.entry_id: [(debit.pk, amount)]}
        allocate([acc.pk], directives)
        audit_record(action=f"entry.{kind}", actor=actor, api_key=api_key,
                     target=str(acc.public_id),
                     detail={"amount": str(signed), "description": description})
    return LedgerEntry.objects.get(pk=done.entry_id)
