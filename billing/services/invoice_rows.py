"""The rows of draft invoices written set-based (COPY, ids from the sequences): the bill
run's hot path, shared by drafts, re-bills and recomputes; and a draft's totals after a
change (:func:`retotal`)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from io import StringIO
from uuid import uuid4

from django.db import IntegrityError, connection
from django.utils import timezone

from billing.engine import DraftInvoice
from billing.models import (
    Adjustment,
    BilledPeriod,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from tariffs import selectors as tariff_selectors
from tariffs.pricing import vat

INVOICE_COLUMNS = (
    "id, public_id, organization_id, tenant_id, billing_point_id, subscription_id, bill_run_id, "
    "period_start, period_end, currency, status, number, net_total, tax_total, cash_rounding, "
    "total, notes, created_at"
)
PERIOD_COLUMNS = (
    "id, public_id, organization_id, invoice_id, meter_id, assignment_id, start_at, end_at, "
    "quantity, start_read_at, start_value, end_read_at, end_value, estimated, active"
)
LINE_COLUMNS = (
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


def copy_rows(cursor, table: str, columns: str, rows: list[tuple]) -> None:
    """Rows into ``table`` with one ``COPY … FROM STDIN`` (constraints and triggers apply)."""
    if rows:
        data = "".join("\t".join(map(_cell, row)) + "\n" for row in rows)
        cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", StringIO(data))


def new_ids(cursor, table: str, count: int) -> list[int]:
    """``count`` ids from the table's identity sequence (one query), so rows that others
    point at can be COPied with their ids known."""
    if not count:
        return []
    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                   [table, count])
    return [r[0] for r in cursor.fetchall()]


def write_drafts(org, billable: list[DraftInvoice], *, bill_run=None) -> list[Invoice]:
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
        ids = new_ids(cur, "billing_invoice", len(billable))
        period_ids = new_ids(cur, "billing_billedperiod", len(refs))
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
        copy_rows(cur, "billing_invoice", INVOICE_COLUMNS, [
            (i.pk, str(i.public_id), org.pk, d.tenant.pk, d.billing_point.pk, d.subscription.pk,
             run_id, d.start, d.end, d.currency, InvoiceStatus.DRAFT, "", i.net_total,
             i.tax_total, i.cash_rounding, i.total, "", now)
            for i, d in zip(invoices, billable, strict=True)
        ])
        write_children(cur, org, ids, billable, period_ids, refs)
    return invoices


def write_children(cur, org, ids: list[int], billable: list[DraftInvoice],
                    period_ids: list[int], refs: list) -> None:
    """The billed periods and lines of drafts whose rows exist (ids), two COPYs; then the
    pending adjustments they carry are claimed (``adjustments_place``)."""
    copy_rows(cur, "billing_billedperiod", PERIOD_COLUMNS, [
        (pid, str(uuid4()), org.pk, ids[n], r.meter_id, r.assignment_id, r.start_at,
         r.end_at, r.quantity, r.start_read_at, r.start_value, r.end_read_at, r.end_value,
         r.estimated, True)
        for pid, (n, r) in zip(period_ids, refs, strict=True)
    ])
    period_of = {id(r): pid for pid, (_, r) in zip(period_ids, refs, strict=True)}
    copy_rows(cur, "billing_invoiceline", LINE_COLUMNS, [
        row for pk, d in zip(ids, billable, strict=True)
        for row in _line_rows(org, pk, d, period_of)
    ])
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


def retotal(inv: Invoice) -> None:
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


ADJUSTMENT_PERIOD_COLUMNS = (
    "public_id, organization_id, invoice_id, meter_id, assignment_id, start_at, end_at, "
    "quantity, start_read_at, start_value, end_read_at, end_value, estimated, active, "
    "adjustment_id, adjusts_id"
)


def adjustments_place(cur, org, ids: list[int], billable: list) -> None:
    """Claim the pending adjustments the new drafts carry (one UPDATE; a concurrent draft
    that claimed one first makes this one fail whole) and write the usage ones' adjustment
    billed periods (one COPY), each referencing the period it adjusts."""
    carried = [(line.adjustment, inv_id) for inv_id, d in zip(ids, billable, strict=True)
               for line in d.lines if line.adjustment is not None]
    if not carried:
        return
    cur.execute(
        "UPDATE billing_adjustment a SET invoice_id = v.inv "
        "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, inv) "
        "WHERE a.id = v.id AND a.invoice_id IS NULL AND a.credit_note_id IS NULL",
        [[a.pk for a, _ in carried], [i for _, i in carried]],
    )
    if cur.rowcount != len(carried):
        raise IntegrityError("an adjustment was billed or credited meanwhile")
    copy_rows(cur, "billing_billedperiod", ADJUSTMENT_PERIOD_COLUMNS, [
        (str(uuid4()), org.pk, inv_id, a.meter_id, a.assignment_id, a.period_start,
         a.period_end, a.quantity, a.start_read_at, a.start_value, a.end_read_at, a.end_value,
         a.estimated, True, a.pk, a.adjusts_id)
        for a, inv_id in carried if a.meter_id and a.assignment_id
    ])


def release(inv: Invoice) -> None:
    """Its billed periods may be billed again, and the adjustments it carried are pending
    again (for the tenant's next invoice)."""
    BilledPeriod.objects.filter(invoice=inv).update(active=False)
    Adjustment.objects.filter(invoice=inv).update(invoice=None)
