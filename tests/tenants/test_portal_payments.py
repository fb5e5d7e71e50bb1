"""What a tenant owes, in the tenant portal (issue 15): home, the invoice list and an invoice
show the amount due, the due date (the statement's: issue date + the organization's payment
terms) and whether it is paid, due or overdue, with how to pay; an invoice explains its
meter multiplier as the PDF does (register 9,744.64 → 10,045.05 × 20 = 6,008.2 kWh)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing import services
from billing.models import Invoice
from billing.selectors.statements import invoice_statement_data
from billing.selectors.tenant_portal import invoice_payment
from billspree.core.scoping import organization_context
from meters.models import Meter
from tests.billing.builders import at, make_house, read
from tests.tenants.factories_portal import portal_login

OCT, NOV, DEC = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
BANK = "Alpha Test Bank\nIBAN: DE00 1111 2222 3333 4444 55"


def _text(response) -> str:
    html = response.content.decode()
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&nbsp;", " ").split())


@pytest.fixture
def billed(world_a, django_capture_on_commit_callbacks):
    """A CT-metered flat (multiplier 20) billed for October and November; October paid."""
    org = world_a.org
    org.payment_details, org.payment_terms_days = BANK, 14
    org.save()
    with organization_context(org), django_capture_on_commit_callbacks(execute=True):
        h = make_house(flat="0.25", initial="9000")
        Meter.objects.filter(pk=h.meter.pk).update(multiplier=D("20"))
        read(h.meter, (at(OCT), "9700"), (at(NOV), "9744.64"), (at(DEC), "10045.05"))
        [october] = services.invoice_create_draft(subscriptions=[h.subscription], start=OCT,
                                                  end=NOV)
        [november] = services.invoice_create_draft(subscriptions=[h.subscription], start=NOV,
                                                   end=DEC)
        october = services.invoice_issue(invoice=october)
        november = services.invoice_issue(invoice=november)
        october = services.invoice_mark_paid(invoice=october)
        user, _ = portal_login(h.tenant, h.tenant.email, world_a.admin)
    client = Client()
    client.force_login(user)
    return client, october, november


def _backdate(invoice: Invoice, days: int) -> Invoice:
    """Issued ``days`` ago (an immutable invoice: only the test rewrites history)."""
    from django.db import connection

    with connection.cursor() as cur:  # the immutability trigger guards the row
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cur.execute("ALTER TABLE billing_invoice DISABLE TRIGGER USER")
        cur.execute("UPDATE billing_invoice SET issued_at = %s WHERE id = %s",
                    [timezone.now() - timedelta(days=days), invoice.pk])
        cur.execute("ALTER TABLE billing_invoice ENABLE TRIGGER USER")
    return Invoice.objects.unscoped().select_related(
        "organization", "billing_point__property").get(pk=invoice.pk)


def test_the_due_date_is_the_one_printed_on_the_statement(billed, world_a):
    _, october, november = billed
    with organization_context(world_a.org):
        for inv in (october, november):
            printed = invoice_statement_data(invoice=inv)
            assert invoice_payment(inv).due_on == printed.due_on is not None
        assert invoice_payment(october).state == "paid"
        assert invoice_payment(november).state == "due"
        assert invoice_payment(november).amount_due == november.total


def test_an_issued_invoice_past_its_due_date_is_overdue(billed, world_a):
    client, _, november = billed
    november = _backdate(november, 20)  # 14 days' terms: 6 days overdue
    with organization_context(world_a.org):
        payment = invoice_payment(november)
    assert (payment.state, payment.days_overdue) == ("overdue", 6)
    page = _text(client.get(reverse("my_billing:invoice", args=[november.public_id])))
    assert "Overdue by 6 days — please pay now" in page
    home = _text(client.get(reverse("my_billing:latest")))
    assert "Overdue — please pay now" in home


def _due(invoice, world) -> date:
    """The issue day where the property is (not where the test runs: near midnight UTC
    the two differ) plus the organization's 14 days."""
    with organization_context(world.org):
        zone = ZoneInfo(str(Invoice.objects.select_related("billing_point__property")
                            .get(pk=invoice.pk).billing_point.property.time_zone))
    return invoice.issued_at.astimezone(zone).date() + timedelta(days=14)


def test_home_says_what_is_due_by_when_and_how_to_pay(billed, world_a):
    client, october, november = billed
    due = _due(november, world_a)
    text = _text(client.get(reverse("my_billing:latest")))
    assert f"Amount due {november.total:,.2f} EUR by {due.day} {due:%B %Y}" in text
    assert "IBAN: DE00 1111 2222 3333 4444 55" in text
    assert "Paid" in text and october.number in text  # the latest invoices, with their state


def test_nothing_due_says_so(billed, world_a):
    client, _, november = billed
    with organization_context(world_a.org):
        services.invoice_mark_paid(invoice=november)
    text = _text(client.get(reverse("my_billing:latest")))
    assert "Nothing to pay" in text and "How to pay" not in text


def test_the_invoice_list_shows_amount_due_date_and_state_of_each(billed, world_a):
    client, october, november = billed
    response = client.get(reverse("my_billing:invoices"))
    html = response.content.decode()
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    row = {inv.number: next(" ".join(re.sub(r"<[^>]+>", " ", r).replace("&nbsp;", " ").split())
                            for r in rows if inv.number in r) for inv in (october, november)}
    due = _due(november, world_a)
    assert f"{november.total:,.2f} EUR" in row[november.number]
    assert f"{due.day} {due:%b %Y}" in row[november.number]
    assert "Due" in row[november.number] and "Paid" not in row[november.number]
    assert "Paid" in row[october.number]
    assert 'data-label="Amount"' in html  # a labelled card on a phone


def test_the_invoice_explains_the_multiplier_as_the_pdf_does(billed):
    client, _, november = billed
    text = _text(client.get(reverse("my_billing:invoice", args=[november.public_id])))
    assert "register 9,744.64 → 10,045.05 × 20 = 6,008.2 kWh" in text
    assert "multiplier × 20" in text
    assert "Download statement (PDF)" in text
    assert "How to pay" in text
    november.refresh_from_db()
    if november.payment_reference:  # the slip's reference (RF: groups of 4), not the number
        ref = november.payment_reference
        assert " ".join(ref[i:i + 4] for i in range(0, len(ref), 4)) in text
    else:
        assert "Reference: " + november.number in text


def test_a_paid_invoice_offers_no_payment(billed):
    client, october, _ = billed
    text = _text(client.get(reverse("my_billing:invoice", args=[october.public_id])))
    assert "Paid on" in text and "Nothing left to pay" in text
    assert "How to pay" not in text
