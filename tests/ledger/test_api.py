"""The ledger's REST API: accounts, entries, open items, statement, aging, payments (with
an Idempotency-Key), reversal, allocations; bad input is a 400 naming the field and
changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billspree.core.scoping import organization_context
from billspree.core.timefmt import local_date
from ledger.models import Account, Allocation, LedgerEntry, Payment, PaymentRequest
from ledger.services.accounts import accounts_for
from ledger.services.payments import payment_record
from tests.billing.builders import make_house
from tests.conftest import api_client
from tests.ledger.builders import issued

D = Decimal


@pytest.fixture
def house(in_org_a):
    h = make_house()
    h.account = Account.objects.get(tenant=h.tenant, currency="EUR")
    h.world = in_org_a
    h.today = local_date(timezone.now(), in_org_a.org)
    return h


@pytest.fixture
def client(house):
    return api_client(key=house.world.write_key)


def post(client, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post("/api/v1/payments/", data=json.dumps(body),
                       content_type="application/json", **headers)


def state():
    """Everything a payment request could change."""
    return (Payment.objects.count(), LedgerEntry.objects.count(), Allocation.objects.count(),
            PaymentRequest.objects.count(),
            sorted(Account.objects.values_list("pk", "balance", "last_seq")))


def body(house, amount="40.00", **extra):
    return {"account": str(house.account.public_id), "amount": amount,
            "received_on": house.today.isoformat(), "method": "bank_transfer",
            "reference": "RF18 5390 0754 7034", **extra}


def test_a_payment_replayed_ten_times_is_one_payment_with_identical_answers(house, client):
    inv = issued(house.tenant, house.bp, "100.00")
    before = state()
    first = post(client, body(house, allocations=[{"invoice": str(inv.public_id)}]), key="k-1")
    assert first.status_code == 201, first.json()
    for _ in range(10):
        again = post(client, body(house, allocations=[{"invoice": str(inv.public_id)}]),
                     key="k-1")
        assert again.status_code == 200
        assert again["Idempotent-Replayed"] == "true"
        assert again.content == first.content
    # the body's key is the same key
    same = post(client, body(house, idempotency_key="k-1",
                             allocations=[{"invoice": str(inv.public_id)}]))
    assert same.status_code == 200 and same.json() == first.json()
    after = state()
    assert after[0] == before[0] + 1  # one payment
    assert after[1] == before[1] + 1  # one entry
    data = first.json()
    assert data["amount"] == "40.00" and data["currency"] == "EUR"
    assert [(a["invoice"], a["amount"]) for a in data["allocations"]] == [
        (str(inv.public_id), "40.00")]
    assert data["unallocated"] == "0.00"
    house.account.refresh_from_db()
    assert house.account.balance == D("60.00")


def test_a_key_reused_with_other_content_is_409_and_changes_nothing(house, client):
    issued(house.tenant, house.bp, "100.00")
    assert post(client, body(house), key="k-2").status_code == 201
    before = state()
    for changed in (body(house, amount="41.00"), body(house, note="another"),
                    body(house, received_on=(house.today - timedelta(days=1)).isoformat())):
        r = post(client, changed, key="k-2")
        assert r.status_code == 409, r.json()
        err = r.json()["error"]
        assert err["code"] == "idempotency_key_reused"
        assert "Idempotency-Key" in err["message"]
    header_and_body_differ = post(client, body(house, idempotency_key="other"), key="k-2")
    assert header_and_body_differ.status_code == 400
    assert "idempotency_key" in header_and_body_differ.json()["error"]["fields"]
    assert state() == before


def test_partial_payment_with_allocations_open_items_and_invoice_state(house, client):
    older = issued(house.tenant, house.bp, "100.00")
    newer = issued(house.tenant, house.bp, "50.00")
    r = post(client, body(house, amount="120.00", allocations=[
        {"invoice": str(newer.public_id), "amount": "30.00"}]))
    assert r.status_code == 201, r.json()
    paid = {a["invoice"]: a["amount"] for a in r.json()["allocations"]}
    # as told first, then oldest due first
    assert paid == {str(newer.public_id): "30.00", str(older.public_id): "90.00"}
    items = client.get(f"/api/v1/accounts/{house.account.public_id}/open-items/").json()
    assert [(i["invoice"], i["open"], i["paid"], i["state"]) for i in items] == [
        (str(older.public_id), "10.00", "90.00", "partially_paid"),
        (str(newer.public_id), "20.00", "30.00", "partially_paid")]
    rows = client.get(f"/api/v1/allocations/?invoice={older.public_id}").json()["results"]
    assert [(x["amount"], x["invoice_state"], x["invoice_open"]) for x in rows] == [
        ("90.00", "partially_paid", "10.00")]
    assert rows[0]["payment"] == r.json()["id"]
    account = client.get(f"/api/v1/accounts/{house.account.public_id}/").json()
    assert account["balance"] == "30.00" and account["overdue"] == "0.00"
    assert account["tenant"] == {"id": str(house.tenant.public_id), "name": house.tenant.name}
    entries = client.get(f"/api/v1/accounts/{house.account.public_id}/entries/").json()
    assert entries["count"] == 3
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in entries["results"]] == [
        ("payment", "-120.00", "30.00"), ("invoice", "50.00", "150.00"),
        ("invoice", "100.00", "100.00")]
    assert entries["results"][0]["payment"] == r.json()["id"]
    assert entries["results"][1]["invoice"] == str(newer.public_id)
    # the invoice paid in full by a second payment becomes paid
    r2 = post(client, body(house, amount="10.00"))
    assert r2.status_code == 201
    rows = client.get(f"/api/v1/allocations/?invoice={older.public_id}").json()["results"]
    assert {x["invoice_state"] for x in rows} == {"paid"}
    older.refresh_from_db()
    assert older.status == "paid"


def test_reverse_puts_the_money_back_and_reopens_the_invoice(house, client):
    inv = issued(house.tenant, house.bp, "80.00")
    pay = post(client, body(house, amount="80.00")).json()
    inv.refresh_from_db()
    assert inv.status == "paid"
    url = f"/api/v1/payments/{pay['id']}/reverse/"
    assert client.post(url, data={}, format="json").status_code == 400  # a reason is needed
    r = client.post(url, data={"reason": "Returned by the bank"}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["reversed"] is True and "Returned by the bank" in r.json()["reversal_reason"]
    assert r.json()["unallocated"] == "0.00"
    assert client.post(url, data={"reason": "again"}, format="json").status_code == 200
    inv.refresh_from_db()
    house.account.refresh_from_db()
    assert inv.status == "issued" and house.account.balance == D("80.00")
    assert LedgerEntry.objects.filter(payment__public_id=pay["id"]).count() == 2
    listed = client.get("/api/v1/payments/?reversed=true").json()["results"]
    assert [p["id"] for p in listed] == [pay["id"]]


def test_statement_opening_entries_running_balance_closing_by_hand(house, client):
    t = house.today
    payment_record(account=house.account, amount=D("50.00"), received_on=t - timedelta(days=10))
    payment_record(account=house.account, amount=D("20.00"), received_on=t - timedelta(days=3))
    inv = issued(house.tenant, house.bp, "100.00")  # booked today
    url = f"/api/v1/accounts/{house.account.public_id}/statement/"
    st = client.get(url, {"from": (t - timedelta(days=5)).isoformat(),
                          "to": t.isoformat()}).json()
    assert st["opening"] == "-50.00"
    assert [(e["entry"]["kind"], e["entry"]["amount"], e["running_balance"])
            for e in st["entries"]] == [("payment", "-20.00", "-70.00"),
                                        ("invoice", "100.00", "30.00")]
    assert st["entries"][1]["entry"]["invoice"] == str(inv.public_id)
    assert (st["debits"], st["credits"], st["closing"]) == ("100.00", "-20.00", "30.00")
    everything = client.get(url, {"from": "2020-01-01", "to": t.isoformat()}).json()
    assert everything["opening"] == "0.00" and everything["closing"] == "30.00"
    before = client.get(url, {"from": "2020-01-01",
                              "to": (t - timedelta(days=11)).isoformat()}).json()
    assert before["entries"] == [] and before["closing"] == "0.00"
    bad = client.get(url, {"from": t.isoformat(), "to": (t - timedelta(days=1)).isoformat()})
    assert bad.status_code == 400 and "to" in bad.json()["error"]["fields"]
    assert client.get(url, {"from": "2026-02-30"}).status_code == 400


def test_aging_by_hand_on_a_given_date(house, client):
    terms = house.world.org.payment_terms_days
    inv = issued(house.tenant, house.bp, "100.00")
    issued_day = local_date(inv.issued_at, house.bp.property.time_zone)
    payment_record(account=house.account, amount=D("40.00"), received_on=house.today)
    due = issued_day + timedelta(days=terms)

    def buckets(day, by="organization"):
        r = client.get("/api/v1/aging/", {"date": day.isoformat(), "by": by})
        assert r.status_code == 200, r.json()
        return r.json()["rows"]

    [row] = buckets(due)
    assert (row["currency"], row["not_due"], row["d1_30"], row["total"]) == (
        "EUR", "60.00", "0.00", "60.00")
    [row] = buckets(due + timedelta(days=1))
    assert (row["not_due"], row["d1_30"], row["overdue"]) == ("0.00", "60.00", "60.00")
    [row] = buckets(due + timedelta(days=45))
    assert row["d31_60"] == "60.00"
    [row] = buckets(due + timedelta(days=91), by="account")
    assert row["d90_plus"] == "60.00" and row["account"] == str(house.account.public_id)
    assert row["tenant_name"] == house.tenant.name
    [row] = buckets(due + timedelta(days=61), by="property")
    assert row["d61_90"] == "60.00" and row["property"] == str(house.bp.property.public_id)
    # has_overdue on the account list follows today's date: not yet
    listed = client.get("/api/v1/accounts/", {"has_overdue": "true"}).json()["results"]
    assert str(house.account.public_id) not in [a["id"] for a in listed]
    assert client.get("/api/v1/aging/", {"by": "tenant"}).status_code == 400
    assert client.get("/api/v1/aging/", {"date": "yesterday"}).status_code == 400


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": "abc"}, "amount"),
    ({"amount": 12.5}, "amount"),
    ({"amount": "0"}, "amount"),
    ({"amount": "-5.00"}, "amount"),
    ({"amount": "10.001"}, "amount"),
    ({"amount": "1e400"}, "amount"),
    ({"amount": "NaN"}, "amount"),
    ({"received_on": "2026-13-01"}, "received_on"),
    ({"received_on": "future"}, "received_on"),
    ({"method": "barter"}, "method"),
    ({"account": "00000000-0000-0000-0000-000000000000"}, "account"),
    ({"account": "12"}, "account"),
    ({"allocations": [{"invoice": "00000000-0000-0000-0000-000000000000"}]}, "allocations"),
    ({"allocations": [{"amount": "5.00"}]}, "allocations"),
])
def test_bad_input_is_400_naming_the_field_and_changes_nothing(house, client, change, field):
    issued(house.tenant, house.bp, "100.00")
    if change.get("received_on") == "future":
        change = {"received_on": (house.today + timedelta(days=2)).isoformat()}
    before = state()
    r = post(client, {**body(house), **change}, key="bad-1")
    assert r.status_code == 400, r.json()
    assert field in r.json()["error"]["fields"], r.json()
    assert state() == before
    # and the key is still free for the good request
    assert post(client, body(house), key="bad-1").status_code == 201


def test_allocations_to_another_tenants_invoice_or_more_than_paid_are_refused(house, client):
    other = make_house()
    foreign = issued(other.tenant, other.bp, "10.00")
    mine = issued(house.tenant, house.bp, "100.00")
    before = state()
    for allocations in ([{"invoice": str(foreign.public_id)}],
                        [{"invoice": str(mine.public_id), "amount": "50.00"}],
                        [{"invoice": str(mine.public_id)}, {"invoice": str(mine.public_id)}]):
        r = post(client, body(house, amount="40.00", allocations=allocations))
        assert r.status_code == 400, r.json()
        assert "allocations" in r.json()["error"]["fields"]
    assert state() == before


def test_another_organizations_account_does_not_exist(house, client, world_b):
    with organization_context(world_b.org):
        theirs = Account.objects.get(tenant=make_house().tenant)
    before = state()
    r = post(client, {**body(house), "account": str(theirs.public_id)}, key="x")
    assert r.status_code == 400
    assert "in this organization" in r.json()["error"]["fields"]["account"][0]
    assert state() == before
    assert client.get(f"/api/v1/accounts/{theirs.public_id}/").status_code == 404
    assert client.get(f"/api/v1/accounts/{theirs.public_id}/entries/").status_code == 404


def test_viewers_read_and_writes_need_the_write_scope(house):
    issued(house.tenant, house.bp, "10.00")
    reader = api_client(key=house.world.read_key)
    assert reader.get("/api/v1/accounts/").status_code == 200
    assert reader.get("/api/v1/payments/").status_code == 200
    assert reader.get("/api/v1/aging/").status_code == 200
    before = state()
    assert post(reader, body(house)).status_code == 403
    r = reader.patch(f"/api/v1/accounts/{house.account.public_id}/", data={"parent": None},
                     format="json")
    assert r.status_code == 403
    assert state() == before


def test_parent_is_set_and_refused_with_400_or_409(house, client):
    other = make_house()
    parent = Account.objects.get(tenant=other.tenant)
    url = f"/api/v1/accounts/{house.account.public_id}/"
    r = client.patch(url, data={"parent": str(parent.public_id)}, format="json")
    assert r.status_code == 200 and r.json()["parent"] == str(parent.public_id)
    assert client.get("/api/v1/accounts/", {"parent": str(parent.public_id)}).json()[
        "count"] == 1
    r = client.patch(url, data={"parent": str(house.account.public_id)}, format="json")
    assert r.status_code == 400 and "parent" in r.json()["error"]["fields"]
    chf = Account.objects.get(pk=accounts_for([(other.tenant.pk, "CHF")])[(other.tenant.pk,
                                                                           "CHF")])
    r = client.patch(url, data={"parent": str(chf.public_id)}, format="json")
    assert r.status_code == 400 and "parent" in r.json()["error"]["fields"]
    issued(house.tenant, house.bp, "10.00")  # a balance: it cannot leave its parent
    r = client.patch(url, data={"parent": None}, format="json")
    assert r.status_code == 409
    house.account.refresh_from_db()
    assert house.account.parent_id == parent.pk


def test_account_list_filters(house, client):
    issued(house.tenant, house.bp, "10.00")
    r = client.get("/api/v1/accounts/", {"balance_gt": "5", "currency": "EUR",
                                         "tenant": str(house.tenant.public_id)})
    assert [a["id"] for a in r.json()["results"]] == [str(house.account.public_id)]
    assert r.json()["results"][0]["balance"] == "10.00"
    assert client.get("/api/v1/accounts/", {"balance_gt": "50"}).json()["count"] == 0
    assert client.get("/api/v1/accounts/", {"has_overdue": "maybe"}).status_code == 400
