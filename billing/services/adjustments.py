"""Late data: drafts marked stale, issued periods adjusted (the way Kill Bill treats late usage).

Readings, moves and meter changes arrive late. Billing hears of them through the core
signal ``billing_inputs_changed`` (``billspree.core.billing_inputs``), in the transaction
of the change, and answers with what they affect:

1. **Which invoices.** A reading written at ``t`` can change a billed period only if ``t``
   lies between the readings its boundaries were measured from (``start_read_at`` …
   ``end_read_at``), or the period's end was extrapolated and ``t`` is the first reading
   after it (one SQL for the whole batch, so gateway polls stay cheap). A move or a meter
   change touches the non-void invoices of its billing point that overlap it.
2. **What the period should be.** The engine prices each affected period again from
   current data as if its invoices did not exist (``engine.compute(rerate_of=…)``) and
   the result is compared, per tenant and per charge (rule, meter, VAT rate), with what
   was billed: the invoice's own lines plus every adjustment already recorded for it.
3. **Drafts** that differ are marked *stale* (with the reason): they cannot be issued
   until :func:`invoice_recompute` rebuilds them. **Issued** periods stay as they are: the
   difference becomes :class:`~billing.models.Adjustment` rows (delta quantity and amount)
   billed on the tenant's next invoice (``billing.adjustments``), or credited by the manager.

Because an adjustment is *the difference between the current truth and everything billed
so far*, consumption and standing days are billed exactly once in total whatever the order
of events, and a repeated notification adds nothing. The billing point's row lock
serializes two changes of one billing point.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from uuid import uuid4
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from billing import engine
from billing.adjustments import period_text
from billing.models import (
    Adjustment,
    BilledPeriod,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    Subscription,
)
from billing.services.adjustment_deltas import (
    ZERO,
    Agg,
    Key,
    charge_deltas,
    charge_key,
    delta_summary,
    standing_days,
)
from billing.services.invoice_rows import adjustments_place
from billspree.core.api_fields import money_str
from billspree.core.billing_inputs import (
    ASSIGNMENT,
    OCCUPANCY,
    READING,
    Impact,
    InputChange,
)
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from meters.models import BillingPoint

#: The lines late data prices again (manual lines, cash rounding and adjustment lines are
#: not a function of the readings and occupancy).
RERATED = (LineKind.USAGE, LineKind.STANDING, LineKind.ADDON, LineKind.MINIMUM)
ISSUED = (InvoiceStatus.ISSUED, InvoiceStatus.PAID)
PRICE_STEP = Decimal("0.000001")


# --- the receiver ---------------------------------------------------------------------------


def on_billing_inputs_changed(sender, *, changes: list[InputChange], actor=None, api_key=None,
                              **kwargs) -> list[Impact]:
    """``billing_inputs_changed`` receiver (connected in ``billing.apps``)."""
    return late_data_apply(changes=changes, actor=actor, api_key=api_key)


def late_data_apply(*, changes: list[InputChange], actor=None, api_key=None) -> list[Impact]:
    """Mark affected drafts stale and record adjustments of affected issued periods."""
    invoice_ids = _affected_invoices(changes)
    if not invoice_ids:
        return []
    reason = "; ".join(dict.fromkeys(c.description for c in changes))[:300]
    periods = (
        Invoice.objects.filter(pk__in=invoice_ids, subscription__isnull=False)
        .values_list("subscription_id", "period_start", "period_end").distinct()
    )
    impacts: list[Impact] = []
    for sub_id, start, end in sorted(set(periods), key=lambda p: (p[1], p[0])):
        impacts += _Reconcile(sub_id, start, end, reason, actor, api_key).run()
    return impacts


_READING_CANDIDATES = """
SELECT DISTINCT bp.invoice_id
FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS w(meter_id, lo, hi)
JOIN billing_billedperiod bp
  ON bp.meter_id = w.meter_id AND bp.active AND bp.adjustment_id IS NULL
JOIN billing_invoice i ON i.id = bp.invoice_id AND i.status <> 'void'
WHERE bp.organization_id = %s
  AND (bp.start_read_at IS NULL OR bp.start_read_at > bp.start_at OR bp.start_read_at <= w.hi)
  AND (
    (bp.end_read_at >= bp.end_at AND bp.end_read_at >= w.lo)
    OR ((bp.end_read_at IS NULL OR bp.end_read_at < bp.end_at) AND NOT EXISTS (
        SELECT 1 FROM readings_reading r
        WHERE r.meter_id = bp.meter_id AND r.read_at > bp.end_at AND r.read_at < w.lo))
  )
"""


#: Invoices of the billing point a meter was at whose period holds the readings written:
#: a meter not billed yet on them (a new meter after a replacement) changes them too.
_READING_INVOICES = """
SELECT DISTINCT i.id
FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[]) AS w(meter_id, lo, hi)
JOIN meters_meterassignment a ON a.meter_id = w.meter_id AND a.connected_at <= w.hi
    AND (a.removed_at IS NULL OR a.removed_at >= w.lo)
JOIN billing_invoice i ON i.billing_point_id = a.billing_point_id AND i.status <> 'void'
    AND i.period_start <= w.hi AND i.period_end >= w.lo
WHERE i.organization_id = %s
"""


def _affected_invoices(changes: list[InputChange]) -> set[int]:
    org = require_organization()
    found: set[int] = set()
    windows = [(m, c.start, c.end or c.start) for c in changes if c.kind == READING
               for m in c.meter_ids]
    windows += [w for c in changes if c.kind == READING for w in c.meter_windows]
    if windows:
        args = [[w[0] for w in windows], [w[1] for w in windows], [w[2] for w in windows],
                org.pk]
        with connection.cursor() as cur:
            cur.execute(_READING_CANDIDATES, args)
            found |= {r[0] for r in cur.fetchall()}
            cur.execute(_READING_INVOICES, args)
            found |= {r[0] for r in cur.fetchall()}
    for c in changes:
        if c.kind in (OCCUPANCY, ASSIGNMENT) and c.billing_point_ids:
            rows = Invoice.objects.filter(
                billing_point_id__in=c.billing_point_ids, period_end__gt=c.start
            ).exclude(status=InvoiceStatus.VOID)
            if c.end is not None:
                rows = rows.filter(period_start__lt=c.end)
            found |= set(rows.values_list("pk", flat=True))
    return found


# --- one period of one subscription -----------------------------------------------------------


def late_data_lock(billing_point_id: int) -> None:
    """Serialize late-data decisions about one billing point (and recomputes of its drafts)
    until the transaction ends. An advisory lock taken *last* by a change (after the rows
    the change itself locks: the billing point for a move, the meters' reading states for
    readings) and *first* by a recompute, before any invoice row: no lock cycle with moves,
    ingestion or issuing."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                    [f"billing.late_data:{billing_point_id}"])


class _Reconcile:
    """Compare one period's invoices with the period priced again from current data."""

    def __init__(self, sub_id: int, start: datetime, end: datetime, reason: str, actor,
                 api_key):
        self.sub = Subscription.objects.select_related("billing_point__property").get(pk=sub_id)
        self.bp: BillingPoint = self.sub.billing_point
        self.start, self.end = start, end
        self.reason, self.actor, self.api_key = reason, actor, api_key
        self.tz = str(self.bp.property.time_zone)
        self.period = period_text(start, end, self.tz)

    def run(self) -> list[Impact]:
        late_data_lock(self.bp.pk)
        # the period's invoices locked, so none is issued while we decide (a draft issued
        # meanwhile is seen issued here, and gets an adjustment instead of a stale mark)
        self.group = list(
            Invoice.objects.filter(billing_point=self.bp, period_start__lt=self.end,
                                   period_end__gt=self.start, kind=InvoiceKind.REGULAR)
            .exclude(status=InvoiceStatus.VOID).select_for_update(of=("self",))
            .select_related("tenant").order_by("pk")
        )
        if not self.group:
            return []
        self._proposed()
        self._existing()
        inv_of = {i.tenant_id: i for i in self.group}
        issued = [i for i in self.group if i.status in ISSUED]
        impacts: list[Impact] = []
        self.stale: dict[int, tuple[Invoice, list[str]]] = {}
        for tenant_id in sorted(set(self.proposed) | set(inv_of)):
            inv = inv_of.get(tenant_id)
            if inv is not None and inv.status == InvoiceStatus.DRAFT:
                self._draft(inv)
            elif inv is None and not issued:
                self._newcomer_in_drafts(tenant_id)
            else:
                impacts += self._adjust(tenant_id, inv or issued[0])
        return [_mark_stale(inv, "; ".join(whys), self.period, self.actor, self.api_key)
                for inv, whys in self.stale.values()] + impacts

    def _stale(self, inv: Invoice, why: str) -> None:
        self.stale.setdefault(inv.pk, (inv, []))[1].append(why)

    # what the period should be, and what is billed
    def _proposed(self) -> None:
        zone = ZoneInfo(self.tz)
        preview = engine.compute(
            subscriptions=[self.sub], start=self.start.astimezone(zone).date(),
            end=self.end.astimezone(zone).date(), rerate_of=frozenset(i.pk for i in self.group),
        )
        self.proposed: dict[int, dict[Key, Agg]] = defaultdict(lambda: defaultdict(Agg))
        self.errors: dict[int, list[str]] = {}
        self.names: dict[int, str] = {}
        #: parts of the period nobody can be billed for (vacancy with no owner): moving
        #: them off the tenant who paid would lose them, so nothing is adjusted
        self.unbillable = [x.message for d in preview.invoices if d.tenant is None
                           for x in d.diagnostics if x.severity == "error"]
        for d in preview.invoices:
            if d.tenant is None:
                continue
            self.names[d.tenant.pk] = d.tenant.name
            errors = [x.message for x in d.diagnostics if x.severity == "error"
                      and x.code not in ("already_invoiced", "already_billed")]
            if errors:
                self.errors[d.tenant.pk] = errors
            for line in d.lines:
                if line.kind not in RERATED:
                    continue
                ref = line.usage
                agg = self.proposed[d.tenant.pk][charge_key(
                    line.kind, ref.meter_id if ref else None, line.meter_type,
                    line.description, line.tax_rate, line.charge,
                )]
                agg.add(line.quantity, line.amount, line.tax_amount, line.unit, line.unit_price,
                        standing_days(line.kind, line.start_at, line.end_at))
                if ref is not None:
                    agg.usage, agg.assignment_id = agg.usage or ref, ref.assignment_id

    def _existing(self) -> None:
        self.existing: dict[int, dict[Key, Agg]] = defaultdict(lambda: defaultdict(Agg))
        self.drafted: dict[int, dict[Key, Agg]] = defaultdict(lambda: defaultdict(Agg))
        tenant_of = {i.pk: i.tenant_id for i in self.group}
        draft_ids = {i.pk for i in self.group if i.status == InvoiceStatus.DRAFT}
        lines = InvoiceLine.objects.filter(
            invoice_id__in=tenant_of, kind__in=RERATED
        ).filter(Q(start_at__isnull=True) | Q(start_at__gte=self.start, end_at__lte=self.end))
        for x in lines:
            into = self.drafted if x.invoice_id in draft_ids else self.existing
            agg = into[tenant_of[x.invoice_id]][charge_key(
                x.kind, x.meter_id, x.meter_type, x.description, x.tax_rate, x.charge)]
            agg.add(x.quantity, x.amount, x.tax_amount, x.unit, x.unit_price,
                    standing_days(x.kind, x.start_at, x.end_at))
            agg.assignment_id = agg.assignment_id or x.assignment_id
        self.original_periods = {
            (p.invoice_id, p.meter_id): p.pk for p in BilledPeriod.objects.filter(
                invoice_id__in=tenant_of, adjustment__isnull=True, active=True)
        }
        for a in Adjustment.objects.filter(original_invoice_id__in=tenant_of):
            self.existing[a.tenant_id][(a.kind, a.meter_id, a.meter_type, a.charge,
                                        a.tax_rate.quantize(Decimal("0.01")))].add(
                a.quantity, a.amount, a.tax_amount, a.unit, a.unit_price)

    # drafts
    def _draft(self, inv: Invoice) -> None:
        deltas = charge_deltas(self.proposed.get(inv.tenant_id, {}),
                               self.drafted.get(inv.tenant_id, {}))
        if deltas:
            self._stale(inv, f"{self.reason} ({delta_summary(deltas, inv.currency)})")

    def _newcomer_in_drafts(self, tenant_id: int) -> None:
        if not charge_deltas(self.proposed.get(tenant_id, {}), {}):
            return
        name = self.names.get(tenant_id, "another tenant")
        for inv in self.group:
            if inv.status == InvoiceStatus.DRAFT:
                self._stale(inv, f"{self.reason} ({name} now occupies part of the period and "
                                 "has no draft)")

    # issued periods
    def _adjust(self, tenant_id: int, original: Invoice) -> list[Impact]:
        deltas = charge_deltas(self.proposed.get(tenant_id, {}), self.existing.get(tenant_id, {}))
        if not deltas:
            return []
        name = self.names.get(tenant_id) or original.tenant.name
        errors = self.errors.get(tenant_id, []) + self.unbillable
        if errors:
            return [Impact("adjustment_blocked", original.number, str(original.public_id),
                           f"Changes a period already invoiced as {original.number} "
                           f"({self.period}), but it cannot be priced again for {name}: "
                           + "; ".join(dict.fromkeys(errors)) + " Nothing was adjusted; "
                           "fix this and make the change again.")]
        rows = [self._adjustment(tenant_id, original, key, d, agg) for key, d, agg in deltas]
        Adjustment.objects.bulk_create(rows)
        text = delta_summary(deltas, original.currency)
        net = sum((r.amount for r in rows), ZERO)
        verb = "billed" if net >= 0 else "credited"
        message = (f"Changes a period already invoiced as {original.number} ({self.period}): "
                   f"{text} will be {verb} to {name} as an adjustment on the next invoice "
                   f"(net {net:+.2f} {original.currency}).")
        detail = {"invoice": original.number, "tenant": name, "period": self.period,
                  "net": money_str(net, str(original.currency)), "reason": self.reason,
                  "adjustments": [str(r.public_id) for r in rows]}
        audit_record(action="billing.adjustment.create", actor=self.actor, api_key=self.api_key,
                     target=original.number, detail={**detail, "message": message})
        impacts = [Impact("adjustment", original.number, str(original.public_id), message,
                          detail)]
        return impacts + self._later_drafts_stale(tenant_id, original)

    def _adjustment(self, tenant_id: int, original: Invoice, key: Key, d: Agg,
                    agg: Agg) -> Adjustment:
        kind, meter_id, meter_type, charge, rate = key
        ref = agg.usage
        price = (d.amount / d.quantity).quantize(PRICE_STEP, ROUND_HALF_UP) if d.quantity \
            else agg.unit_price
        return Adjustment(
            organization=original.organization, public_id=uuid4(), original_invoice=original,
            tenant_id=tenant_id, billing_point=self.bp, subscription=self.sub,
            period_start=self.start, period_end=self.end, kind=kind, charge=charge[:300],
            meter_type=meter_type, meter_id=meter_id, assignment_id=agg.assignment_id,
            adjusts_id=self.original_periods.get((original.pk, meter_id)) if meter_id else None,
            quantity=d.quantity, unit=d.unit or agg.unit, unit_price=price, amount=d.amount,
            tax_rate=rate, tax_amount=d.tax,
            start_read_at=ref.start_read_at if ref else None,
            start_value=ref.start_value if ref else None,
            end_read_at=ref.end_read_at if ref else None,
            end_value=ref.end_value if ref else None,
            estimated=bool(ref and ref.estimated), reason=self.reason[:300],
        )

    def _later_drafts_stale(self, tenant_id: int, original: Invoice) -> list[Impact]:
        """A draft of the same tenant after the period would bill the adjustment: until it
        is recomputed it does not carry it."""
        later = Invoice.objects.filter(billing_point=self.bp, tenant_id=tenant_id,
                                       status=InvoiceStatus.DRAFT, period_start__gte=self.end,
                                       kind=InvoiceKind.REGULAR)
        why = f"an adjustment of {original.number} is pending ({self.reason})"
        return [_mark_stale(inv, why, period_text(inv.period_start, inv.period_end, self.tz),
                            self.actor, self.api_key) for inv in later.select_related("tenant")]


def _mark_stale(inv: Invoice, why: str, period: str, actor, api_key) -> Impact:
    label = f"draft {str(inv.public_id)[:8]}"
    Invoice.objects.filter(pk=inv.pk, status=InvoiceStatus.DRAFT).update(
        stale_reason=why[:2000], stale_at=timezone.now()
    )
    message = (f"Marks {label} ({inv.tenant.name}, {period}) stale: {why}. "
               "Recompute it before issuing.")
    audit_record(action="invoice.stale", actor=actor, api_key=api_key,
                 target=str(inv.public_id), detail={"reason": why, "message": message})
    return Impact("draft_stale", label, str(inv.public_id), message)



__all__ = ["adjustments_place", "late_data_apply", "on_billing_inputs_changed"]
