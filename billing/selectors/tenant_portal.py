"""What a tenant sees of billing: their issued, paid and void invoices — never drafts —
and the statements of those. Registered as tenant scopes (see :mod:`tenants.portal`), so
the portal's views look invoices up only among the logged-in tenant's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from billing.models import CreditNote, Invoice, InvoiceStatement, InvoiceStatus
from billing.selectors.statements import due_on
from billspree.core.ledger_hooks import invoice_open_amounts
from tenants.models import Tenant
from tenants.portal import register_scope

VISIBLE = (InvoiceStatus.ISSUED, InvoiceStatus.PAID, InvoiceStatus.VOID)


def tenant_invoices(tenant: Tenant) -> QuerySet[Invoice]:
    return (
        Invoice.objects.filter(tenant=tenant, status__in=VISIBLE)
        .select_related("billing_point__property", "statement", "organization")
        .order_by("-period_start", "-pk")
    )


def tenant_statements(tenant: Tenant) -> QuerySet[InvoiceStatement]:
    return InvoiceStatement.objects.filter(
        invoice__tenant=tenant, invoice__status__in=VISIBLE
    ).select_related("invoice")


def tenant_credit_notes(tenant: Tenant) -> QuerySet[CreditNote]:
    return CreditNote.objects.filter(invoice__tenant=tenant, invoice__status__in=VISIBLE)


register_scope("invoice", tenant_invoices)
register_scope("statement", tenant_statements)
register_scope("credit_note", tenant_credit_notes)


def invoice_statement(invoice: Invoice) -> InvoiceStatement | None:
    """The invoice's statement row, or None when none was created yet."""
    try:
        return invoice.statement
    except InvoiceStatement.DoesNotExist:
        return None


@dataclass(frozen=True)
class Payment:
    """What a tenant owes on one invoice: the due date printed on its statement, what is
    still open on it (the ledger's, after part payments; the total when the invoice is
    not on the ledger), and whether it is paid, due, overdue or void (nothing to pay)."""

    state: str  # "paid" | "due" | "overdue" | "void"
    due_on: date | None
    amount_due: Decimal
    days_overdue: int = 0

    @property
    def label(self) -> str:
        return {"paid": "Paid", "due": "Due", "overdue": "Overdue", "void": "Cancelled"}[
            self.state]

    @property
    def badge(self) -> str:
        return {"paid": "badge-green", "due": "badge-amber", "overdue": "badge-red",
                "void": ""}[self.state]


def invoice_payment(invoice: Invoice, today: date | None = None,
                    open_amount: Decimal | None = None) -> Payment:
    """The payment state of an issued, paid or void invoice; "today" is the property's.
    ``open_amount``: what the ledger says is open (looked up when not given)."""
    tz = invoice.billing_point.property.time_zone
    issued_on = timezone.localtime(invoice.issued_at, tz).date() if invoice.issued_at else None
    due = due_on(issued_on, invoice.organization)
    if invoice.status == InvoiceStatus.PAID:
        return Payment("paid", due, Decimal(0))
    if invoice.status != InvoiceStatus.ISSUED:
        return Payment("void", due, Decimal(0))
    today = today or timezone.localtime(timezone.now(), tz).date()
    if open_amount is None:
        open_amount = invoice_open_amounts([invoice.pk]).get(invoice.pk, invoice.total)
    if due is not None and today > due:
        return Payment("overdue", due, open_amount, (today - due).days)
    return Payment("due", due, open_amount)


def invoices_payments(invoices: list[Invoice]) -> None:
    """Set ``.payment`` on each of ``invoices`` (a page of them), with one look-up of the
    open amounts."""
    left = invoice_open_amounts([i.pk for i in invoices if i.status == InvoiceStatus.ISSUED])
    for inv in invoices:
        inv.payment = invoice_payment(inv, open_amount=left.get(inv.pk, inv.total))


@dataclass(frozen=True)
class AmountDue:
    """The sum of a tenant's open invoices in one currency."""

    currency: str
    total: Decimal
    invoices: list  # the open invoices, oldest due first, each with ``.payment``
    overdue: bool

    @property
    def next_due(self) -> date | None:
        return self.invoices[0].payment.due_on if self.invoices else None


def tenant_amounts_due(tenant: Tenant) -> list[AmountDue]:
    """What the tenant owes now, per currency (one query)."""
    open_invoices = list(tenant_invoices(tenant).filter(status=InvoiceStatus.ISSUED))
    invoices_payments(open_invoices)
    by_currency: dict[str, list[Invoice]] = {}
    for inv in open_invoices:
        by_currency.setdefault(str(inv.currency), []).append(inv)
    out = []
    for currency, invoices in sorted(by_currency.items()):
        invoices.sort(key=lambda i: (i.payment.due_on or date.max, i.number))
        out.append(AmountDue(currency, sum((i.payment.amount_due for i in invoices), Decimal(0)),
                             invoices,
                             any(i.payment.state == "overdue" for i in invoices)))
    return out
