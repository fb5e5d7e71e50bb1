"""The financial page (billed vs collected per month, outstanding and overdue by property,
top debtors, aging) and the ledger's entry list behind its "billed" numbers. Every number
links to the list it sums."""

from __future__ import annotations

import calendar
from datetime import date

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views import View

from billing.statements.chart import bar_chart_svg
from billspree.core import charts
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_pages import page_context, paginate
from ledger.forms import parse_day
from ledger.models import EntryKind, LedgerEntry
from ledger.selectors.aging import BUCKETS
from ledger.selectors.finance import (
    BILLED_KINDS,
    billed_vs_collected,
    by_property,
    organization_aging,
    top_debtors,
)

NAV = {"nav_section": "ledger"}


def month_end(first: date) -> date:
    return first.replace(day=calendar.monthrange(first.year, first.month)[1])


def _url(name: str, **params) -> str:
    params = {k: v for k, v in params.items() if v not in (None, "")}
    return reverse(name) + ("?" + urlencode(params) if params else "")


class FinanceView(OrganizationPortalMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        today = organization_today(request)
        org = request.organization
        color = org.brand_color or "#0f766e"
        months = []
        for mm in billed_vs_collected(today):
            chart = charts.month_chart(id=f"billed-collected-{mm.currency.lower()}",
                                       title="Billed vs collected", unit=mm.currency,
                                       months=mm.months, today=today, zone=org.time_zone)
            chart.add(charts.Series(name="Billed", values=mm.billed))
            chart.add(charts.Series(name="Collected", values=mm.collected))
            rows = [{
                "month": first, "billed": b, "collected": c,
                "billed_url": _url("ledger:entry_list", kind="billed", currency=mm.currency,
                                   start=first.isoformat(), end=month_end(first).isoformat()),
                "collected_url": _url("ledger:payment_list", currency=mm.currency,
                                      start=first.isoformat(),
                                      end=month_end(first).isoformat()),
            } for first, b, c in mm.rows]
            months.append({"mm": mm, "chart": chart, "rows": rows[::-1]})
        aging_rows = []
        for row in organization_aging(today):
            svg = bar_chart_svg(labels=[label for _, label in BUCKETS],
                                values=[row.buckets[k] for k, _ in BUCKETS],
                                current=[k != "not_due" for k, _ in BUCKETS],
                                unit=row.currency, color=color, title="Open by age")
            aging_rows.append({"row": row, "svg": mark_safe(svg),  # noqa: S308 (escaped SVG)
                               "cells": [(label, row.buckets[k],
                                          _url("ledger:account_list", bucket=k,
                                               currency=row.currency, sort="selected"))
                                         for k, label in BUCKETS],
                               "total_url": _url("ledger:account_list", currency=row.currency,
                                                 sort="balance"),
                               "overdue_url": _url("ledger:account_list", bucket="overdue",
                                                   currency=row.currency, sort="selected")})
        properties = []
        for pm in by_property(today):
            prop = str(pm.property.public_id) if pm.property else ""
            base = {"property": prop, "currency": pm.row.currency}
            properties.append({
                "pm": pm,
                "total_url": _url("ledger:account_list", **base, sort="selected")
                if prop else "",
                "overdue_url": _url("ledger:account_list", **base, bucket="overdue",
                                    sort="selected") if prop else "",
                "cells": [(pm.row.buckets[k], _url("ledger:account_list", **base, bucket=k,
                                                   sort="selected") if prop else "")
                          for k, _ in BUCKETS],
            })
        return render(request, "ledger/finance.html", {
            **NAV, "today": today, "months": months, "aging_rows": aging_rows,
            "properties": properties, "buckets": BUCKETS, "debtors": top_debtors(today),
        })


class EntryListView(OrganizationPortalMixin, View):
    """Ledger entries of every account, newest first: ``kind`` (an entry kind, or "billed"
    for invoices and fees), ``start``/``end`` (booking days), ``currency``."""

    model = LedgerEntry

    def get(self, request: HttpRequest) -> HttpResponse:
        g = request.GET
        qs = (LedgerEntry.objects.select_related("account__tenant", "invoice", "credit_note",
                                                 "payment")
              .order_by("-booked_on", "-pk"))
        kind = g.get("kind", "")
        if kind == "billed":
            qs = qs.filter(kind__in=BILLED_KINDS)
        elif kind in EntryKind.values:
            qs = qs.filter(kind=kind)
        else:
            kind = ""
        start, end = parse_day(g.get("start", "")), parse_day(g.get("end", ""))
        if start:
            qs = qs.filter(booked_on__gte=start)
        if end:
            qs = qs.filter(booked_on__lte=end)
        currency = g.get("currency", "").strip().upper()[:3]
        if currency:
            qs = qs.filter(account__currency=currency)
        page = paginate(request, qs, 50)
        return render(request, "ledger/entry_list.html", {
            **NAV, **page_context(page, rows="entries"), "kind": kind, "start": start,
            "end": end, "currency": currency,
            "kinds": [("billed", "Billed (invoices and fees)"), *EntryKind.choices],
            "filtered": any([kind, start, end, currency]),
        })
