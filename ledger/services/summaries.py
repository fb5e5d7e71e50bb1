"""Parent summaries: a company's children's bills of a period on one document."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from billspree.core.services import audit_record
from ledger.models import (
    Account,
    EntryKind,
    LedgerEntry,
    ParentSummary,
    ParentSummaryItem,
)

ZERO = Decimal("0")


@transaction.atomic
def parent_summaries_create(*, first_day: date, last_day: date, parent: Account | None = None,
                            actor=None, api_key=None) -> list[ParentSummary]:
    """For every parent account (or ``parent``), the summary of the invoices its children
    were issued on ``first_day``–``last_day`` (local issue days). Running it again adds
    only invoices issued since into the same summary; an invoice is on one summary only."""
    if last_day < first_day:
        raise ValidationError({"last_day": ["The period ends before it starts."]})
    children = Account.objects.filter(parent__isnull=False)
    if parent is not None:
        children = children.filter(parent=parent)
    by_child = dict(children.values_list("pk", "parent_id"))
    if not by_child:
        return []
    entries = (LedgerEntry.objects.filter(
        kind=EntryKind.INVOICE, account_id__in=list(by_child), booked_on__gte=first_day,
        booked_on__lte=last_day, invoice__parent_summary_item__isnull=True,
    ).order_by("account_id", "booked_on", "seq").values_list("account_id", "invoice_id",
                                                              "amount"))
    grouped: dict[int, list[tuple[int, int, Decimal]]] = defaultdict(list)
    for child, invoice, amount in entries:
        grouped[by_child[child]].append((child, invoice, amount))
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
        summary.save(update_fields=["total"])
        audit_record(action="parent_summary.create", actor=actor, api_key=api_key,
                     target=str(summary.public_id),
                     detail={"invoices": len(rows), "total": str(summary.total)})
    return list(ParentSummary.objects.filter(
        account_id__in=set(by_child.values()), first_day=first_day, last_day=last_day,
    ).order_by("pk"))
