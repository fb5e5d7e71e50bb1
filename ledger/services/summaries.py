"""Parent summaries: a company's children's bills of a period on one document, and the
payment that quotes its reference, split over the children's invoices on it.

The split (:func:`summary_payments_record`): the money pays the summary's invoices still
open **oldest due first across the children** (then the older issue, the child's name, the
invoice number), each child's account getting one payment allocated to its own invoices;
what is left after every invoice of the summary is paid is a payment on the **parent
account** — credit there, which pays the parent's own next bills. It never becomes a
child's credit: a child's money is not the parent's and the parent's is not a child's
(KB#553), and the parent is who paid. Each part carries the summary's reference, so the
summary's page finds them; the bank line's id is on the first part (a later file with
the same line is a duplicate), and every part has an idempotency key derived from the
line (or the caller's key), so the same payment twice records nothing twice.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import reduce
from operator import or_

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum

from billspree.core.banking import is_qr_iban
from billspree.core.payment_refs import creditor_reference, normalise_reference, qr_reference
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from billspree.core.timefmt import format_days
from ledger.models import (
    Account,
    BankLineStatus,
    BankMatchHow,
    ParentSummary,
    ParentSummaryItem,
    Payment,
    PaymentMethod,
)
from ledger.selectors.summaries import pending_summary_items, summaries_open_shares
from ledger.services.payments import PaymentIn, payments_record
from ledger.services.payments import _check as check_payment

ZERO = Decimal("0")


@transaction.atomic
def parent_summaries_create(*, first_day: date, last_day: date, parent: Account | None = None,
                            actor=None, api_key=None) -> list[ParentSummary]:
    """For every parent account (or ``parent``), the summary of the invoices its children
    were issued on ``first_day``–``last_day`` (local issue days). Running it again adds
    only invoices issued since into the same summary; an invoice is on one summary only."""
    if last_day < first_day:
        raise ValidationError({"last_day": ["The period ends before it starts."]})
    grouped, parent_ids = pending_summary_items(first_day=first_day, last_day=last_day,
                                                parent=parent)
    if not parent_ids:
        return []
    parents = {a.pk: a for a in Account.objects.filter(pk__in=list(grouped))
               .select_for_update()}
    for parent_id, rows in sorted(grouped.items()):
        acc = parents[parent_id]
        summary, _ = ParentSummary.objects.get_or_create(
            account=acc, first_day=first_day, last_day=last_day,
            defaults={"currency": acc.currency})
        ParentSummaryItem.objects.bulk_create([
            ParentSummaryItem(organization_id=acc.organization_id, summary=summary,
                              invoice_id=invoice, child_id=child, amount=amount)
            for child, invoice, amount in rows])
        summary.total = summary.items.aggregate(s=Sum("amount"))["s"] or ZERO
        summary.payment_reference = summary.payment_reference or summary_reference(summary)
        summary.save(update_fields=["total", "payment_reference"])
        audit_record(action="parent_summary.create", actor=actor, api_key=api_key,
                     target=str(summary.public_id),
                     detail={"invoices": len(rows), "total": str(summary.total)})
    return list(ParentSummary.objects.filter(
        account_id__in=parent_ids, first_day=first_day, last_day=last_day,
    ).order_by("pk"))


def summary_reference(summary: ParentSummary) -> str:
    """The reference of a summary: a QR reference (payload 9 + its id: far above any
    invoice's sequence number, so never an invoice's) where the organization's account is
    a QR-IBAN and the summary is in CHF, else an RF creditor reference of ``SUM<id>``."""
    if str(summary.currency) == "CHF" and is_qr_iban(require_organization().iban):
        return qr_reference("9" + str(summary.pk).zfill(25))
    return creditor_reference(f"SUM{summary.pk}")


def summaries_by_reference(references) -> dict[str, ParentSummary]:
    """The summaries quoted by ``references`` (as typed or printed), by normalised
    reference: one query."""
    refs = {normalise_reference(r) for r in references if r}
    refs.discard("")
    if not refs:
        return {}
    return {s.payment_reference: s for s in ParentSummary.objects.filter(
        payment_reference__in=refs).select_related("account__tenant")}


@dataclass
class SummaryPaymentIn:
    """A payment of ``summary`` (money received from its parent), to split. ``source``: what
    makes it unique (the bank line's id, the caller's idempotency key); empty: none."""

    summary: ParentSummary
    amount: Decimal
    received_on: date
    method: str = PaymentMethod.BANK_TRANSFER
    remittance: str = ""
    payer_name: str = ""
    bank_reference: str = ""
    note: str = ""
    source: str = ""


def _key_prefix(p: SummaryPaymentIn) -> str | None:
    if not p.source:
        return None
    digest = hashlib.sha256(f"{p.summary.pk}|{p.source}".encode()).hexdigest()[:40]
    return f"psum:{digest}:"


def _split(p: SummaryPaymentIn, shares: list, open_left: dict[int, Decimal],
           accounts: dict[int, Account]) -> list[PaymentIn]:
    """``p`` as one payment per child (its invoices on the summary, oldest due first across
    the children, as much as is open on each) and the rest on the parent account."""
    left = p.amount
    by_child: dict[int, list[tuple[int, Decimal]]] = {}
    for share in shares:
        take = min(left, open_left.get(share.invoice_id, ZERO))
        if take <= ZERO:
            continue
        by_child.setdefault(share.child_id, []).append((share.invoice_id, take))
        open_left[share.invoice_id] -= take
        left -= take
        if left <= ZERO:
            break
    parts = [(accounts[child], told) for child, told in by_child.items()]
    if left > ZERO:
        parts.append((p.summary.account, []))
    prefix = _key_prefix(p)
    period = format_days(p.summary.first_day, p.summary.last_day)
    return [PaymentIn(
        account=account, amount=sum((a for _, a in told), ZERO) if told else left,
        received_on=p.received_on, method=p.method, reference=p.summary.payment_reference,
        remittance=p.remittance, payer_name=p.payer_name,
        bank_reference=p.bank_reference if n == 0 else "",
        note=(p.note or f"Summary {period} of {p.summary.account.tenant.name}")
        + ("" if told else " (more than was open: credit on the parent account)"),
        idempotency_key=f"{prefix}{n}" if prefix else None, invoices=told,
    ) for n, (account, told) in enumerate(parts)]


@transaction.atomic
def summary_payments_record(items: list[SummaryPaymentIn], *, actor=None, api_key=None,
                            source: str = "manual") -> list[list[tuple[Payment, bool]]]:
    """Split and record each payment of a summary (see the module docstring); each item
    comes back with its parts, True if recorded now, False if recorded before (a replay of
    its ``source``: nothing is added). Set-based: one :func:`payments_record` for all."""
    errors: dict[str, list[str]] = {}
    for n, p in enumerate(items):  # the whole payment is checked, as any payment is
        whole = PaymentIn(account=p.summary.account, amount=p.amount,
                          received_on=p.received_on, method=p.method)
        for key, msgs in check_payment(whole, f"payment {n + 1}" if len(items) > 1 else "",
                                       ).items():
            errors.setdefault(key, []).extend(msgs)
    if errors:
        raise ValidationError(errors)
    if not items:
        return []
    # the parents' and their children's row locks, in id order as every poster takes them:
    # two payments of one summary queue (the split reads what is open, then pays it)
    parents = sorted({p.summary.account_id for p in items})
    list(Account.objects.select_for_update().filter(
        Q(pk__in=parents) | Q(parent_id__in=parents)).order_by("pk").values_list("pk"))
    earlier = _earlier_parts([_key_prefix(p) for p in items])
    shares = summaries_open_shares(sorted({p.summary.pk for p in items}))
    open_left = {s.invoice_id: s.open for rows in shares.values() for s in rows}
    accounts = Account.objects.in_bulk({s.child_id for rows in shares.values() for s in rows})
    plans: list[list[PaymentIn] | None] = []
    for p in items:
        prefix = _key_prefix(p)
        if prefix and prefix in earlier:
            plans.append(None)
            continue
        plans.append(_split(p, shares.get(p.summary.pk, []), open_left, accounts))
    recorded = iter(payments_record([x for plan in plans if plan for x in plan],
                                    actor=actor, api_key=api_key, source=source))
    out: list[list[tuple[Payment, bool]]] = []
    for p, plan in zip(items, plans, strict=True):
        if plan is None:
            out.append([(x, False) for x in earlier[_key_prefix(p)]])
            continue
        out.append([next(recorded) for _ in plan])
        audit_record(action="parent_summary.pay", actor=actor, api_key=api_key,
                     target=str(p.summary.public_id),
                     detail={"amount": str(p.amount), "payments": len(plan),
                             "to_parent": str(plan[-1].amount) if not plan[-1].invoices
                             else "0", "source": source})
    return out


def _earlier_parts(prefixes: list[str | None]) -> dict[str, list[Payment]]:
    """The parts recorded before under these key prefixes (one query)."""
    wanted = sorted({x for x in prefixes if x})
    if not wanted:
        return {}
    found: dict[str, list[Payment]] = defaultdict(list)
    rows = Payment.objects.filter(
        reduce(or_, [Q(idempotency_key__startswith=x) for x in wanted])).order_by("pk")
    for r in rows:
        found[r.idempotency_key.rsplit(":", 1)[0] + ":"].append(r)
    return found


def summary_payment_record(*, summary: ParentSummary, amount: Decimal, received_on: date,
                           method: str = PaymentMethod.BANK_TRANSFER, remittance: str = "",
                           payer_name: str = "", note: str = "",
                           idempotency_key: str | None = None, actor=None,
                           api_key=None) -> list[tuple[Payment, bool]]:
    """Record one payment of ``summary``, split (see :func:`summary_payments_record`)."""
    return summary_payments_record([SummaryPaymentIn(
        summary=summary, amount=amount, received_on=received_on, method=method,
        remittance=remittance, payer_name=payer_name, note=note,
        source=idempotency_key or "")], actor=actor, api_key=api_key)[0]


def summary_bank_lines_pay(lines: list, *, filename: str, actor=None, api_key=None) -> None:
    """Pay the bank lines that quote a summary's reference (``[(line, summary)]``, lines
    not saved yet): split, in one :func:`summary_payments_record`; each line is matched
    (its account: the parent, its payment: the first part) or says why not."""
    if not lines:
        return
    todo = []
    for row, summary in lines:
        if str(summary.currency) != row.currency:
            row.reason = f"The summary is in {summary.currency}, the payment in {row.currency}."
            continue
        todo.append((row, summary))
    recorded = summary_payments_record([SummaryPaymentIn(
        summary=summary, amount=row.amount, received_on=row.booked_on,
        method=PaymentMethod.BANK_TRANSFER, remittance=row.remittance,
        payer_name=row.payer_name, bank_reference=row.bank_reference,
        note=f"Bank file {filename}, row {row.row}", source=row.bank_reference,
    ) for row, summary in todo], actor=actor, api_key=api_key, source="bank_file")
    for (row, summary), parts in zip(todo, recorded, strict=True):
        row.status, row.matched_how = BankLineStatus.MATCHED, BankMatchHow.REFERENCE
        row.account_id, row.payment_id = summary.account_id, parts[0][0].pk
        children = len({p.account_id for p, _ in parts} - {summary.account_id})
        rest = sum((p.amount for p, _ in parts if p.account_id == summary.account_id), ZERO)
        row.reason = (f"Summary {format_days(summary.first_day, summary.last_day)}: paid "
                      f"to {children} account{'s' if children != 1 else ''}"
                      + (f", {rest:.2f} credit on the parent" if rest else "") + ".")[:300]


def summary_payment_quoted(*, account: Account, reference: str, **payment) -> list[tuple[
        Payment, bool]]:
    """A payment on ``account`` quoting ``reference``: split if it is the reference of one
    of the account's summaries (its parts), else ``[]`` (an ordinary payment)."""
    summary = summaries_by_reference([reference]).get(normalise_reference(reference))
    if summary is None or summary.account_id != account.pk:
        return []
    return summary_payment_record(summary=summary, **payment)
