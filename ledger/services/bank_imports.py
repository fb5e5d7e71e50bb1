"""Bank files in: every credit line matched to an invoice and paid in, in one transaction.

Like the CSV readings import, an import is all-or-nothing: a file that does not parse, or a
line that cannot be booked (a day in the future), changes nothing and says which row and
why. The same file twice (by its bytes) adds nothing, and a line paid in by another file
(its bank reference) is a duplicate, never a second payment.

Matching, set-based (one query per rule for the whole file, then one
:func:`payments_record`): the structured reference printed on the slip
(``Invoice.payment_reference``: Swiss QR reference or RF creditor reference), else an
invoice number in the remittance text, else the line waits for the manager in the review
queue (:func:`bank_line_match`). A matched line pays its invoice first; what is left is
credit that pays the tenant's oldest open items (``ledger.services.allocations``). A line
quoting a parent summary's reference is split over the children's invoices on it
(``ledger.services.summaries``).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import CharField, Func, Value
from django.db.models.functions import Upper
from django.utils import timezone

from billing.models import Invoice, InvoiceStatus
from billspree.core.db import copy_rows, uuid4_texts
from billspree.core.errors import Conflict
from billspree.core.payment_refs import normalise_reference
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from billspree.core.timefmt import format_instant, local_date
from ledger.bank_formats import BankFileError, BankLine, parse_bank_file
from ledger.models import (
    Account,
    BankImport,
    BankImportLine,
    BankLineStatus,
    BankMatchHow,
    Payment,
    PaymentMethod,
)
from ledger.models.bank import BankImportStatus
from ledger.services.accounts import accounts_for
from ledger.services.payments import (
    AccountRef,
    PaymentIn,
    payment_record,
    payments_record_ids,
)
from ledger.services.summaries import summaries_by_reference, summary_bank_lines_pay

ZERO = Decimal("0")
PAID_OR_OPEN = (InvoiceStatus.ISSUED, InvoiceStatus.PAID)
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/_.]*[A-Za-z0-9]|[A-Za-z0-9]")


def _compact(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text).upper()


def _by_reference(references: list[str]) -> dict[str, tuple]:
    refs = set(references) - {""}
    if not refs:
        return {}
    rows = Invoice.objects.filter(payment_reference__any=refs, status__in=PAID_OR_OPEN) \
        .values_list("payment_reference", "pk", "tenant_id", "currency", "number")
    return {r[0]: r[1:] for r in rows}


def _by_number(lines: list[BankLine]) -> dict[str, tuple]:
    """Invoice numbers found in remittance texts, compared without separators or case
    ("inv 000042", "INV000042" and "INV-000042" are one number): one query."""
    tokens = {_compact(t) for x in lines if x.remittance for t in TOKEN.findall(x.remittance)}
    tokens.discard("")
    if not tokens:
        return {}
    rows = (Invoice.objects.filter(status__in=PAID_OR_OPEN).exclude(number="")
            .annotate(compact=Func(Upper("number"), Value("[^A-Z0-9]"), Value(""),
                                   Value("g"), function="regexp_replace",
                                   output_field=CharField()))
            .filter(compact__any=tokens)
            .values_list("compact", "pk", "tenant_id", "currency", "number"))
    return {r[0]: r[1:] for r in rows}


@transaction.atomic
def bank_import_create(*, data: bytes, filename: str, actor=None, api_key=None) -> BankImport:
    """Import a bank file; the same bytes again return the first import (``.repeat``
    is True on it)."""
    org = require_organization()
    digest = hashlib.sha256(data).hexdigest()
    earlier = BankImport.objects.filter(sha256=digest).select_related("uploaded_by").first()
    if earlier is not None:
        earlier.repeat = True
        return earlier
    try:
        lines = parse_bank_file(data, filename)
    except BankFileError as exc:
        raise ValidationError({"file": [str(e) for e in exc.errors] or [str(exc)]}) from exc
    today = local_date(timezone.now(), org)
    late = [f"row {x.row}, booked_on: {x.booked_on} is in the future (today is {today})."
            for x in lines if x.booked_on > today]
    if late:
        raise ValidationError({"file": late})
    imp = BankImport.objects.create(filename=filename[:255] or "bank file", sha256=digest,
                                    uploaded_by=_user(actor))
    known = [x.bank_reference for x in lines if x.bank_reference]
    paid_in = set(Payment.objects.filter(bank_reference__any=known)
                  .values_list("bank_reference", flat=True))
    paid_in |= set(BankImportLine.objects.filter(  # waiting in review from another file
        bank_reference__any=known, status=BankLineStatus.UNMATCHED,
    ).values_list("bank_reference", flat=True))
    refs = [normalise_reference(x.reference) for x in lines]
    by_ref = _by_reference(refs)
    by_summary = summaries_by_reference(  # a parent summary's reference: split over it
        r for r in refs if r and r not in by_ref)
    by_number = _by_number([x for x, r in zip(lines, refs, strict=True)
                            if r not in by_ref and r not in by_summary])
    to_split: list = []  # (line, summary)
    rows: list[_Line] = []
    todo: list[tuple[_Line, int, int, str]] = []  # line, invoice, tenant, currency
    seen_refs: set[str] = set()
    for x, ref in zip(lines, refs, strict=True):
        row = _Line(row=x.row, amount=x.amount, currency=x.currency, booked_on=x.booked_on,
                    value_on=x.value_on, reference=ref[:140], remittance=x.remittance[:500],
                    payer_name=x.payer_name[:200], payer_iban=x.payer_iban[:40],
                    bank_reference=x.bank_reference[:200], reversal=x.reversal)
        rows.append(row)
        if x.amount <= ZERO or x.reversal:
            row.status = BankLineStatus.IGNORED if not x.reversal else BankLineStatus.UNMATCHED
            row.reason = ("A returned payment: find the payment it returns and reverse it "
                          "on the account." if x.reversal else "Money out, not a payment in.")
            continue
        if x.bank_reference in paid_in or x.bank_reference in seen_refs:
            row.status = BankLineStatus.DUPLICATE
            row.reason = "In an earlier file already (paid in or waiting for review)."
            continue
        seen_refs.add(x.bank_reference)
        hit, how = None, BankMatchHow.NONE
        if ref and ref in by_ref:
            hit, how = by_ref[ref][:3], BankMatchHow.REFERENCE
        elif ref and ref in by_summary:
            to_split.append((row, by_summary[ref]))
            continue
        else:
            for token in TOKEN.findall(x.remittance or ""):
                if _compact(token) in by_number:
                    hit, how = by_number[_compact(token)][:3], BankMatchHow.INVOICE_NUMBER
                    break
        if hit is None:
            row.reason = (f"No invoice has the reference {ref}." if ref else
                          "No reference and no invoice number in the text.")
            continue
        invoice_id, tenant_id, currency = hit
        if str(currency) != x.currency:
            row.reason = f"The invoice is in {currency}, the payment in {x.currency}."
            continue
        row.matched_how = how
        todo.append((row, invoice_id, tenant_id, str(currency)))
    accounts = accounts_for({(t, c) for _, _, t, c in todo})
    account_rows = {pk: AccountRef(pk, org.pk, str(cur)) for pk, cur in Account.objects.filter(
        pk__any={accounts[(t, c)] for _, _, t, c in todo}).values_list("pk", "currency")}
    note = f"Bank file {imp.filename}, row "
    recorded = payments_record_ids([
        PaymentIn(account=account_rows[accounts[(t, c)]], amount=row.amount,
                  received_on=row.booked_on, method=PaymentMethod.BANK_TRANSFER,
                  reference=row.reference, remittance=row.remittance,
                  payer_name=row.payer_name, bank_reference=row.bank_reference,
                  note=f"{note}{row.row}", invoices=[(inv, None)])
        for row, inv, t, c in todo
    ], actor=actor, api_key=api_key, source="bank_file")
    for (row, inv, t, c), (payment_id, _) in zip(todo, recorded, strict=True):
        row.status, row.invoice_id = BankLineStatus.MATCHED, inv
        row.account_id, row.payment_id = accounts[(t, c)], payment_id
    summary_bank_lines_pay(to_split, filename=imp.filename, actor=actor, api_key=api_key)
    copy_rows(BankImportLine._meta.db_table, LINE_COLUMNS, (
        (org.pk, imp.pk, public_id, r.row, r.amount, r.currency, r.booked_on, r.value_on,
         r.reference, r.remittance, r.payer_name, r.payer_iban, r.bank_reference, r.reversal,
         r.status, r.matched_how, r.reason, r.invoice_id, r.account_id, r.payment_id)
        for r, public_id in zip(rows, uuid4_texts(len(rows)), strict=True)))
    _count(imp, rows)
    audit_record(action="bank_import.create", actor=actor, api_key=api_key,
                 target=str(imp.public_id),
                 detail={"file": imp.filename, "lines": imp.lines_count,
                         "matched": imp.matched_count, "unmatched": imp.unmatched_count})
    imp.repeat = False
    return imp


LINE_COLUMNS = ("organization_id", "bank_import_id", "public_id", "row", "amount", "currency",
                "booked_on", "value_on", "reference", "remittance", "payer_name", "payer_iban",
                "bank_reference", "reversal", "status", "matched_how", "reason", "invoice_id",
                "account_id", "payment_id")


@dataclass(slots=True)
class _Line:
    """A bank line as the import report keeps it (written with ``COPY``: no model
    instance per line)."""

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
    reversal: bool
    status: str = BankLineStatus.UNMATCHED
    matched_how: str = BankMatchHow.NONE
    reason: str = ""
    invoice_id: int | None = None
    account_id: int | None = None
    payment_id: int | None = None


def _user(actor):
    ok = actor is not None and getattr(actor, "is_authenticated", False) \
        and not getattr(actor, "api_key", None)
    return actor if ok else None


def _count(imp: BankImport, rows: list) -> None:
    counts = Counter(r.status for r in rows)
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for r in rows:
        if r.amount > 0 and r.status != BankLineStatus.DUPLICATE:
            totals[r.currency] += r.amount
    imp.lines_count = len(rows)
    imp.matched_count = counts[BankLineStatus.MATCHED]
    imp.unmatched_count = counts[BankLineStatus.UNMATCHED]
    imp.duplicate_count = counts[BankLineStatus.DUPLICATE]
    imp.ignored_count = counts[BankLineStatus.IGNORED]
    imp.totals = {c: f"{v:.2f}" for c, v in sorted(totals.items())}
    imp.status = BankImportStatus.REVIEW if imp.unmatched_count else BankImportStatus.DONE
    imp.save(update_fields=["lines_count", "matched_count", "unmatched_count",
                            "duplicate_count", "ignored_count", "totals", "status"])


def repeat_message(imp: BankImport) -> str:
    who = f" by {imp.uploaded_by}" if imp.uploaded_by else ""
    return (f"This file was imported already on {format_instant(imp.created_at)}{who}: "
            "nothing was added.")


@transaction.atomic
def bank_line_match(*, line: BankImportLine, invoice: Invoice | None = None,
                    account: Account | None = None, actor=None,
                    api_key=None) -> BankImportLine:
    """The manager's match of an unmatched line: pay ``invoice`` (its tenant's account),
    or credit ``account``. Matching a matched line again changes nothing."""
    row = BankImportLine.objects.select_for_update().get(pk=line.pk)
    if row.status == BankLineStatus.MATCHED:
        return row
    if row.status != BankLineStatus.UNMATCHED or row.amount <= ZERO or row.reversal:
        raise Conflict(f"Row {row.row} is {row.get_status_display().lower()}: only unmatched "
                       "payments in can be matched.")
    if (invoice is None) == (account is None):
        raise ValidationError({"invoice": ["Choose the invoice it pays, or the account it "
                                           "credits (one of them)."]})
    if invoice is not None:
        if invoice.status not in PAID_OR_OPEN:
            raise ValidationError({"invoice": [f"Invoice {invoice} is not issued."]})
        if str(invoice.currency) != row.currency:
            raise ValidationError({"invoice": [
                f"Invoice {invoice} is in {invoice.currency}, the payment in {row.currency}."]})
        account = Account.objects.get(pk=accounts_for([(invoice.tenant_id, row.currency)])[
            (invoice.tenant_id, row.currency)])
    elif str(account.currency) != row.currency:
        raise ValidationError({"account": [
            f"The account is in {account.currency}, the payment in {row.currency}."]})
    payment, _ = payment_record(
        account=account, amount=row.amount, received_on=row.booked_on,
        method=PaymentMethod.BANK_TRANSFER, reference=row.reference, remittance=row.remittance,
        payer_name=row.payer_name, note=f"Bank file row {row.row}, matched by hand",
        invoices=[(invoice.pk, None)] if invoice is not None else [],
        actor=actor, api_key=api_key)
    # the bank line is paid in once: its bank reference goes on the line, not the payment,
    # so a later file with the same line is caught by the import's duplicate check
    row.status, row.matched_how = BankLineStatus.MATCHED, BankMatchHow.HAND
    row.invoice, row.account, row.payment = invoice, account, payment
    row.resolved_by, row.resolved_at = _user(actor), timezone.now()
    row.reason = ""
    row.save(update_fields=["status", "matched_how", "invoice", "account", "payment",
                            "resolved_by", "resolved_at", "reason"])
    Payment.objects.filter(pk=payment.pk, bank_reference="").update(
        bank_reference=row.bank_reference)
    _recount(row.bank_import_id)
    audit_record(action="bank_line.match", actor=actor, api_key=api_key,
                 target=str(row.public_id),
                 detail={"row": row.row, "invoice": invoice.number if invoice else None,
                         "amount": str(row.amount)})
    return row


@transaction.atomic
def bank_line_ignore(*, line: BankImportLine, reason: str, actor=None,
                     api_key=None) -> BankImportLine:
    """Set an unmatched line aside (not ours, paid back to the sender …), with why."""
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the line is set aside."]})
    row = BankImportLine.objects.select_for_update().get(pk=line.pk)
    if row.status == BankLineStatus.IGNORED:
        return row
    if row.status != BankLineStatus.UNMATCHED:
        raise Conflict(f"Row {row.row} is {row.get_status_display().lower()}.")
    row.status, row.reason = BankLineStatus.IGNORED, reason.strip()[:300]
    row.resolved_by, row.resolved_at = _user(actor), timezone.now()
    row.save(update_fields=["status", "reason", "resolved_by", "resolved_at"])
    _recount(row.bank_import_id)
    audit_record(action="bank_line.ignore", actor=actor, api_key=api_key,
                 target=str(row.public_id), detail={"row": row.row, "reason": reason})
    return row


def _recount(import_id: int) -> None:
    imp = BankImport.objects.select_for_update().get(pk=import_id)
    _count(imp, list(imp.lines.all()))
