"""Credit notes: the whole invoice, chosen lines, an amount, or pending adjustments.

* **Full** (no lines, no amount): every line negated; the invoice becomes void and its
  billed periods are released, so the period can be billed afresh.
* **Partial, chosen lines**: each chosen line credited for what is left of it (a line is
  never credited twice); **partial, an amount**: a net amount shared over the invoice's VAT
  rates in proportion to its net per rate (largest remainder, so the parts add up to the
  amount). The invoice stays issued (or paid) and its billed periods stay billed: a goodwill
  or price credit does not un-bill consumption.
* **Pending adjustments** (late data that lowered what a tenant owes for the invoice's
  period, e.g. the outgoing tenant of a back-dated move, who has no later invoice to carry
  it): credited at once instead of waiting for the next invoice; each adjustment is then
  settled by this note (never billed again), which keeps every kWh and day billed once.

VAT of a credit note is computed per rate on its credited net and rounded once
(``tariffs.pricing.vat.vat_summary``), each line carrying its share (``vat_per_line``).
Cash rounding (the step the invoice's rate lists use, when they agree on one) is its own
amount: ``net + tax + cash_rounding = total`` (a database check). Several credit notes
may credit one invoice as long as together they never credit more than its total: checked
here under the invoice's row lock, and by a database trigger (migration 0009).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.models import (
    Adjustment,
    CreditNote,
    CreditNoteLine,
    DocumentKind,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from billspree.core.errors import Conflict
from billspree.core.services import audit_record
from tariffs.pricing.vat import cash_round, minor_unit, vat_per_line, vat_summary, vat_total

ZERO = Decimal("0")
CREDITABLE = (InvoiceStatus.ISSUED, InvoiceStatus.PAID)


def credited_total(invoice: Invoice) -> Decimal:
    """How much of the invoice's total its credit notes have credited so far (positive)."""
    return -(invoice.credit_notes.aggregate(s=Sum("total"))["s"] or ZERO)


def _lock(invoice: Invoice, reason: str) -> Invoice:
    inv = Invoice.objects.select_for_update(of=("self",)).select_related("tenant").get(
        pk=invoice.pk)
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the invoice is credited."]})
    if inv.status not in CREDITABLE:
        raise Conflict(f"Invoice {inv} is {inv.get_status_display().lower()}: only issued or "
                       "paid invoices are credited (void a draft instead).", code="not_issued")
    return inv


@transaction.atomic
def credit_note_create(
    *, invoice: Invoice, reason: str, lines: list[InvoiceLine] | None = None,
    amount: Decimal | None = None, actor=None, api_key=None,
) -> CreditNote:
    """Credit an issued (or paid) invoice: in full (no ``lines``, no ``amount``), chosen
    ``lines`` (each for what is left of it) or a net ``amount``."""
    inv = _lock(invoice, reason)
    if lines and amount is not None:
        raise ValidationError({"amount": ["Credit either chosen lines or an amount, not both."]})
    if not lines and amount is None:
        return _full(inv, reason, actor, api_key)
    rows = _chosen(inv, lines) if lines else _amount(inv, amount)
    return _partial(inv, reason, rows, actor=actor, api_key=api_key)


@transaction.atomic
def credit_note_for_adjustments(
    *, invoice: Invoice, reason: str = "", adjustments: list[Adjustment] | None = None,
    actor=None, api_key=None,
) -> CreditNote:
    """Credit the invoice's pending adjustments that lower what is owed (all of them, or
    the chosen ones) at once, with a partial credit note; each is settled by it."""
    inv = _lock(invoice, reason or "late data")
    pending = Adjustment.objects.select_for_update(of=("self",)).filter(
        original_invoice=inv, invoice__isnull=True, credit_note__isnull=True, amount__lt=0)
    if adjustments is not None:
        pending = pending.filter(pk__in=[a.pk for a in adjustments])
    chosen = list(pending.select_related("meter").order_by("pk"))
    if not chosen:
        raise ValidationError({"adjustments": [
            "No pending adjustment of this invoice lowers what is owed: nothing to credit."]})
    rows = [_Row(None, f"Adjustment: {a.charge}" + (f", meter {a.meter.serial_number}"
                                                     if a.meter else "") + f" — {a.reason}",
                 -a.quantity, a.unit, a.unit_price, a.amount, a.tax_rate) for a in chosen]
    why = reason.strip() or "Late data about this period: " + "; ".join(
        dict.fromkeys(a.reason for a in chosen))
    note = _partial(inv, why, rows, actor=actor, api_key=api_key)
    Adjustment.objects.filter(pk__in=[a.pk for a in chosen]).update(credit_note=note)
    return note


class _Row:
    """One credit note line before VAT: ``amount`` is the (negative) credited net."""

    def __init__(self, line: InvoiceLine | None, description: str, quantity: Decimal,
                 unit: str, unit_price: Decimal, amount: Decimal, tax_rate: Decimal):
        self.line, self.description, self.quantity, self.unit = line, description, quantity, unit
        self.unit_price, self.amount, self.tax_rate = unit_price, amount, tax_rate


def _chosen(inv: Invoice, lines: list[InvoiceLine]) -> list[_Row]:
    ids = {x.pk for x in lines}
    own = {x.pk: x for x in InvoiceLine.objects.filter(invoice=inv, pk__in=ids)}
    if set(own) != ids:
        raise ValidationError({"lines": ["Choose lines of this invoice."]})
    done = dict(CreditNoteLine.objects.filter(invoice_line_id__in=ids).values_list(
        "invoice_line_id").annotate(s=Sum("amount")))
    rows, errors = [], []
    for line in sorted(own.values(), key=lambda x: x.position):
        left = line.amount + (done.get(line.pk) or ZERO)  # credited amounts are negative
        if line.amount <= 0:
            errors.append(f"Line {line.position} ({line.description}) is not a charge: "
                          "there is nothing to credit on it.")
            continue
        if left <= 0:
            errors.append(f"Line {line.position} ({line.description}) is already credited.")
            continue
        share = left / line.amount if line.amount else Decimal(1)
        rows.append(_Row(line, line.description, line.quantity * share, line.unit,
                         line.unit_price, -left, line.tax_rate))
    if errors:
        raise ValidationError({"lines": errors})
    return rows


def _amount(inv: Invoice, amount: Decimal) -> list[_Row]:
    unit = minor_unit(str(inv.currency))
    if amount <= 0 or amount != amount.quantize(unit):
        raise ValidationError({"amount": [
            f"Give a positive net amount in {inv.currency} with at most "
            f"{-unit.as_tuple().exponent} decimals."]})
    nets: dict[Decimal, Decimal] = defaultdict(lambda: ZERO)
    lines = InvoiceLine.objects.filter(invoice=inv).exclude(kind=LineKind.ROUNDING)
    for rate, net in lines.values_list("tax_rate", "amount"):
        nets[rate] += net
    nets = {r: n for r, n in nets.items() if n > 0}
    base = sum(nets.values(), ZERO)
    if not base or amount > base:
        raise ValidationError({"amount": [
            f"At most the invoice's net {base:.2f} {inv.currency} can be credited."]})
    exact = {r: amount * n / base for r, n in sorted(nets.items())}
    parts = {r: x.quantize(unit, ROUND_DOWN) for r, x in exact.items()}
    left = int((amount - sum(parts.values(), ZERO)) / unit)
    for r in sorted(exact, key=lambda r: exact[r] - parts[r], reverse=True)[:left]:
        parts[r] += unit
    return [_Row(None, f"Partial credit (VAT {r.normalize():f} %)", Decimal(1), "", -p, -p, r)
            for r, p in parts.items() if p]


def _cash_step(inv: Invoice) -> Decimal | None:
    """The organization's cash-rounding step for the invoice's currency: the one source
    invoices use too (``tariffs.CashRounding``)."""
    from tariffs.selectors import cash_rounding_step

    return cash_rounding_step(str(inv.currency))


def _partial(inv: Invoice, reason: str, rows: list[_Row], *, actor, api_key) -> CreditNote:
    from billing.services.numbering import document_number_take
    from billing.services.statement_delivery import credit_note_after_create

    currency = str(inv.currency)
    pairs = [(r.tax_rate, r.amount) for r in rows]
    taxes = vat_per_line(pairs, currency=currency)
    net = sum((r.amount for r in rows), ZERO)
    tax = vat_total(vat_summary(pairs, currency=currency))
    rounding = cash_round(net + tax, _cash_step(inv), currency=currency)
    total = net + tax + rounding
    already = credited_total(inv)
    if already - total > inv.total:
        raise ValidationError({"amount": [
            f"Together with the credit notes already issued ({already:.2f} {currency}) this "
            f"would credit {already - total:.2f} of the invoice's {inv.total:.2f} {currency}."]})
    note = CreditNote.objects.create(
        invoice=inv, number=document_number_take(kind=DocumentKind.CREDIT_NOTE),
        reason=reason.strip()[:300], currency=inv.currency, net_total=net, tax_total=tax,
        cash_rounding=rounding, total=total, full=False, issued_at=timezone.now(),
    )
    CreditNoteLine.objects.bulk_create([
        CreditNoteLine(
            organization=inv.organization, credit_note=note, invoice_line=r.line,
            position=n, description=r.description[:300],
            quantity=r.quantity.quantize(Decimal("0.0001"), ROUND_HALF_UP), unit=r.unit,
            unit_price=-abs(r.unit_price), amount=r.amount, tax_rate=r.tax_rate,
            tax_amount=t,
        )
        for n, (r, t) in enumerate(zip(rows, taxes, strict=True), start=1)
    ])
    audit_record(action="credit_note.create", actor=actor, api_key=api_key,
                 target=str(note.public_id),
                 detail={"number": note.number, "invoice": inv.number, "reason": reason,
                         "partial": True, "total": str(total)})
    credit_note_after_create(credit_note=note, actor=actor, api_key=api_key)
    return note


def _refuse_if_adjusted_later(inv: Invoice) -> None:
    """A full credit releases the period to be billed afresh from current data. An
    adjustment of it already on a later invoice (draft or issued) still covers the period:
    the re-bill would leave its usage out (or, undone later, bill it twice). Consumption and
    days are billed once only if that invoice gives the adjustment back first (voiding or
    crediting it in full makes it pending; this note then settles it)."""
    carriers = list(Invoice.objects.filter(
        pk__in=Adjustment.objects.filter(original_invoice=inv, invoice__isnull=False)
        .values("invoice_id")).exclude(status=InvoiceStatus.VOID).order_by("period_start", "pk"))
    if not carriers:
        return
    names = ", ".join(str(c) for c in carriers)
    steps = " and ".join(
        f"void {c}" if c.status == InvoiceStatus.DRAFT else f"Credit {c} in full"
        for c in carriers)
    raise Conflict(
        f"{inv.number} cannot be credited in full: adjustments of its period are already on "
        f"{names}, and billing the period again would not bill each kWh and day once. "
        f"{steps[0].upper() + steps[1:]} first (its adjustments become pending and this "
        f"credit note settles them), then credit {inv.number} in full and bill the periods "
        f"again; or credit chosen lines or an amount of {inv.number} instead.",
        code="adjusted_on_later_invoice")


def _full(inv: Invoice, reason: str, actor, api_key) -> CreditNote:
    """Credit in full: every line negated, the invoice void, its periods billable again."""
    from billing.services.invoice_rows import release
    from billing.services.numbering import document_number_take
    from billing.services.statement_delivery import credit_note_after_create

    if inv.credit_notes.exists():
        raise Conflict(
            f"{inv.number} is partly credited already ({credited_total(inv):.2f} "
            f"{inv.currency}); credit the rest by lines or amount.", code="partly_credited")
    _refuse_if_adjusted_later(inv)
    rounding = getattr(inv, "cash_rounding", ZERO) or ZERO
    note = CreditNote.objects.create(
        invoice=inv, number=document_number_take(kind=DocumentKind.CREDIT_NOTE),
        reason=reason.strip()[:300], currency=inv.currency, net_total=-inv.net_total,
        tax_total=-inv.tax_total, cash_rounding=-rounding, total=-inv.total, full=True,
        issued_at=timezone.now(),
    )
    CreditNoteLine.objects.bulk_create([
        CreditNoteLine(
            organization=inv.organization, credit_note=note, invoice_line=line,
            position=line.position, description=line.description, quantity=line.quantity,
            unit=line.unit, unit_price=-line.unit_price, amount=-line.amount,
            tax_rate=line.tax_rate, tax_amount=-line.tax_amount,
        )
        for line in inv.lines.all()
    ])
    inv.status = InvoiceStatus.VOID
    inv.voided_at = note.issued_at
    inv.save(update_fields=["status", "voided_at"])
    release(inv)
    # the period is billed afresh from current data: its pending deltas are moot
    Adjustment.objects.filter(original_invoice=inv, invoice__isnull=True,
                              credit_note__isnull=True).update(credit_note=note)
    audit_record(action="credit_note.create", actor=actor, api_key=api_key,
                 target=str(note.public_id),
                 detail={"number": note.number, "invoice": inv.number, "reason": reason})
    credit_note_after_create(credit_note=note, actor=actor, api_key=api_key)
    return note


class _DryRun(Exception):
    def __init__(self, data: dict):
        super().__init__("dry run")
        self.data = data


def credit_note_preview(**kwargs) -> dict:
    """What :func:`credit_note_create` would issue (lines, VAT, cash rounding, total), for
    a confirmation page: made in a savepoint and rolled back, so nothing is kept (not even a
    number)."""
    try:
        with transaction.atomic():
            note = credit_note_create(**kwargs)
            raise _DryRun({
                "net_total": note.net_total, "tax_total": note.tax_total,
                "cash_rounding": note.cash_rounding, "total": note.total, "full": note.full,
                "currency": str(note.currency),
                "lines": [(x.description, x.quantity, x.unit, x.amount, x.tax_rate,
                           x.tax_amount) for x in note.lines.order_by("position")],
            })
    except _DryRun as dry:
        return dry.data
