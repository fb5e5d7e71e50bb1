"""Parent summaries in the portal, the API and the tenant portal: managers create them for
a period behind a confirmation, viewers read; the pages show children, invoices, what is
open and the PDF; the parent tenant downloads its own — nobody else's."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billspree.core.models import AuditEvent
from billspree.core.scoping import organization_context
from billspree.core.timefmt import local_date
from ledger.models import Account, LedgerEntry, ParentSummary
from ledger.services.accounts import account_for_tenant, account_set_parent
from ledger.services.payments import payment_record
from ledger.services.summaries import parent_summaries_create
from tenants import services as tenant_services
from tests.billing.builders import make_house
from tests.conftest import api_client, login_client
from tests.ledger.builders import issued
from tests.tenants.factories_portal import make_portal_tenant

D = Decimal


@pytest.fixture
def company(in_org_a):
    """Retail Group pays for two shops: 123.45 + 0.05 (A) and 876.50 (B), issued today."""
    w = in_org_a
    shop_a, shop_b = make_house(), make_house()
    parent = account_for_tenant(tenant_services.tenant_create(name="Retail Group AG"), "EUR")
    for shop in (shop_a, shop_b):
        account_set_parent(account=account_for_tenant(shop.tenant, "EUR"), parent=parent)
    invs = [issued(shop_a.tenant, shop_a.bp, "123.45"), issued(shop_a.tenant, shop_a.bp, "0.05"),
            issued(shop_b.tenant, shop_b.bp, "876.50")]
    today = local_date(timezone.now(), w.org)
    return w, parent, shop_a, shop_b, invs, today


def period(today) -> dict:
    return {"first_day": today.isoformat(), "last_day": today.isoformat()}


def test_manager_creates_the_summaries_of_a_period_after_a_confirmation(company):
    w, parent, shop_a, shop_b, invs, today = company
    client = login_client(w.manager, w.org)
    empty = client.get("/ledger/summaries/").content.decode()
    assert "No summaries yet" in empty and "/ledger/summaries/new/" in empty
    assert client.get("/ledger/summaries/new/").status_code == 200
    confirm = client.post("/ledger/summaries/new/", period(today))
    page = confirm.content.decode()
    assert confirm.status_code == 200 and 'name="confirm" value="1"' in page
    assert "Retail Group AG (EUR)" in page and "1,000.00" in page  # the preview
    assert not ParentSummary.objects.exists()  # nothing before the confirmation
    done = client.post("/ledger/summaries/new/", {**period(today), "confirm": "1"})
    [summary] = ParentSummary.objects.all()
    assert done.status_code == 302 and done["Location"] == (
        f"/ledger/summaries/{summary.public_id}/")
    assert summary.total == D("1000.00")
    assert AuditEvent.objects.filter(action="parent_summary.create",
                                   target=str(summary.public_id)).count() == 1
    detail = client.get(done["Location"]).content.decode()
    for inv in invs:
        assert inv.number in detail
    assert "123.50" in detail and "876.50" in detail  # subtotals per child
    assert summary.payment_reference in detail
    assert "No payment has quoted" in detail
    # the parent's account page lists it, with the state and the PDF link
    account_page = client.get(f"/ledger/accounts/{parent.public_id}/").content.decode()
    assert f"/ledger/summaries/{summary.public_id}/summary.pdf" in account_page
    assert "1,000.00" in account_page and "Open" in account_page
    pdf = client.get(f"/ledger/summaries/{summary.public_id}/summary.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_period_that_ends_before_it_starts_is_a_field_error_and_creates_nothing(company):
    w, parent, shop_a, shop_b, invs, today = company
    client = login_client(w.manager, w.org)
    r = client.post("/ledger/summaries/new/", {
        "first_day": today.isoformat(), "last_day": (today - timedelta(days=1)).isoformat(),
        "confirm": "1"})
    assert r.status_code == 400
    assert 'data-field="last_day">The period ends before it starts.' in r.content.decode()
    assert not ParentSummary.objects.exists()
    # a period without invoices: the confirmation says nothing would be created
    old = today - timedelta(days=400)
    r = client.post("/ledger/summaries/new/", {"first_day": old.isoformat(),
                                                "last_day": old.isoformat()})
    assert 'data-testid="summary-preview-empty"' in r.content.decode()


def test_viewers_see_the_summaries_but_cannot_create_them(company):
    w, parent, shop_a, shop_b, invs, today = company
    [summary] = parent_summaries_create(first_day=today, last_day=today)
    viewer = login_client(w.viewer, w.org)
    listing = viewer.get("/ledger/summaries/").content.decode()
    assert "Retail Group AG" in listing and "/ledger/summaries/new/" not in listing
    assert viewer.get(f"/ledger/summaries/{summary.public_id}/").status_code == 200
    assert viewer.get("/ledger/summaries/new/").status_code == 403
    assert viewer.post("/ledger/summaries/new/", {**period(today), "confirm": "1"}
                       ).status_code == 403
    # the list filters by period (overlapping)
    later = viewer.get(f"/ledger/summaries/?start={(today + timedelta(days=1)).isoformat()}")
    assert "No summary matches" in later.content.decode()


def test_the_detail_page_shows_what_is_left_after_a_payment_of_the_summary(company):
    w, parent, shop_a, shop_b, invs, today = company
    [summary] = parent_summaries_create(first_day=today, last_day=today)
    payment_record(account=parent, amount=D("500.00"), received_on=today,
                   reference=summary.payment_reference)
    page = login_client(w.viewer, w.org).get(
        f"/ledger/summaries/{summary.public_id}/").content.decode()
    assert "Partly paid" in page and "500.00" in page  # 1000.00 - 500.00 still open


# --- API -------------------------------------------------------------------------------------


def test_api_create_list_filter_detail_and_pdf(company):
    w, parent, shop_a, shop_b, invs, today = company
    client = api_client(key=w.write_key)
    r = client.post("/api/v1/parent-summaries/", data=json.dumps(period(today)),
                    content_type="application/json")
    assert r.status_code == 201, r.content
    [row] = r.json()
    assert (row["total"], row["open"], row["invoices_count"], row["payment_state"]) == (
        "1000.00", "1000.00", 3, "open")
    assert row["account"] == str(parent.public_id) and row["payment_reference"]
    again = client.post("/api/v1/parent-summaries/", data=json.dumps(period(today)),
                        content_type="application/json")
    assert again.status_code == 200 and again.json()[0]["id"] == row["id"]
    listed = client.get(f"/api/v1/parent-summaries/?account={parent.public_id}"
                        f"&period_from={today.isoformat()}").json()
    assert [x["id"] for x in listed["results"]] == [row["id"]]
    none = client.get(f"/api/v1/parent-summaries/?period_to="
                      f"{(today - timedelta(days=1)).isoformat()}").json()
    assert none["results"] == []
    detail = client.get(f"/api/v1/parent-summaries/{row['id']}/").json()
    subtotals = sorted(c["subtotal"] for c in detail["children"])
    assert subtotals == ["123.50", "876.50"]
    assert sorted(i["number"] for c in detail["children"] for i in c["invoices"]) == sorted(
        i.number for i in invs)
    pdf = client.get(f"/api/v1/parent-summaries/{row['id']}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    # paying it through /payments/ quoting the reference splits it over the children
    pay = client.post("/api/v1/payments/", data=json.dumps({
        "account": str(parent.public_id), "amount": "1000.00",
        "received_on": today.isoformat(), "method": "bank_transfer",
        "reference": row["payment_reference"]}), content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="pay-summary-1")
    assert pay.status_code == 201
    paid = client.get("/api/v1/parent-summaries/?payment_state=paid").json()["results"]
    assert [x["id"] for x in paid] == [row["id"]] and paid[0]["open"] == "0.00"
    assert Account.objects.get(pk=parent.pk).balance == D("0")


def test_api_bad_period_is_400_and_a_read_key_cannot_create(company):
    w, parent, shop_a, shop_b, invs, today = company
    client = api_client(key=w.write_key)
    r = client.post("/api/v1/parent-summaries/", data=json.dumps({
        "first_day": today.isoformat(), "last_day": (today - timedelta(days=1)).isoformat()}),
        content_type="application/json")
    assert r.status_code == 400 and "last_day" in r.json()["error"]["fields"]
    reader = api_client(key=w.read_key)
    assert reader.post("/api/v1/parent-summaries/", data=json.dumps(period(today)),
                       content_type="application/json").status_code == 403
    assert not ParentSummary.objects.exists()
    assert reader.get("/api/v1/parent-summaries/").status_code == 200


# --- tenant portal ---------------------------------------------------------------------------


def test_a_parent_tenant_downloads_its_own_summaries_and_no_one_elses(world_a):
    with organization_context(world_a.org):
        boss = make_portal_tenant(world_a, "KOALA")
        shop = make_portal_tenant(world_a, "WOMBAT")
        boss_acc = Account.objects.get(tenant=boss.tenant)
        shop_acc = Account.objects.get(tenant=shop.tenant)
        account_set_parent(account=shop_acc, parent=boss_acc)
        day = LedgerEntry.objects.get(invoice=shop.invoice).booked_on
        [summary] = parent_summaries_create(first_day=day, last_day=day, parent=boss_acc)
    client = login_client(boss.user)
    page = client.get("/my/account/").content.decode()
    assert 'data-testid="my-summaries"' in page and summary.payment_reference in page
    pdf = client.get(f"/my/account/summaries/{summary.public_id}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    other = login_client(shop.user)
    assert 'data-testid="my-summaries"' not in other.get("/my/account/").content.decode()
    assert other.get(f"/my/account/summaries/{summary.public_id}.pdf").status_code == 404


def test_the_api_list_costs_the_same_queries_for_one_summary_or_three(company):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    w, parent, shop_a, shop_b, invs, today = company
    client = api_client(key=w.write_key)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/parent-summaries/").status_code == 200
        return len(ctx.captured_queries)

    parent_summaries_create(first_day=today, last_day=today)
    queries()  # the key's first use of the day is written once
    one = queries()
    for n in (1, 2):
        shop = make_house()
        other = account_for_tenant(tenant_services.tenant_create(name=f"Group {n}"), "EUR")
        account_set_parent(account=account_for_tenant(shop.tenant, "EUR"), parent=other)
        issued(shop.tenant, shop.bp, "10.00")
    assert len(parent_summaries_create(first_day=today, last_day=today)) == 3
    assert queries() == one
