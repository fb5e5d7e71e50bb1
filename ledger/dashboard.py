"""Dashboard cards of the ledger: what tenants owe (outstanding, of which overdue) and what
was collected this month, per currency, each linking to the list behind it."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest
from django.urls import reverse

from billspree.core import timefmt
from billspree.core.dashboard import Activity, Card, amount, by_action
from billspree.core.portal import organization_today
from ledger.selectors.finance import collected_between, organization_aging, outstanding_by_currency


def _values(by_currency: dict[str, Decimal]) -> list[str]:
    return [f"{amount(v)} {c}" for c, v in sorted(by_currency.items(), key=lambda x: -x[1])]


def cards(request: HttpRequest) -> list[Card]:
    today = organization_today(request)
    accounts = reverse("ledger:account_list")
    out = _values(outstanding_by_currency())
    late = {r.currency: r.overdue for r in organization_aging(today) if r.overdue > 0}
    overdue = _values(late)
    collected = _values(collected_between(today.replace(day=1), today))
    month = f"{timefmt.month_name(today, 'long')} {today.year}"
    return [
        Card(label="Balance outstanding", value=out[0] if out else "—", lines=tuple(out[1:]),
             foot="Owed by tenants" if out else "Nobody owes anything",
             url=accounts + "?sort=balance"),
        Card(label="Overdue", value=overdue[0] if overdue else "—", lines=tuple(overdue[1:]),
             foot="Past the due date: see the aging" if overdue else "Nothing overdue",
             url=accounts + "?bucket=overdue&sort=selected", tone="red" if overdue else ""),
        Card(label="Collected this month", value=collected[0] if collected else "—",
             lines=tuple(collected[1:]), foot=f"Payments received in {month}",
             url=reverse("ledger:payment_list") + f"?start={today.replace(day=1).isoformat()}"
                                                  f"&end={today.isoformat()}",
             tone="green" if collected else ""),
    ]


# --- recent activity ----------------------------------------------------------------------

VERBS = {"payment.record": "recorded a payment on the account of",
         "payment.reverse": "reversed a payment on the account of",
         "account.parent": "changed the parent account of",
         "parent_summary.create": "summarised the children's invoices for",
         "account.dunning_pause": "paused reminders for",
         "account.dunning_resume": "resumed reminders for"}


def describe(events) -> dict[int, Activity]:
    """Payments and accounts are named by public id in the events: one query each turns
    them into tenants with a link to the account."""
    import uuid

    from ledger.models import Account, ParentSummary, Payment

    ours = [e for e in by_action(events, "payment.", "account.", "parent_summary.")
            if e.action in VERBS]
    if not ours:
        return {}

    def as_uuid(value):
        try:
            return uuid.UUID(str(value))
        except ValueError:
            return None

    ids = {as_uuid(e.target) for e in ours} - {None}
    payments = {str(p.public_id): p.account for p in Payment.objects.filter(
        public_id__in=ids).select_related("account__tenant")}
    accounts = {str(a.public_id): a for a in Account.objects.filter(
        public_id__in=ids).select_related("tenant")}
    accounts.update({str(x.public_id): x.account for x in ParentSummary.objects.filter(
        public_id__in=ids).select_related("account__tenant")})
    out = {}
    for e in ours:
        account = payments.get(e.target) or accounts.get(e.target)
        d = e.detail if isinstance(e.detail, dict) else {}
        if account is None:
            if e.action == "payment.record":
                n = d.get("payments", "")
                out[e.pk] = Activity(f"recorded {n} payment{'s' if n != 1 else ''}",
                                     rest=f"({d.get('total', '')}, {d.get('source', '')})")
            continue
        rest = f"({d['amount'] if 'amount' in d else d.get('total', '')} {account.currency})" \
            if e.action.startswith("payment.") else ""
        out[e.pk] = Activity(VERBS[e.action], account.tenant.name,
                             reverse("ledger:account_detail", args=[account.public_id]), rest)
    return out
