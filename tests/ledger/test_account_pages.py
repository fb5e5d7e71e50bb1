"""The manager's account pages: record a payment (oldest first or as told), reverse it, the
account page's numbers and the statement of account — numbers computed by hand."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billspree.core.timefmt import local_date
from ledger.models import Account, LedgerEntry, Payment
from ledger.selectors.accounts import account_statement
from ledger.selectors.invoices import PayState, invoices_money
from ledger.services.payments import payment_record
from tests.billing.builders import make_house
from tests.conftest import login_client
from tests.ledger.builders import issued

D = Decimal


@pytest.fixture
def books(in_org_a):
    """A tenant with invoices of 100.00 and 50.00 (issued today, in that order)."""
    w = in_org_a
    house = make_house()
    first = issued(house.tenant, house.bp, "100.00")
    second = issued(house.tenant, house.bp, "50.00")
    account = Account.objects.get(tenant=house.tenant, currency="EUR")
    today = local_date(timezone.now(), w.org)
    return w, account, first, second, today


def _url(account, what=""):
    return f"/ledger/accounts/{account.public_id}/{what}"


def _form(today, **over):
    data = {"amount": "120.00", "received_on": today.isoformat(), "method": "bank_transfer",
            "reference": "Transfer June", "note": "", "allocation": "oldest"}
    data.update(over)
    return data


def test_manager_records_a_payment_oldest_first_and_sees_the_balance(books):
    w, account, first, second, today = books
    client = login_client(w.manager, w.org)
    page = client.get(_url(account, "payments/new/"))
    assert page.status_code == 200
    assert today.isoformat() in page.content.decode()  # received on defaults to today (local)
    response = client.post(_url(account, "payments/new/"), _form(today))
    assert response.status_code == 302 and response["Location"] == _url(account)
    account.refresh_from_db()
    assert account.balance == D("30.00")  # 100 + 50 - 120
    money = invoices_money([first.pk, second.pk], today)
    assert (money[first.pk].paid, money[first.pk].state) == (D("100.00"), PayState.PAID)
    assert (money[second.pk].paid, money[second.pk].open) == (D("20.00"), D("30.00"))
    assert money[second.pk].state == PayState.PARTIALLY_PAID
    page = client.get(_url(account))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Payment of 120.00 EUR recorded. Balance now 30.00 EUR." in html
    assert 'data-testid="balance">30.00 EUR' in html
    assert second.number in html and "Partially paid" in html


def test_payment_to_chosen_invoices_with_amounts(books):
    w, account, first, second, today = books
    client = login_client(w.manager, w.org)
    field = f"invoice_{second.public_id.hex}"
    response = client.post(_url(account, "payments/new/"),
                           _form(today, amount="30.00", allocation="chosen", **{field: "30.00"}))
    assert response.status_code == 302
    money = invoices_money([first.pk, second.pk], today)
    assert money[first.pk].paid == D("0") and money[second.pk].paid == D("30.00")
    account.refresh_from_db()
    assert account.balance == D("120.00")


@pytest.mark.parametrize(("over", "field", "words"), [
    ({"amount": "abc"}, "amount", "number"),
    ({"amount": "0"}, "amount", "greater than or equal to 0.01"),
    ({"amount": "10.001"}, "amount", "2 decimal places"),
    ({"received_on": "2099-01-01"}, "received_on", "in the future"),
    ({"method": "barter"}, "method", "valid choice"),
    ({"allocation": "chosen"}, "allocation", "at least one invoice"),
])
def test_bad_payment_input_names_the_field_and_saves_nothing(books, over, field, words):
    w, account, _, _, today = books
    before = (Payment.objects.count(), LedgerEntry.objects.count())
    client = login_client(w.manager, w.org)
    response = client.post(_url(account, "payments/new/"), _form(today, **over))
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert words in " ".join(form.errors[field])
    assert (Payment.objects.count(), LedgerEntry.objects.count()) == before


def test_more_than_open_on_a_chosen_invoice_is_refused(books):
    w, account, first, second, today = books
    client = login_client(w.manager, w.org)
    field = f"invoice_{second.public_id.hex}"
    response = client.post(_url(account, "payments/new/"),
                           _form(today, amount="80.00", allocation="chosen", **{field: "60.00"}))
    assert response.status_code == 400
    assert "Only 50.00 is open" in response.context["form"].errors[field][0]
    assert not Payment.objects.exists()


def test_viewer_reads_but_cannot_record_or_reverse(books):
    w, account, first, _, today = books
    payment, _ = payment_record(account=account, amount=D("10.00"), received_on=today)
    viewer = login_client(w.viewer, w.org)
    page = viewer.get(_url(account))
    assert page.status_code == 200 and "Record a payment" not in page.content.decode()
    assert viewer.get(_url(account, "payments/new/")).status_code == 403
    assert viewer.post(_url(account, "payments/new/"), _form(today)).status_code == 403
    reverse = f"/ledger/payments/{payment.public_id}/reverse/"
    assert viewer.post(reverse, {"confirm": "1", "reason": "x"}).status_code == 403
    assert Payment.objects.count() == 1
    account.refresh_from_db()
    assert account.balance == D("140.00")


def test_reverse_needs_a_reason_and_reopens_the_invoice(books):
    w, account, first, second, today = books
    payment, _ = payment_record(account=account, amount=D("100.00"), received_on=today)
    client = login_client(w.manager, w.org)
    url = f"/ledger/payments/{payment.public_id}/reverse/"
    assert "Reverse the payment of 100.00" in client.get(url).content.decode()
    response = client.post(url, {"confirm": "1", "reason": ""})
    assert response.status_code == 400 and "reason" in response.context["form"].errors
    account.refresh_from_db()
    assert account.balance == D("50.00")
    response = client.post(url, {"confirm": "1", "reason": "bounced"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.balance == D("150.00")
    assert invoices_money([first.pk], today)[first.pk].paid == D("0")
    assert "reversed" in client.get(_url(account)).content.decode()


def test_statement_of_account_for_a_period_by_hand(books):
    """Invoices 100 + 50 booked today (T), a payment of 120 received T-10 (back-dated)."""
    w, account, first, second, today = books
    payment_record(account=account, amount=D("120.00"), received_on=today - timedelta(days=10))
    before = account_statement(account, today - timedelta(days=30), today - timedelta(days=1))
    assert (before.opening, before.closing) == (D("0"), D("-120.00"))
    assert [x.credit for x in before.lines] == [D("120.00")]
    day = account_statement(account, today, today)
    assert day.opening == D("-120.00")
    assert [x.debit for x in day.lines] == [D("100.00"), D("50.00")]
    assert [x.balance for x in day.lines] == [D("-20.00"), D("30.00")]
    assert day.closing == D("30.00") and day.balanced
    whole = account_statement(account, today - timedelta(days=30), today)
    assert whole.opening == D("0")
    assert [x.balance for x in whole.lines] == [D("-120.00"), D("-20.00"), D("30.00")]
    assert (whole.total_debit, whole.total_credit, whole.closing) == (
        D("150.00"), D("120.00"), D("30.00"))
    assert whole.balanced
    client = login_client(w.viewer, w.org)
    page = client.get(_url(account, "statement/"), {"start": today.isoformat(),
                                                    "end": today.isoformat()})
    html = page.content.decode()
    assert 'data-testid="opening"><strong>-120.00' in html
    assert 'data-testid="closing"><strong>30.00 EUR' in html and "agrees with the ledger" in html
    pdf = client.get(_url(account, "statement.pdf"), {"start": today.isoformat(),
                                                      "end": today.isoformat()})
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    bad = client.get(_url(account, "statement/"), {"start": "2026-02-01", "end": "2026-01-01"})
    assert bad.status_code == 200 and "The end is before the start." in bad.content.decode()


def test_invoice_page_shows_paid_and_open_from_the_ledger(books):
    w, account, first, second, today = books
    payment_record(account=account, amount=D("20.00"), received_on=today,
                   invoices=[(second.pk, None)])
    page = login_client(w.viewer, w.org).get(f"/billing/invoices/{second.public_id}/")
    html = page.content.decode()
    assert 'data-testid="ledger-paid">20.00' in html
    assert 'data-testid="ledger-open">30.00' in html and "Partially paid" in html


def test_account_list_filters_and_pages(books):
    w, account, *_ = books
    client = login_client(w.viewer, w.org)
    html = client.get("/ledger/accounts/", {"sort": "balance"}).content.decode()
    assert account.tenant.name in html and "150.00" in html
    html = client.get("/ledger/accounts/", {"q": "no such tenant"}).content.decode()
    assert "No account matches" in html
    html = client.get("/ledger/accounts/", {"property": "not-a-uuid"}).content.decode()
    assert "No account matches" in html
    assert client.get("/ledger/accounts/", {"page": "999"}).status_code == 200
    assert client.get("/ledger/payments/").status_code == 200
    assert client.get("/ledger/entries/", {"kind": "billed"}).status_code == 200
