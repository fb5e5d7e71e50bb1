"""Portal pages of accounts: the list (what each owes and how late), one account (balance,
open items, entries, payments) and its statement of account for a period (page and PDF).
Viewers read everything; recording or reversing payments is in ``payments.py``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.views import View

from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_pages import page_context, paginate
from ledger.forms import period_from
from ledger.models import Account, DunningNotice, Payment
from ledger.selectors.accounts import (
    AccountFilters,
    account_entries,
    account_list,
    account_payments,
    account_statement,
    account_totals,
    open_items,
)
from ledger.selectors.aging import BUCKETS, aging
from ledger.selectors.summaries import summaries_filtered
from ledger.statements import statement_filename, statement_pdf
from meters.models import Property
from tenants.models import Tenant

NAV = {"nav_section": "ledger"}
BUCKET_LABELS = {"overdue": "Overdue (any)", **dict(BUCKETS)}


def _uuid_lookup(model, value: str):
    """The row of public id ``value`` (None for a blank or malformed id or another
    organization's row: a filter on nothing shows nothing, never an error)."""
    import uuid

    try:
        return model.objects.filter(public_id=uuid.UUID(value)).first() if value else None
    except ValueError:
        return None


class AccountListView(OrganizationPortalMixin, View):
    model = Account

    def get(self, request: HttpRequest) -> HttpResponse:
        today = organization_today(request)
        g = request.GET
        prop = _uuid_lookup(Property, g.get("property", ""))
        tenant = _uuid_lookup(Tenant, g.get("tenant", ""))
        bucket = g.get("bucket", "") if g.get("bucket", "") in BUCKET_LABELS else ""
        filters = AccountFilters(
            q=g.get("q", "").strip()[:100], property_id=prop.pk if prop else None,
            tenant_id=tenant.pk if tenant else None, bucket=bucket,
            currency=g.get("currency", "").strip().upper()[:3], sort=g.get("sort", "name"))
        if (g.get("property") and prop is None) or (g.get("tenant") and tenant is None):
            qs = Account.objects.none()
        else:
            qs = account_list(filters, today)
        page = paginate(request, qs, 50)
        return render(request, "ledger/account_list.html", {
            **NAV, **page_context(page, rows="accounts"), "f": filters, "prop": prop,
            "tenant": tenant, "properties": Property.objects.order_by("name"),
            "buckets": BUCKET_LABELS.items(), "bucket_label": BUCKET_LABELS.get(bucket, ""),
            "filtered": any(g.get(k) for k in ("q", "property", "tenant", "bucket", "currency")),
            "selection": prop is not None or bool(bucket), "today": today,
        })


def dunning_pause_url(account: Account) -> str:
    """The dunning pause page (built by the dunning part), or "" while it does not exist."""
    try:
        return reverse("ledger:dunning_pause", args=[account.public_id])
    except NoReverseMatch:
        return ""


class AccountDetailView(OrganizationPortalMixin, View):
    model = Account

    def get(self, request: HttpRequest, id) -> HttpResponse:
        account = get_object_or_404(Account.objects.select_related("tenant", "parent__tenant"),
                                    public_id=id)
        today = organization_today(request)
        entries = paginate(request, account_entries(account), 25)
        payments = Payment.objects.filter(account=account).order_by("-received_on", "-pk")
        n_payments = payments.count()
        [row] = aging(today, by="account", account_ids=[account.pk]) or [None]
        return render(request, "ledger/account_detail.html", {
            **NAV, "account": account, "today": today, "totals": account_totals(account, today),
            "items": open_items(account, today), "payments": account_payments(payments[:30]),
            "more_payments": max(n_payments - 30, 0), "aging": row, "buckets": BUCKETS,
            **page_context(entries, rows="entries"),
            "children": list(account.children.select_related("tenant")),
            "summaries": list(summaries_filtered(account=account)[:12]),
            "reminders": list(DunningNotice.objects.filter(account=account)
                              .select_related("level", "invoice", "fee_entry")
                              .order_by("-run_on", "-pk")[:12]),
            "dunning_pause_url": dunning_pause_url(account),
            "can_record": Role.at_least(request.role, Role.MANAGER),
        })


class AccountStatementView(OrganizationPortalMixin, View):
    """The statement of account for ``?start=&end=`` (default: this year so far), with a
    PDF of the same period (``pdf=True``)."""

    model = Account
    pdf = False

    def get(self, request: HttpRequest, id) -> HttpResponse:
        account = get_object_or_404(Account.objects.select_related("tenant", "organization"),
                                    public_id=id)
        form, start, end = period_from(request.GET, organization_today(request))
        statement = account_statement(account, start, end)
        if self.pdf:
            response = HttpResponse(statement_pdf(statement), content_type="application/pdf")
            response["Content-Disposition"] = (
                f'attachment; filename="{statement_filename(statement)}"')
            return response
        return render(request, "ledger/account_statement.html", {
            **NAV, "account": account, "st": statement, "form": form,
            "query": f"start={start.isoformat()}&end={end.isoformat()}",
        })

