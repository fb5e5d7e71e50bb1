"""Query filters of ``GET /api/v1/invoices/`` (django-filter).

Relations are filtered by public id (UUID), never by primary key: a primary key is not a
valid value (400). An id of another organization matches nothing, like a missing one.

Dates are *local* calendar dates of the invoice's property, as people say them: an
invoice for September in Berlin runs from 2026-09-01T00:00+02:00 (2026-08-31T22:00Z) to
2026-10-01T00:00+02:00, and ``period_to=2026-08-31`` must not find it although its start
falls on 31 Aug in UTC. Both ends of a range are inclusive.
"""

from __future__ import annotations

from datetime import date

import django_filters
from django import forms
from django.db.models import DateField, F, Func, QuerySet
from django.db.models.functions import Cast

from billing.models import Invoice, InvoiceStatus

PROPERTY_ZONE = "billing_point__property__time_zone"


def local_date(instant: str) -> Cast:
    """The local date of an instant column in the billing point's property time zone
    (PostgreSQL ``timezone(zone, timestamptz)``)."""
    return Cast(Func(F(PROPERTY_ZONE), F(instant), function="timezone"), DateField())


class InvoiceFilterForm(forms.Form):
    """A range whose end is before its start is a mistake, not an empty answer."""

    RANGES = (("period_from", "period_to"), ("issued_from", "issued_to"))

    def clean(self) -> dict:
        data = super().clean()
        for first, last in self.RANGES:
            lo, hi = data.get(first), data.get(last)
            if lo and hi and hi < lo:
                self.add_error(last, f"{last} ({hi}) is before {first} ({lo}).")
        return data


def _uuid(field_name: str, what: str) -> django_filters.UUIDFilter:
    return django_filters.UUIDFilter(
        field_name=field_name, help_text=f"Public id (UUID) of the {what}.")


def _date(method: str, help_text: str) -> django_filters.DateFilter:
    return django_filters.DateFilter(method=method, help_text=help_text)


class InvoiceFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices)
    billing_point = _uuid("billing_point__public_id", "billing point")
    subscription = _uuid("subscription__public_id", "subscription")
    tenant = _uuid("tenant__public_id", "tenant billed")
    period_from = _date("filter_period_from", "Invoices whose period includes this local "
                        "date (YYYY-MM-DD) or a later one.")
    period_to = _date("filter_period_to", "Invoices whose period includes this local date "
                      "(YYYY-MM-DD) or an earlier one. With period_from: invoices whose "
                      "period overlaps [period_from, period_to].")
    issued_from = _date("filter_issued_from", "Issued on this local date (YYYY-MM-DD) or "
                        "later (drafts have no issue date).")
    issued_to = _date("filter_issued_to", "Issued on this local date (YYYY-MM-DD) or earlier.")

    class Meta:
        model = Invoice
        fields: list[str] = []
        form = InvoiceFilterForm

    # An invoice covers the local days [start date, end date): its end is exclusive.
    def filter_period_from(self, qs: QuerySet, name: str, value: date) -> QuerySet:
        return qs.alias(_end_day=local_date("period_end")).filter(_end_day__gt=value)

    def filter_period_to(self, qs: QuerySet, name: str, value: date) -> QuerySet:
        return qs.alias(_start_day=local_date("period_start")).filter(_start_day__lte=value)

    def filter_issued_from(self, qs: QuerySet, name: str, value: date) -> QuerySet:
        return qs.alias(_issued_day=local_date("issued_at")).filter(_issued_day__gte=value)

    def filter_issued_to(self, qs: QuerySet, name: str, value: date) -> QuerySet:
        return qs.alias(_issued_day=local_date("issued_at")).filter(_issued_day__lte=value)
