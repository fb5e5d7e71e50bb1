"""The cost query (``monitoring.selectors.energy.cost_rows``, also the energy report's and
the dashboard's cost) on real invoices and credit notes made through the billing services:
net line amounts less credit-note lines, issued and paid invoices only, by the local month
the invoice period starts in.

A Berlin flat at 0.25/kWh + 9.90 a month (VAT 19 %), 10 kWh a day:

* Sep 2026 (300 kWh → 75.00 + 9.90), paid, then credited by an amount of 5.00 (a
  credit-note line with no invoice line: ``meter_type=""``) → electricity 75.00, "" 4.90;
* Oct 2026 (310 kWh → 77.50 + 9.90), its standing-charge line credited → electricity
  77.50, "" 0.00;
* Nov 2026 credited in full (void), then drafted again (a draft): no cost at all.

Each invoice period begins at local midnight, 22:00 or 23:00 UTC the day before: by UTC
the September invoice would fall in August.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing import services as billing_services
from billing.models import InvoiceStatus, LineKind
from monitoring.selectors import energy_report
from monitoring.selectors.energy import Ref, cost_rows
from tests.billing.builders import at as berlin_at
from tests.billing.builders import make_house, read

pytestmark = pytest.mark.django_db

SEP, OCT, NOV, DEC = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)


@pytest.fixture
def house(in_org_a):
    house = make_house(connected=date(2026, 8, 30), initial="1000", flat="0.25")
    read(house.meter, *[(berlin_at(date(2026, 8, 30) + timedelta(days=n)), str(1000 + 10 * n))
                        for n in range(1, 95)])
    sep, oct_, nov = (billing_services.invoice_create_draft(
        subscriptions=[house.subscription], start=s, end=e)[0]
        for s, e in ((SEP, OCT), (OCT, NOV), (NOV, DEC)))
    for invoice in (sep, oct_, nov):
        billing_services.invoice_issue(invoice=invoice)
    billing_services.invoice_mark_paid(invoice=sep)
    billing_services.credit_note_create(invoice=sep, reason="Goodwill",
                                        amount=Decimal("5.00"))
    billing_services.credit_note_create(invoice=oct_, reason="Standing charge waived",
                                        lines=[oct_.lines.get(kind=LineKind.STANDING)])
    billing_services.credit_note_create(invoice=nov, reason="Wrong tariff")
    billing_services.invoice_create_draft(subscriptions=[house.subscription], start=NOV,
                                          end=DEC)
    sep.refresh_from_db()
    nov.refresh_from_db()
    assert (sep.status, nov.status) == (InvoiceStatus.PAID, InvoiceStatus.VOID)
    assert sep.period_start.date() == date(2026, 8, 31)  # 22:00 UTC
    return house


def _amounts(rows) -> dict:
    return {tuple(v.name if isinstance(v, Ref) else v for v in r.keys.values()) + (r.currency,):
            r.amount for r in rows}


def test_cost_is_net_lines_less_credit_notes_of_issued_and_paid_invoices(house):
    rows = cost_rows(first=SEP, last=date(2026, 12, 31), group_by=("meter_type", "month"))
    assert _amounts(rows) == {
        ("", SEP, "EUR"): Decimal("4.90"),  # 9.90 − the 5.00 credited by amount
        ("", OCT, "EUR"): Decimal("0.00"),  # 9.90 − its credited standing charge
        ("electricity", SEP, "EUR"): Decimal("75.00"),  # paid counts
        ("electricity", OCT, "EUR"): Decimal("77.50"),
    }  # November: void (credited in full) and a draft, no cost
    assert [(r.keys["meter_type"], r.keys["month"]) for r in rows] == [
        ("", SEP), ("", OCT), ("electricity", SEP), ("electricity", OCT)]


def test_cost_counts_by_the_local_month_the_period_starts_in(house):
    # the September invoice begins on 31 Aug at 22:00 UTC: it is September's, not August's
    assert cost_rows(first=date(2026, 8, 1), last=date(2026, 8, 31), group_by=("month",)) == []
    assert _amounts(cost_rows(first=SEP, last=SEP, group_by=("month",))) == {
        (SEP, "EUR"): Decimal("79.90")}
    # the October invoice begins on 30 Sep at 22:00 UTC: not September's
    assert _amounts(cost_rows(first=date(2026, 9, 30), last=date(2026, 9, 30),
                              group_by=("month",))) == {}
    assert _amounts(cost_rows(first=OCT, last=OCT, group_by=("month",))) == {
        (OCT, "EUR"): Decimal("77.50")}


def test_cost_of_chosen_months_is_those_months_rows(house):
    whole = cost_rows(first=date(2025, 12, 1), last=date(2026, 12, 31),
                      group_by=("meter_type", "month"))
    some = cost_rows(first=date(2025, 12, 1), last=date(2026, 12, 31),
                     group_by=("meter_type", "month"), months=[OCT, date(2025, 12, 1), NOV])
    assert some == [r for r in whole if r.keys["month"] in (OCT, NOV)]
    assert some and cost_rows(first=SEP, last=OCT, group_by=("month",), months=[DEC]) == []


def test_cost_by_property_and_billing_point(house):
    report = energy_report(first=SEP, last=date(2026, 11, 30),
                           group_by="property,billing_point,meter_type")
    assert _amounts(report.costs) == {
        (house.prop.name, house.bp.name, "", "EUR"): Decimal("4.90"),
        (house.prop.name, house.bp.name, "electricity", "EUR"): Decimal("152.50"),
    }
    assert report.cost_totals == {"EUR": Decimal("157.40")}
    assert energy_report(first=SEP, last=date(2026, 11, 30), group_by="property",
                         property_id=house.prop.pk + 1000).costs == []


# --- the cost rollup (billing.models.MonthlyCost, kept by triggers) ----------------------------

GROUPINGS = [("meter_type", "month"), ("property", "month"), ("billing_point", "meter_type"),
             ("month",), ()]


def _rollup(house) -> dict:
    from billing.models import MonthlyCost

    return {(c.month, c.meter_type, c.currency): c.amount
            for c in MonthlyCost.objects.filter(billing_point=house.bp)}


def _both(first: date, last: date, groups, **filters):
    from billspree.core.scoping import require_organization
    from monitoring.selectors.energy import cost_rows_filtered

    filters = {"property_id": None, "billing_point_id": None, "meter_id": None,
               "meter_type": None, **filters}
    org = require_organization().pk
    return (cost_rows_filtered(org, first, last, groups, filters, source="rollup"),
            cost_rows_filtered(org, first, last, groups, filters, source="lines"))


def _assert_rollup_is_lines(house, first=date(2026, 8, 1), last=date(2026, 12, 31)):
    for groups in GROUPINGS:
        for filters in ({}, {"property_id": house.prop.pk}, {"meter_type": "electricity"},
                        {"billing_point_id": house.bp.pk}):
            rollup, lines = _both(first, last, groups, **filters)
            assert rollup == lines, (groups, filters)


def test_the_rollup_holds_what_the_lines_say_after_issue_pay_credit_and_void(house):
    # November was issued (rows written), then credited in full and voided (rows gone)
    assert _rollup(house) == {
        (SEP, "", "EUR"): Decimal("4.90"), (SEP, "electricity", "EUR"): Decimal("75.00"),
        (OCT, "", "EUR"): Decimal("0.00"), (OCT, "electricity", "EUR"): Decimal("77.50")}
    _assert_rollup_is_lines(house)
    # November's new draft counts once it is issued
    from billing.models import Invoice

    draft = Invoice.objects.get(billing_point=house.bp, status=InvoiceStatus.DRAFT)
    billing_services.invoice_issue(invoice=draft)
    assert _rollup(house)[(NOV, "electricity", "EUR")] == draft.lines.get(
        kind=LineKind.USAGE).amount
    _assert_rollup_is_lines(house)


def test_the_rollup_follows_a_time_zone_change_and_a_move_to_another_property(house):
    from meters.models import Property

    # in UTC the September invoice (31 Aug 22:00 UTC) is August's, October's September's
    house.prop.time_zone = "UTC"
    house.prop.save()
    months = {m for m, _, _ in _rollup(house)}
    assert months == {date(2026, 8, 1), SEP}
    _assert_rollup_is_lines(house)
    # back in Berlin's zone by moving the billing point to a Zurich property
    zurich = Property.objects.create(name="Zurich block", time_zone="Europe/Zurich")
    house.bp.property = zurich
    house.bp.save()
    assert {m for m, _, _ in _rollup(house)} == {SEP, OCT}
    end = date(2026, 10, 31)
    assert cost_rows(first=SEP, last=end, group_by=("month",)) == _both(SEP, end, ("month",))[1]


def test_only_whole_months_without_a_meter_filter_are_read_from_the_rollup(house):
    from monitoring.selectors.energy import whole_months

    assert whole_months([(SEP, date(2026, 10, 31))]) == [SEP, OCT]
    assert whole_months([(SEP, date(2026, 10, 30))]) is None
    assert whole_months([(date(2026, 9, 2), date(2026, 9, 30))]) is None
    with pytest.raises(ValueError, match="whole months"):
        _both(SEP, date(2026, 9, 30), ("month",), meter_id=house.meter.pk)
