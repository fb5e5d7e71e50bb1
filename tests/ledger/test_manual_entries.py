"""Entries a manager books by hand, checked by hand arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.models import InvoiceStatus
from billspree.core.timefmt import local_date
from ledger.models import EntryKind, LedgerEntry
from ledger.selectors.invoices import PayState, invoices_money
from ledger.services.accounts import account_for_tenant
from ledger.services.entries import entry_record
from ledger.services.payments import payment_record
from tests.billing.builders import make_house
from tests.conftest import api_client
from tests.ledger.builders import issued

D = Decimal


@pytest.fixture
def acct(in_org_a):
    house = make_house()
    return (in_org_a, house, account_for_tenant(house.tenant, "EUR"),
            local_date(timezone.now(), in_org_a.org))


def test_write_off_of_an_invoice_closes_it_and_lowers_the_balance(acct):
    w, house, account, today = acct
    start = account.balance
    inv = issued(house.tenant, house.bp, "45.00")
    payment_record(account=account, amount=D("40.00"), received_on=today,
                   invoices=[(inv.pk, None)])
    entry_record(account=account, kind=EntryKind.WRITE_OFF, amount=D("5.00"),
                 booked_on=today, description="Small difference", invoice=inv)
    assert invoices_money([inv.pk], today)[inv.pk].state == PayState.PAID
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.PAID
    account.refresh_from_db()
    assert account.balance == start  # 45 − 40 − 5
    with pytest.raises(ValidationError, match="open"):
        entry_record(account=account, kind=EntryKind.WRITE_OFF, amount=D("1.00"),
                     booked_on=today, description="again", invoice=inv)


def test_refund_pays_out_credit_and_never_more(acct):
    w, house, account, today = acct
    payment_record(account=account, amount=D("30.00"), received_on=today)
    account.refresh_from_db()
    credit = -account.balance
    with pytest.raises(ValidationError, match="credit"):
        entry_record(account=account, kind=EntryKind.REFUND, amount=credit + D("0.01"),
                     booked_on=today, description="Too much")
    entry_record(account=account, kind=EntryKind.REFUND, amount=credit, booked_on=today,
                 description="Refund of the overpayment")
    account.refresh_from_db()
    assert account.balance == D("0")


def test_opening_balance_once_and_bad_input_changes_nothing(acct):
    w, house, account, today = acct
    n = LedgerEntry.objects.count()
    for kwargs, field in [({"amount": D("0")}, "amount"), ({"amount": D("1.001")}, "amount"),
                          ({"description": " "}, "description"),
                          ({"kind": "payment"}, "kind")]:
        args = {"account": account, "kind": EntryKind.OPENING_BALANCE, "amount": D("12.00"),
                "booked_on": today, "description": "From the old system", **kwargs}
        with pytest.raises(ValidationError) as err:
            entry_record(**args)
        assert field in err.value.message_dict
    assert LedgerEntry.objects.count() == n
    entry_record(account=account, kind=EntryKind.OPENING_BALANCE, amount=D("-12.00"),
                 booked_on=today, description="Credit from the old system")
    with pytest.raises(ValidationError, match="already"):
        entry_record(account=account, kind=EntryKind.OPENING_BALANCE, amount=D("1.00"),
                     booked_on=today, description="twice")


def test_api_books_an_adjustment_and_a_viewer_key_cannot(acct):
    w, house, account, today = acct
    url = f"/api/v1/accounts/{account.public_id}/entries/"
    body = {"kind": "adjustment", "amount": "7.50", "booked_on": today.isoformat(),
            "description": "Key replacement"}
    assert api_client(w.read_key).post(url, body, format="json").status_code == 403
    res = api_client(w.write_key).post(url, body, format="json")
    assert res.status_code == 201, res.json()
    assert res.json()["kind"] == "adjustment"
    bad = api_client(w.write_key).post(url, {**body, "amount": "abc"}, format="json")
    assert bad.status_code == 400 and "amount" in str(bad.json())
    listed = api_client(w.read_key).get(url).json()
    assert listed["results"][0]["description"] == "Key replacement"


def test_portal_books_a_write_off_and_shows_errors_on_the_field(acct):
    from tests.conftest import login_client

    w, house, account, today = acct
    inv = issued(house.tenant, house.bp, "20.00")
    client = login_client(w.manager, w.org)
    url = f"/ledger/accounts/{account.public_id}/entries/new/"
    page = client.get(url).content.decode()
    assert inv.number in page
    bad = client.post(url, {"kind": "write_off", "amount": "25.00", "booked_on": today,
                            "description": "Goodwill", "invoice": str(inv.public_id)})
    assert bad.status_code == 400 and "Only 20.00 EUR is open" in bad.content.decode()
    ok = client.post(url, {"kind": "write_off", "amount": "20.00", "booked_on": today,
                           "description": "Goodwill", "invoice": str(inv.public_id)})
    assert ok.status_code == 302
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.PAID
    assert login_client(w.viewer, w.org).get(url).status_code == 403
