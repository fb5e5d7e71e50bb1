"""Parent summaries as read: lists with what is still open, one summary's children and
invoices (page, API, PDF), and what a payment of it pays first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

from django.db.models import Count, DecimalField, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from billing.selectors.statements import invoice_statement_data, logo_data_uri
from billing.statements.payment import PaymentPart, payment_part
from billing.statements.render import htmls_to_pdf, invoice_statement_html
from billspree.core.payment_refs import grouped_reference
from billspree.core.scoping import require_organization
from billspree.core.timefmt import format_days, local_date
from ledger.models import (
    Account,
    Allocation,
    EntryKind,
    LedgerEntry,
    ParentSummary,
    ParentSummaryItem,
)
from ledger.selectors.invoices import InvoiceMoney, PayState, invoices_money
from tenants.models import Tenant
from tenants.portal import register_scope

ZERO = Decimal("0")

def pending_summary_items(*, first_day: date, last_day: date, parent: Account | None = None,
                          ) -> tuple[dict[int, list[tuple[int, int, Decimal]]], set[int]]:
    """The children's invoices issued ``first_day``–``last_day`` not on a summary yet, by
    parent account id ([(child, invoice, amount)], in issue order), and the ids of every
    parent concerned (one with nothing new too)."""
    children = Account.objects.filter(parent__isnull=False)
    if parent is not None:
        children = children.filter(parent=parent)
    by_child = dict(children.values_list("pk", "parent_id"))
    if not by_child:
        return {}, set()
    entries = (LedgerEntry.objects.filter(
        kind=EntryKind.INVOICE, account_id__in=list(by_child), booked_on__gte=first_day,
        booked_on__lte=last_day, invoice__parent_summary_item__isnull=True,
    ).order_by("account_id", "booked_on", "seq").values_list("account_id", "invoice_id",
                                                              "amount"))
    grouped: dict[int, list[tuple[int, int, Decimal]]] = {}
    for child, invoice, amount in entries:
        grouped.setdefault(by_child[child], []).append((child, invoice, amount))
    return grouped, set(by_child.values())


@dataclass(frozen=True)
class PreviewRow:
    account: Account
    invoices: int
    total: Decimal
    existing: ParentSummary | None


def summaries_preview(*, first_day: date, last_day: date,
                      parent: Account | None = None) -> list[PreviewRow]:
    """What creating the summaries would add, per parent (the confirmation page)."""
    if last_day < first_day:
        return []
    grouped, _ = pending_summary_items(first_day=first_day, last_day=last_day, parent=parent)
    accounts = Account.objects.select_related("tenant").in_bulk(list(grouped))
    existing = {s.account_id: s for s in ParentSummary.objects.filter(
        account_id__in=list(grouped), first_day=first_day, last_day=last_day)}
    rows = [PreviewRow(accounts[pid], len(items), sum((a for _, _, a in items), ZERO),
                       existing.get(pid)) for pid, items in grouped.items()]
    return sorted(rows, key=lambda r: (r.account.tenant.name, str(r.account.currency)))


def summaries_queryset() -> QuerySet[ParentSummary]:
    """Summaries with ``invoices_count`` and ``open_amount`` (one query for a page)."""
    paid = (Allocation.objects.filter(debit=OuterRef("pk")).values("debit")
            .annotate(s=Sum("amount")).values("s"))
    open_ = (LedgerEntry.objects.filter(kind=EntryKind.INVOICE,
                                        invoice__parent_summary_item__summary=OuterRef("pk"))
             .annotate(o=F("amount") - Coalesce(Subquery(paid), ZERO))
             .values("invoice__parent_summary_item__summary").annotate(t=Sum("o"))
             .values("t"))
    count = (ParentSummaryItem.objects.filter(summary=OuterRef("pk")).values("summary")
             .annotate(c=Count("pk")).values("c"))
    return (ParentSummary.objects.select_related("account__tenant")
            .annotate(invoices_count=Coalesce(Subquery(count), 0),
                      open_amount=Coalesce(Subquery(open_, output_field=DecimalField()),
                                           ZERO))
            .order_by("-first_day", "-last_day", "account__tenant__name", "-pk"))


def tenant_summaries(tenant: Tenant) -> QuerySet[ParentSummary]:
    """The tenant portal's scope: the summaries of the logged-in tenant's accounts."""
    return summaries_queryset().filter(account__tenant=tenant)


register_scope("ledger_summary", tenant_summaries)


def summary_state(total: Decimal, open_amount: Decimal) -> str:
    """paid (nothing open), partially_paid, or open."""
    if open_amount <= ZERO:
        return PayState.PAID
    return PayState.PARTIALLY_PAID if open_amount < total else PayState.OPEN


def summaries_filtered(*, account: Account | None = None, start: date | None = None,
                       end: date | None = None) -> QuerySet[ParentSummary]:
    """Summaries of ``account`` whose period overlaps ``start``–``end`` (either open)."""
    qs = summaries_queryset()
    if account is not None:
        qs = qs.filter(account=account)
    if start is not None:
        qs = qs.filter(last_day__gte=start)
    if end is not None:
        qs = qs.filter(first_day__lte=end)
    return qs


@dataclass
class ItemRow:
    item: ParentSummaryItem
    money: InvoiceMoney | None

    @property
    def open(self) -> Decimal:
        return self.money.open if self.money else self.item.amount

    @property
    def paid(self) -> Decimal:
        return self.item.amount - self.open


@dataclass
class ChildBlock:
    account: object
    items: list = field(default_factory=list)
    subtotal: Decimal = ZERO
    open: Decimal = ZERO


def summary_blocks(summary: ParentSummary, today: date | None = None) -> list[ChildBlock]:
    """The children (by name) with their invoices on the summary, what each still owes
    and their subtotals."""
    items = list(summary.items.select_related("invoice", "child__tenant")
                 .order_by("child__tenant__name", "invoice__number"))
    money = invoices_money([i.invoice_id for i in items],
                           today or local_date(timezone.now(), summary.organization))
    blocks: dict[int, ChildBlock] = {}
    for item in items:
        block = blocks.setdefault(item.child_id, ChildBlock(item.child))
        row = ItemRow(item, money.get(item.invoice_id))
        block.items.append(row)
        block.subtotal += item.amount
        block.open += row.open
    return list(blocks.values())


@dataclass(frozen=True)
class OpenShare:
    """One invoice of a summary with something open, in the order a payment pays them."""

    summary_id: int
    invoice_id: int
    child_id: int
    open: Decimal


def summaries_open_shares(summary_ids: list[int]) -> dict[int, list[OpenShare]]:
    """Each summary's invoices still open, **oldest due first across the children** (then
    the older issue, then the child's name and the invoice number): the order a payment of
    the summary pays them. Three queries whatever the number of summaries."""
    items = list(ParentSummaryItem.objects.filter(summary_id__in=summary_ids)
                 .values_list("summary_id", "invoice_id", "child_id", "child__tenant__name",
                              "invoice__number", "invoice__issued_at"))
    money = invoices_money([i[1] for i in items],
                           local_date(timezone.now(), require_organization()))
    rows = []
    for summary_id, invoice_id, child_id, name, number, issued_at in items:
        m = money.get(invoice_id)
        if m is None or m.open <= ZERO:
            continue
        rows.append(((summary_id, m.due_on or date.min, issued_at, name, number),
                     OpenShare(summary_id, invoice_id, child_id, m.open)))
    out: dict[int, list[OpenShare]] = {}
    for _, share in sorted(rows, key=lambda r: r[0]):
        out.setdefault(share.summary_id, []).append(share)
    return out


def summary_payment_part(summary: ParentSummary, amount: Decimal) -> PaymentPart:
    """The payment slip of the summary (QR-bill in CHF, EPC QR in EUR) for ``amount``,
    drawn by the statements' own code; without an IBAN (or a slip the rules refuse) the
    reference is still printed."""
    org = summary.organization
    doc = SimpleNamespace(currency=summary.currency, status="issued", total=amount,
                          payment_reference=summary.payment_reference,
                          tenant=summary.account.tenant,
                          number=f"summary {summary_period(summary)}")
    part = payment_part(organization=org, invoice=doc) if summary.payment_reference \
        else PaymentPart()
    if not part.kind and summary.payment_reference:
        part = PaymentPart(reason=part.reason, reference=summary.payment_reference,
                           reference_display=grouped_reference(summary.payment_reference))
    return part


def summary_pdf(summary: ParentSummary, today: date | None = None) -> bytes:
    """The summary page (with its reference and, where the organization has an IBAN, the
    payment slip for what is still open), then each child invoice's statement as the
    tenant gets it."""
    org = summary.organization
    blocks = summary_blocks(summary, today)
    open_amount = sum((b.open for b in blocks), ZERO)
    page = render_to_string("ledger/summary.html", {
        "summary": summary, "blocks": blocks, "open_amount": open_amount,
        "payment": summary_payment_part(summary, open_amount),
        "s": {"organization": org, "logo_data_uri": logo_data_uri(org)}})
    statements = [invoice_statement_html(invoice_statement_data(invoice=row.item.invoice))
                  for block in blocks for row in block.items]
    return htmls_to_pdf([page, *statements])


def summary_period(summary: ParentSummary) -> str:
    """"1–30 Nov 2026": the inclusive local issue days it covers."""
    return format_days(summary.first_day, summary.last_day)


def summary_filename(summary: ParentSummary) -> str:
    name = "".join(c if c.isalnum() else "-" for c in summary.account.tenant.name)[:40]
    return f"summary-{name}-{summary.first_day:%Y%m%d}-{summary.last_day:%Y%m%d}.pdf"
