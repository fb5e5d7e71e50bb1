"""State changes of billing documents."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from io import StringIO
from typing import Any
from uuid import uuid4

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from billing import engine
from billing.engine import DraftInvoice, Preview
from billing.models import (
    DEFAULT_PREFIXES,
    Adjustment,
    BilledPeriod,
    BillRunItem,
    DocumentKind,
    DocumentSequence,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Subscription,
)
from billspree.core.errors import Conflict
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from meters.models import BillingPoint
from tariffs import pricing
from tariffs import selectors as tariff_selectors
from tariffs.models import Plan, PlanVariant
from tariffs.pricing import vat


def _sequence_locked(kind: str) -> DocumentSequence:
    org = require_organization()
    try:
        with transaction.atomic():
            DocumentSequence.objects.get_or_create(
                organization=org, kind=kind, defaults={"prefix": DEFAULT_PREFIXES[kind]}
            )
    except IntegrityError:
        pass  # another transaction created it first; lock theirs below
    return DocumentSequence.objects.select_for_update().get(kind=kind)


def document_number_take(*, kind: str = DocumentKind.INVOICE) -> str:
    """The next number of ``kind`` in the current organization, consumed only if the
    caller's transaction commits (so numbers have neither gaps nor duplicates)."""
    if kind not in DocumentKind.values:
        raise ValueError(f"unknown document kind {kind!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Take a document number inside the transaction that issues it.")
    sequence = _sequence_locked(kind)
    number = sequence.next_number
    DocumentSequence.objects.filter(pk=sequence.pk).update(next_number=number + 1)
    return sequence.format(number)


# --- subscriptions ------------------------------------------------------------------------


def _check_subscription(*, plan, variant, start_date, end_date) -> None:
    errors: dict[str, list[str]] = {}
    if variant is not None and variant.plan_id != plan.pk:
        errors["variant"] = [f"{variant} is a variant of {variant.plan}, not of {plan}."]
    if end_date is not None and end_date <= start_date:
        errors["end_date"] = [f"The end date must be after the start date {start_date}."]
    if errors:
        raise ValidationError(errors)


def _check_overlap(*, billing_point, start_date, end_date, exclude_pk=None) -> None:
    others = Subscription.objects.filter(billing_point=billing_point)
    if exclude_pk:
        others = others.exclude(pk=exclude_pk)
    if end_date is not None:
        others = others.filter(start_date__lt=end_date)
    others = others.filter(Q(end_date__isnull=True) | Q(end_date__gt=start_date))
    other = others.first()
    if other is not None:
        until = other.end_date or "open end"
        raise ValidationError({"start_date": [
            f"{billing_point} is already subscribed to {other.plan} from {other.start_date} "
            f"to {until}; end that subscription first."
        ]})


@transaction.atomic
def subscription_create(
    *, billing_point: BillingPoint, plan: Plan, variant: PlanVariant | None = None,
    start_date: date, end_date: date | None = None, note: str = "", batch=None, actor=None,
    api_key=None,
) -> Subscription:
    _check_subscription(plan=plan, variant=variant, start_date=start_date, end_date=end_date)
    BillingPoint.objects.select_for_update().filter(pk=billing_point.pk).first()
    _check_overlap(billing_point=billing_point, start_date=start_date, end_date=end_date)
    sub = Subscription.objects.create(
        billing_point=billing_point, plan=plan, variant=variant, start_date=start_date,
        end_date=end_date, note=note, batch=batch,
    )
    audit_record(action="subscription.create", actor=actor, api_key=api_key,
                 target=str(sub.public_id), detail={"billing_point": str(billing_point)})
    return sub


@transaction.atomic
def subscription_update(
    *, subscription: Subscription, actor=None, api_key=None, **fields: Any
) -> Subscription:
    sub = Subscription.objects.select_for_update().get(pk=subscription.pk)
    allowed = {"plan", "variant", "start_date", "end_date", "note", "batch"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: ["This field cannot be changed."] for name in unknown})
    for name, value in fields.items():
        setattr(sub, name, value)
    _check_subscription(plan=sub.plan, variant=sub.variant, start_date=sub.start_date,
                        end_date=sub.end_date)
    _check_overlap(billing_point=sub.billing_point, start_date=sub.start_date,
                   end_date=sub.end_date, exclude_pk=sub.pk)
    sub.save()
    audit_record(action="subscription.update", actor=actor, api_key=api_key,
                 target=str(sub.public_id), detail={k: str(v) for k, v in fields.items()})
    return sub


@transaction.atomic
def subscription_delete(*, subscription: Subscription, actor=None, api_key=None) -> None:
    if subscription.invoices.exists():
        raise Conflict("This subscription has invoices; set an end date instead.")
    if BillRunItem.objects.filter(subscription=subscription).exists():
        raise Conflict("This subscription is part of a bill run; set an end date instead.")
    audit_record(action="subscription.delete", actor=actor, api_key=api_key,
                 target=str(subscription.public_id))
    subscription.delete()


# --- preview and drafts ---------------------------------------------------------------------


def _check_period(start: date, end: date) -> None:
    if end <= start:
        raise ValidationError({"end": [f"The end ({end}) must be after the start ({start})."]})
    if (end - start).days > 366:
        raise ValidationError({"end": ["A billing period is at most a year long."]})


def invoice_preview(*, subscriptions: list[Subscription], start: date, end: date) -> Preview:
    """The dry run: the invoices that would be created and what is wrong with them."""
    _check_period(start, end)
    if not subscriptions:
        raise ValidationError({"subscription": ["No subscription is in effect in the period."]})
    return engine.compute(subscriptions=subscriptions, start=start, end=end)


# (the rows of drafts are written by _write_drafts below, three INSERTs per batch)


def invoice_create_draft(
    *, subscriptions: list[Subscription], start: date, end: date, actor=None, api_key=None,
) -> list[Invoice]:
    """Draft invoices for every billable tenant of ``subscriptions`` over ``[start, end)``.

    Idempotent: a tenant already invoiced for the period gets nothing new; consumption
    already on another invoice is left out (and a concurrent run loses on the database's
    billed-at-most-once constraint: it is told so and nothing of it is kept).
    """
    preview = invoice_preview(subscriptions=subscriptions, start=start, end=end)
    billable = [d for d in preview.invoices if d.can_bill]
    if not billable:
        reasons = [d.message for inv in preview.invoices for d in inv.diagnostics
                   if d.severity == "error"] + [d.message for d in preview.diagnostics]
        raise ValidationError({"subscription": reasons or ["There is nothing to bill."]})
    org = require_organization()
    try:
        with transaction.atomic():
            invoices = _write_drafts(org, billable)
            for inv in invoices:
                audit_record(action="invoice.create_draft", actor=actor, api_key=api_key,
                             target=str(inv.public_id), detail={"total": str(inv.total)})
    except IntegrityError as exc:
        raise Conflict(
            "Some of this consumption or period was invoiced meanwhile (another run); "
            "nothing was created. Preview again."
        ) from exc
    return invoices


_INVOICE_COLUMNS = (
    "id, public_id, organization_id, tenant_id, billing_point_id, subscription_id, bill_run_id, "
    "period_start, period_end, currency, status, number, net_total, tax_total, cash_rounding, "
    "total, notes, created_at"
)
_PERIOD_COLUMNS = (
    "id, public_id, organization_id, invoice_id, meter_id, assignment_id, start_at, end_at, "
    "quantity, start_read_at, start_value, end_read_at, end_value, estimated, active"
)
_LINE_COLUMNS = (
    "public_id, organization_id, invoice_id, position, kind, description, quantity, unit, "
    "unit_price, amount, tax_rate, tax_amount, meter_type, start_at, end_at, billed_period_id, "
    "meter_id, assignment_id, start_read_at, start_value, end_read_at, end_value, estimated, "
    "start_basis, end_basis, start_sources, end_sources, quantity_note, adjustment_id, charge"
)


def _cell(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, str):
        return (value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
                .replace("\r", "\\r"))
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _copy(cursor, table: str, columns: str, rows: list[tuple]) -> None:
    """Rows into ``table`` with one ``COPY … FROM STDIN`` (constraints and triggers apply)."""
    if rows:
        data = "".join("\t".join(map(_cell, row)) + "\n" for row in rows)
        cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", StringIO(data))


def _new_ids(cursor, table: str, count: int) -> list[int]:
    """``count`` ids from the table's identity sequence (one query), so rows that others
    point at can be COPied with their ids known."""
    if not count:
        return []
    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                   [table, count])
    return [r[0] for r in cursor.fetchall()]


def _write_drafts(org, billable: list[DraftInvoice], *, bill_run=None) -> list[Invoice]:
    """Write drafts, their billed periods and their lines set-based: ids taken from the
    sequences, then three COPYs whatever the number of invoices (no model instance per line
    and no per-row SQL: this is the bill run's hot path). ``bill_run`` marks the drafts of
    a bill run. Returns the invoices (instances carrying their new ids)."""
    now = timezone.now()
    run_id = bill_run.pk if bill_run is not None else None
    refs = [(n, ref) for n, d in enumerate(billable) for ref in d.usages]
    # the raw psycopg2 cursor (COPY), with its errors turned into Django's (IntegrityError)
    with connection.cursor() as wrapper, connection.wrap_database_errors:
        cur = wrapper.cursor
        ids = _new_ids(cur, "billing_invoice", len(billable))
        period_ids = _new_ids(cur, "billing_billedperiod", len(refs))
        invoices = []
        for pk, d in zip(ids, billable, strict=True):
            inv = Invoice(
                pk=pk, public_id=uuid4(), organization=org, tenant=d.tenant,
                billing_point=d.billing_point, subscription=d.subscription, bill_run=bill_run,
                period_start=d.start, period_end=d.end, currency=d.currency,
                net_total=d.net_total, tax_total=d.tax_total, cash_rounding=d.cash_rounding,
                total=d.total, created_at=now,
            )
            inv._state.adding = False
            invoices.append(inv)
        _copy(cur, "billing_invoice", _INVOICE_COLUMNS, [
            (i.pk, str(i.public_id), org.pk, d.tenant.pk, d.billing_point.pk, d.subscription.pk,
             run_id, d.start, d.end, d.currency, InvoiceStatus.DRAFT, "", i.net_total,
             i.tax_total, i.cash_rounding, i.total, "", now)
            for i, d in zip(invoices, billable, strict=True)
        ])
        _write_children(cur, org, ids, billable, period_ids, refs)
    return invoices


def _write_children(cur, org, ids: list[int], billable: list[DraftInvoice],
                    period_ids: list[int], refs: list) -> None:
    """The billed periods and lines of drafts whose rows exist (ids), two COPYs; then the
    pending adjustments they carry are claimed (``adjustments_place``)."""
    _copy(cur, "billing_billedperiod", _PERIOD_COLUMNS, [
        (pid, str(uuid4()), org.pk, ids[n], r.meter_id, r.assignment_id, r.start_at,
         r.end_at, r.quantity, r.start_read_at, r.start_value, r.end_read_at, r.end_value,
         r.estimated, True)
        for pid, (n, r) in zip(period_ids, refs, strict=True)
    ])
    period_of = {id(r): pid for pid, (_, r) in zip(period_ids, refs, strict=True)}
    _copy(cur, "billing_invoiceline", _LINE_COLUMNS, [
        row for pk, d in zip(ids, billable, strict=True)
        for row in _line_rows(org, pk, d, period_of)
    ])
    from billing.services.adjustments import adjustments_place

    adjustments_place(cur, org, ids, billable)


def _line_rows(org, invoice_id: int, draft: DraftInvoice, period_of: dict[int, int]):
    for n, line in enumerate(draft.lines, start=1):
        r = line.usage
        yield (
            str(uuid4()), org.pk, invoice_id, n, line.kind, line.description[:300],
            line.quantity, line.unit, line.unit_price, line.amount, line.tax_rate,
            line.tax_amount, line.meter_type, line.start_at, line.end_at,
            period_of.get(id(r)) if r else None, r.meter_id if r else None,
            r.assignment_id if r else None, r.start_read_at if r else None,
            r.start_value if r else None, r.end_read_at if r else None,
            r.end_value if r else None, r.estimated if r else False,
            r.start_basis if r else "", r.end_basis if r else "",
            json.dumps(r.start_sources if r else []), json.dumps(r.end_sources if r else []),
            (r.note if r else "")[:300],
            line.adjustment.pk if line.adjustment is not None else None,
            (line.charge or "")[:200],
        )


# --- drafts: manual lines -----------------------------------------------------------------------


def _locked(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def _require_draft(inv: Invoice, doing: str) -> None:
    if inv.status != InvoiceStatus.DRAFT:
        raise Conflict(f"Invoice {inv} is {inv.get_status_display().lower()}: {doing} only on "
                       "drafts. Corrections of issued invoices are credit notes.")


def _retotal(inv: Invoice) -> None:
    """A draft's totals after a hand edit, by the same rule as the bill run: VAT per rate
    on the net (each line's share rewritten where it moved), cash rounding of the gross to
    the organization's step for the currency. A legacy ``rounding`` line (drafts of before
    ``Invoice.cash_rounding``) is dropped: the amount replaces it."""
    currency = str(inv.currency)
    inv.lines.filter(kind=LineKind.ROUNDING).delete()
    lines = list(inv.lines.order_by("position", "pk").only("pk", "amount", "tax_rate",
                                                              "tax_amount"))
    shares = vat.vat_per_line([(x.tax_rate, x.amount) for x in lines], currency=currency)
    moved = []
    for line, share in zip(lines, shares, strict=True):
        if line.tax_amount != share:
            line.tax_amount = share
            moved.append(line)
    InvoiceLine.objects.bulk_update(moved, ["tax_amount"])
    inv.net_total = sum((x.amount for x in lines), Decimal("0"))
    inv.tax_total = sum(shares, Decimal("0"))
    step = tariff_selectors.cash_rounding_step(currency)
    gross = inv.net_total + inv.tax_total
    inv.cash_rounding = vat.cash_round(gross, step, currency=currency) if lines else Decimal("0")
    inv.total = gross + inv.cash_rounding
    inv.save(update_fields=["net_total", "tax_total", "cash_rounding", "total"])


def _minor(inv: Invoice) -> Decimal:
    return pricing.Settings(currency=str(inv.currency)).minor_unit


@transaction.atomic
def invoice_line_add(
    *, invoice: Invoice, description: str, quantity: Decimal, unit_price: Decimal,
    unit: str = "", tax_rate: Decimal = Decimal("0"), actor=None, api_key=None,
) -> InvoiceLine:
    inv = _locked(invoice)
    _require_draft(inv, "lines can be added")
    errors: dict[str, list[str]] = {}
    if not description.strip():
        errors["description"] = ["Say what the line is for."]
    if quantity <= 0:
        errors["quantity"] = ["The quantity must be greater than 0."]
    if not Decimal("0") <= tax_rate <= Decimal("100"):
        errors["tax_rate"] = ["The tax rate is a percentage between 0 and 100."]
    if errors:
        raise ValidationError(errors)
    amount = (quantity * unit_price).quantize(_minor(inv), rounding=ROUND_HALF_UP)
    tax = Decimal("0")  # its share of its rate's VAT is set by _retotal
    last = inv.lines.aggregate(m=Max("position"))["m"] or 0
    line = InvoiceLine.objects.create(
        invoice=inv, position=last + 1, kind=LineKind.MANUAL, description=description.strip(),
        quantity=quantity, unit=unit, unit_price=unit_price, amount=amount, tax_rate=tax_rate,
        tax_amount=tax,
    )
    _retotal(inv)
    line.refresh_from_db(fields=["tax_amount"])
    audit_record(action="invoice.line_add", actor=actor, api_key=api_key,
                 target=str(inv.public_id),
                 detail={"description": description, "amount": str(amount)})
    return line


@transaction.atomic
def invoice_line_remove(*, line: InvoiceLine, actor=None, api_key=None) -> None:
    inv = _locked(line.invoice)
    _require_draft(inv, "lines can be removed")
    if line.kind != LineKind.MANUAL:
        raise Conflict("Only manual lines can be removed; computed lines follow the readings "
                       "and the tariff (void the draft and create it again).")
    line.delete()
    _retotal(inv)
    audit_record(action="invoice.line_remove", actor=actor, api_key=api_key,
                 target=str(inv.public_id), detail={"description": line.description})


# --- lifecycle ----------------------------------------------------------------------------------


@transaction.atomic
def invoice_issue(*, invoice: Invoice, actor=None, api_key=None) -> Invoice:
    """Number the draft (gapless, in this transaction) and lock it. Issuing an issued (or
    paid) invoice again changes nothing."""
    inv = _locked(invoice)
    if inv.status in (InvoiceStatus.ISSUED, InvoiceStatus.PAID):
        return inv
    if inv.status == InvoiceStatus.VOID:
        raise Conflict(f"Invoice {inv} is void and cannot be issued.")
    if not inv.lines.exists():
        raise ValidationError({"lines": ["An invoice without lines cannot be issued."]})
    if inv.stale_reason:
        from billing.services.recompute import stale_conflict

        raise stale_conflict([inv])
    inv.number = document_number_take(kind=DocumentKind.INVOICE)
    inv.status = InvoiceStatus.ISSUED
    inv.issued_at = timezone.now()
    inv.save(update_fields=["number", "status", "issued_at"])
    audit_record(action="invoice.issue", actor=actor, api_key=api_key,
                 target=str(inv.public_id), detail={"number": inv.number, "total": str(inv.total)})
    # The PDF statement is prepared in the background once this commits. A hand-issued
    # invoice is not emailed automatically: the manager sends it from the statement panel
    # (or POST invoices/{id}/send/) after checking it; bill runs decide for themselves.
    from billing.services.statements import statements_after_issue

    statements_after_issue(invoices=[inv], send=False, actor=actor)
    return inv


def _move(
    invoice: Invoice, source: str, target: str, stamp: str, *, refusal: str
) -> tuple[Invoice, bool]:
    """Lock the invoice and move it from ``source`` to ``target``, stamping ``stamp`` now;
    False if it was at ``target`` already (a repeat is harmless), Conflict from any other
    status."""
    inv = _locked(invoice)
    if inv.status == target:
        return inv, False
    if inv.status != source:
        raise Conflict(f"Invoice {inv} is {inv.get_status_display().lower()}: {refusal}")
    inv.status = target
    setattr(inv, stamp, timezone.now())
    inv.save(update_fields=["status", stamp])
    return inv, True


@transaction.atomic
def invoice_mark_paid(*, invoice: Invoice, actor=None, api_key=None) -> Invoice:
    inv, moved = _move(invoice, InvoiceStatus.ISSUED, InvoiceStatus.PAID, "paid_at",
                       refusal="only issued invoices can be marked paid.")
    if not moved:
        return inv
    audit_record(action="invoice.mark_paid", actor=actor, api_key=api_key,
                 target=str(inv.public_id), detail={"number": inv.number})
    return inv


def _release(inv: Invoice) -> None:
    """Its billed periods may be billed again, and the adjustments it carried are pending
    again (for the tenant's next invoice)."""
    BilledPeriod.objects.filter(invoice=inv).update(active=False)
    Adjustment.objects.filter(invoice=inv).update(invoice=None)


@transaction.atomic
def invoice_void(*, invoice: Invoice, actor=None, api_key=None) -> Invoice:
    """Void a draft (its consumption can be billed again). Issued invoices are voided only
    by a credit note (:func:`credit_note_create`)."""
    inv, moved = _move(invoice, InvoiceStatus.DRAFT, InvoiceStatus.VOID, "voided_at",
                       refusal="void it with a credit note.")
    if not moved:
        return inv
    _release(inv)
    audit_record(action="invoice.void", actor=actor, api_key=api_key, target=str(inv.public_id))
    return inv


# credit notes (full, partial, of adjustments) live in billing.services.credit_notes
from billing.services.credit_notes import credit_note_create  # noqa: E402, F401
