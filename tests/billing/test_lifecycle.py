"""Drafts, issue (gapless numbers), immutability, paid/void, credit notes, billed at most
once, and bad input (which field, why, nothing changed)."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billing import services
from billing.models import BilledPeriod, CreditNote, Invoice, InvoiceLine, Subscription
from billspree.core.errors import Conflict
from tests.billing.builders import at, make_house, read

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


@pytest.fixture
def house(in_org_a):
    h = make_house()
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    return h


def draft(h):
    [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP, end=OCT)
    return inv


def test_draft_is_stored_with_traced_lines_and_totals_are_sums_of_rounded_lines(house):
    inv = draft(house)
    lines = list(inv.lines.order_by("position"))
    assert [x.amount for x in lines] == [D("9.90"), D("20.00"), D("50.00")]
    assert inv.net_total == sum(x.amount for x in lines) == D("79.90")
    assert inv.tax_total == sum(x.tax_amount for x in lines) == D("15.18")
    assert inv.total == D("95.08") and inv.status == "draft" and inv.number == ""
    usage = lines[1]
    assert usage.meter == house.meter and usage.assignment is not None
    assert (usage.start_value, usage.end_value) == (D("1100"), D("1400"))
    assert usage.start_read_at == at(SEP) and usage.end_read_at == at(OCT)
    assert usage.billed_period.quantity == D("300")


def test_creating_again_is_refused_and_creates_nothing(house):
    draft(house)
    with pytest.raises(ValidationError) as exc:
        draft(house)
    assert "already invoiced" in str(exc.value)
    assert Invoice.objects.count() == 1 and InvoiceLine.objects.count() == 3


def test_the_database_refuses_to_bill_the_same_consumption_twice(house):
    inv = draft(house)
    period = inv.billed_periods.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        BilledPeriod.objects.create(
            invoice=inv, meter=period.meter, assignment=period.assignment,
            start_at=period.start_at + timedelta(days=10), end_at=period.end_at,
            quantity=D("1"),
        )
    # a void invoice releases its consumption: the period can be billed afresh
    services.invoice_void(invoice=inv)
    again = draft(house)
    assert again.pk != inv.pk and again.total == D("95.08")


def test_issue_numbers_gaplessly_and_is_idempotent(house):
    inv = services.invoice_issue(invoice=draft(house))
    assert inv.number == "INV-000001" and inv.status == "issued" and inv.issued_at
    same = services.invoice_issue(invoice=inv)
    assert same.number == "INV-000001"
    other = make_house()
    read(other.meter, (at(SEP), "1100"), (at(OCT), "1200"))
    [second] = services.invoice_create_draft(subscriptions=[other.subscription], start=SEP,
                                             end=OCT)
    assert services.invoice_issue(invoice=second).number == "INV-000002"


def test_issued_invoices_are_immutable_in_services_and_in_the_database(house):
    inv = services.invoice_issue(invoice=draft(house))
    with pytest.raises(Conflict):
        services.invoice_line_add(invoice=inv, description="Extra", quantity=D("1"),
                                  unit_price=D("5"))
    with pytest.raises(Conflict):
        services.invoice_void(invoice=inv)
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=inv.pk).update(total=D("1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.filter(invoice=inv).update(amount=D("0"))
    with pytest.raises(IntegrityError), transaction.atomic():
        InvoiceLine.objects.filter(invoice=inv).delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.filter(pk=inv.pk).update(status="draft")
    inv.refresh_from_db()
    assert inv.total == D("95.08") and inv.lines.count() == 3


def test_paid_then_credit_note_voids_and_allows_rebilling(house):
    inv = services.invoice_issue(invoice=draft(house))
    with pytest.raises(Conflict):
        services.invoice_mark_paid(invoice=services.invoice_void(invoice=draft_other()))
    paid = services.invoice_mark_paid(invoice=inv)
    assert paid.status == "paid" and services.invoice_mark_paid(invoice=paid).status == "paid"
    note = services.credit_note_create(invoice=paid, reason="Meter misread")
    assert note.number == "CN-000001" and note.total == D("-95.08")
    assert [x.amount for x in note.lines.order_by("position")] == [
        D("-9.90"), D("-20.00"), D("-50.00")
    ]
    paid.refresh_from_db()
    assert paid.status == "void" and paid.number == "INV-000001"
    with pytest.raises(Conflict):
        services.credit_note_create(invoice=paid, reason="again")
    fresh = draft(house)
    assert services.invoice_issue(invoice=fresh).number == "INV-000002"


def draft_other():
    other = make_house()
    read(other.meter, (at(SEP), "1100"), (at(OCT), "1200"))
    [inv] = services.invoice_create_draft(subscriptions=[other.subscription], start=SEP, end=OCT)
    return inv


def test_manual_lines_on_drafts(house):
    inv = draft(house)
    line = services.invoice_line_add(invoice=inv, description="Key deposit", quantity=D("2"),
                                     unit_price=D("10.005"), tax_rate=D("19"))
    # 2 × 10.005 = 20.01; VAT 19 % = 3.8019 → 3.80
    assert (line.amount, line.tax_amount) == (D("20.01"), D("3.80"))
    inv.refresh_from_db()
    assert inv.total == D("95.08") + D("23.81")
    usage = inv.lines.get(kind="usage", position=2)
    with pytest.raises(Conflict):
        services.invoice_line_remove(line=usage)
    services.invoice_line_remove(line=line)
    inv.refresh_from_db()
    assert inv.total == D("95.08") and inv.lines.count() == 3


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"description": " ", "quantity": D("1"), "unit_price": D("1")}, "description"),
    ({"description": "x", "quantity": D("0"), "unit_price": D("1")}, "quantity"),
    ({"description": "x", "quantity": D("1"), "unit_price": D("1"), "tax_rate": D("101")},
     "tax_rate"),
])
def test_bad_manual_lines_name_the_field_and_change_nothing(house, kwargs, field):
    inv = draft(house)
    with pytest.raises(ValidationError) as exc:
        services.invoice_line_add(invoice=inv, **kwargs)
    assert field in exc.value.message_dict
    inv.refresh_from_db()
    assert inv.lines.count() == 3 and inv.total == D("95.08")


def test_bad_periods_and_subscriptions_are_refused(house):
    with pytest.raises(ValidationError) as exc:
        services.invoice_preview(subscriptions=[house.subscription], start=OCT, end=SEP)
    assert "end" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.invoice_create_draft(subscriptions=[house.subscription],
                                      start=date(2026, 5, 1), end=date(2026, 6, 1))
    assert "subscription" in exc.value.message_dict  # not subscribed then
    with pytest.raises(ValidationError) as exc:
        services.subscription_create(billing_point=house.bp, plan=house.plan,
                                     start_date=date(2026, 10, 1))
    assert "start_date" in exc.value.message_dict  # one open subscription per billing point
    with pytest.raises(ValidationError) as exc:
        services.subscription_update(subscription=house.subscription, end_date=date(2026, 1, 1))
    assert "end_date" in exc.value.message_dict
    assert Subscription.objects.count() == 1 and Invoice.objects.count() == 0
    assert CreditNote.objects.count() == 0


def test_one_open_subscription_per_billing_point_is_a_database_constraint(house):
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(billing_point=house.bp, plan=house.plan,
                                    start_date=date(2027, 1, 1))


def test_an_overlapping_period_of_the_same_tenant_is_not_invoiced_twice(house):
    draft(house)
    preview = services.invoice_preview(subscriptions=[house.subscription],
                                       start=date(2026, 9, 16), end=date(2026, 10, 16))
    [inv] = preview.invoices
    assert "already_invoiced" in {d.code for d in inv.diagnostics} and not inv.can_bill
    # the consumption up to 1 October is on the first invoice: only 1–15 October is priced
    assert "already_billed" in {d.code for d in inv.diagnostics}
    [usage] = {x.usage.key: x.usage for x in inv.lines if x.usage}.values()
    assert usage.start_at == at(OCT) and usage.end_at == at(date(2026, 10, 16))
    first = Invoice.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(
            tenant=house.tenant, billing_point=house.bp, period_start=at(date(2026, 9, 20)),
            period_end=at(date(2026, 10, 20)), currency="EUR",
        )
    assert Invoice.objects.count() == 1 and Invoice.objects.get() == first
