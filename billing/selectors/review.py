"""Draft review: each draft beside the previous period of its billing point.

For every draft, the *previous invoice* is the latest issued (or paid) regular invoice of
the same billing point, in the same currency, whose period ended at or before the draft's
began (whoever the tenant was: a new tenant using twice as much is worth a look too). The
review shows its total and consumption (per meter type and unit, from the billed periods)
and the change in percent; a change of at least the threshold either way
(``settings.BILL_REVIEW_OUTLIER_PERCENT``, 50 by default) flags the draft as an outlier.
A draft without a previous invoice says so.

Set-based: the previous invoice of every draft is one correlated subquery of the drafts'
own query (:func:`with_previous`), then the previous invoices and the consumption of all
of them are one query each, whatever the number of drafts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery, Sum

from billing.models import BilledPeriod, Invoice, InvoiceKind, InvoiceStatus
from meters.models import MeterType

ZERO = Decimal("0")
HUNDRED = Decimal("100")


def outlier_threshold() -> Decimal:
    """The organization-wide default: ±50 % unless ``BILL_REVIEW_OUTLIER_PERCENT`` says."""
    return Decimal(getattr(settings, "BILL_REVIEW_OUTLIER_PERCENT", 50))


def with_previous(drafts: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """``drafts`` annotated with ``previous_id``: their billing point's latest issued or paid
    regular invoice in the same currency that ended at or before the draft's start."""
    previous = Invoice.objects.filter(
        billing_point=OuterRef("billing_point"), currency=OuterRef("currency"),
        status__in=(InvoiceStatus.ISSUED, InvoiceStatus.PAID), kind=InvoiceKind.REGULAR,
        period_end__lte=OuterRef("period_start"),
    ).order_by("-period_end", "-pk").values("pk")[:1]
    return drafts.annotate(previous_id=Subquery(previous))


def change_percent(current: Decimal, previous: Decimal) -> Decimal | None:
    """(current − previous) / |previous| in percent, to 0.1; None if previous is 0."""
    if not previous:
        return None
    pct = (current - previous) / abs(previous) * HUNDRED
    return pct.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


@dataclass
class UsageChange:
    meter_type: str
    unit: str
    quantity: Decimal | None  # this draft's; None: the previous period had it, this not
    previous: Decimal | None  # None: no previous invoice, or it had no such consumption
    change: Decimal | None = None

    @property
    def label(self) -> str:
        """"Electricity", "Cold water"."""
        return str(dict(MeterType.choices).get(self.meter_type, self.meter_type))


@dataclass
class Comparison:
    """A draft beside its previous invoice (``previous`` None: there is none)."""

    total: Decimal
    previous: Invoice | None = None
    change: Decimal | None = None
    usage: list[UsageChange] = field(default_factory=list)
    outlier: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def previous_total(self) -> Decimal | None:
        return None if self.previous is None else self.previous.total


def _consumption(invoice_ids: Iterable[int]) -> dict[int, dict[tuple[str, str], Decimal]]:
    """Billed consumption per invoice, meter type and unit (adjustments left out): one query."""
    out: dict[int, dict[tuple[str, str], Decimal]] = defaultdict(dict)
    rows = BilledPeriod.objects.filter(
        invoice_id__in=list(invoice_ids), adjustment__isnull=True
    ).values("invoice_id", "meter__type", "meter__unit").annotate(quantity=Sum("quantity"))
    for row in rows:
        out[row["invoice_id"]][(row["meter__type"], row["meter__unit"])] = row["quantity"]
    return out


def _flag(cmp: Comparison, threshold: Decimal) -> None:
    def over(pct: Decimal | None, now: Decimal, before: Decimal | None) -> bool:
        if pct is None:  # from nothing to something is a change worth a look
            return before is not None and not before and bool(now)
        return abs(pct) >= threshold

    if over(cmp.change, cmp.total, cmp.previous_total):
        cmp.reasons.append("total")
    for u in cmp.usage:
        if u.previous is not None and over(u.change, u.quantity or ZERO, u.previous):
            cmp.reasons.append(u.unit)
    cmp.outlier = bool(cmp.reasons)


def _compare(draft: Invoice, previous: Invoice | None,
             usage: dict[int, dict[tuple[str, str], Decimal]], threshold: Decimal) -> Comparison:
    cmp = Comparison(total=draft.total, previous=previous)
    now, before = usage.get(draft.pk, {}), usage.get(previous.pk, {}) if previous else {}
    for key in sorted(set(now) | set(before)):
        q, p = now.get(key), before.get(key)
        cmp.usage.append(UsageChange(key[0], key[1], q, p,
                                     change_percent(q or ZERO, p) if p is not None else None))
    if previous is not None:
        cmp.change = change_percent(draft.total, previous.total)
        _flag(cmp, threshold)
    return cmp


def draft_comparisons(drafts: Iterable[Invoice], *,
                      threshold: Decimal | int | None = None) -> dict[int, Comparison]:
    """Each draft (by pk) beside its previous invoice, in two queries for any number of
    drafts. The drafts should come from :func:`with_previous` (else a third query finds
    their previous invoices)."""
    drafts = list(drafts)
    limit = outlier_threshold() if threshold is None else Decimal(threshold)
    if drafts and not all(hasattr(d, "previous_id") for d in drafts):
        found = dict(with_previous(Invoice.objects.filter(pk__in=[d.pk for d in drafts]))
                     .values_list("pk", "previous_id"))
        for d in drafts:
            d.previous_id = found.get(d.pk)
    prev_ids = {d.previous_id for d in drafts if d.previous_id}
    previous = {p.pk: p for p in Invoice.objects.filter(pk__in=prev_ids).select_related(
        "billing_point__property")} if prev_ids else {}
    usage = _consumption([d.pk for d in drafts] + list(prev_ids)) if drafts else {}
    return {d.pk: _compare(d, previous.get(d.previous_id), usage, limit) for d in drafts}


def attach_comparisons(drafts: list[Invoice], *,
                       threshold: Decimal | int | None = None) -> list[Invoice]:
    """Give each draft its :class:`Comparison` as ``review`` (for the templates)."""
    found = draft_comparisons(drafts, threshold=threshold)
    for d in drafts:
        d.review = found[d.pk]
    return drafts
