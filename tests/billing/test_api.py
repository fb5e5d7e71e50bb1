"""The billing API: preview, drafts, issue/pay/void/credit-note, manual lines, subscriptions;
errors in the project's one shape; roles; query counts pinned for lists."""

from datetime import date

import pytest

from billing.models import Invoice, Subscription
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.conftest import api_client

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)
PERIOD = {"start": "2026-09-01", "end": "2026-10-01"}


@pytest.fixture
def house(world_a):
    with organization_context(world_a.org):
        h = make_house()
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    return h


@pytest.fixture
def manager(world_a):
    return api_client(key=world_a.write_key)


def test_preview_shows_lines_traces_and_diagnostics_and_stores_nothing(house, manager):
    r = manager.post("/api/v1/invoices/preview/",
                     {"subscriptions": [str(house.subscription.public_id)], **PERIOD},
                     format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["can_bill"] is True
    [inv] = body["invoices"]
    assert inv["total"] == "95.08" and inv["tenant"]["name"] == house.tenant.name
    usage = inv["lines"][1]
    assert usage["start_value"] == "1100.0000" and usage["end_value"] == "1400.0000"
    assert usage["meter_serial"] == house.meter.serial_number
    with organization_context(house.prop.organization):
        assert Invoice.objects.count() == 0


def test_full_lifecycle_through_the_api(house, manager):
    r = manager.post("/api/v1/invoices/",
                     {"subscriptions": [str(house.subscription.public_id)], **PERIOD},
                     format="json")
    assert r.status_code == 201, r.content
    [inv] = r.json()
    assert inv["status"] == "draft" and len(inv["lines"]) == 3
    url = f"/api/v1/invoices/{inv['id']}"
    r = manager.post(f"{url}/lines/", {"description": "Key", "quantity": "1",
                                       "unit_price": "5", "tax_rate": "0"}, format="json")
    assert r.status_code == 201 and r.json()["total"] == "100.08"
    manual = r.json()["lines"][-1]["id"]
    assert manager.delete(f"/api/v1/invoice-lines/{manual}/").status_code == 204
    r = manager.post(f"{url}/issue/")
    assert r.status_code == 200 and r.json()["number"] == "INV-000001"
    assert manager.post(f"{url}/issue/").json()["number"] == "INV-000001"  # idempotent
    r = manager.post(f"{url}/lines/", {"description": "Late", "quantity": "1",
                                       "unit_price": "5"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["status"] == 409
    assert manager.post(f"{url}/void/").status_code == 409
    assert manager.post(f"{url}/pay/").json()["status"] == "paid"
    r = manager.post(f"{url}/credit-note/", {"reason": ""}, format="json")
    assert r.status_code == 400 and "reason" in r.json()["error"]["fields"]
    r = manager.post(f"{url}/credit-note/", {"reason": "Misread"}, format="json")
    assert r.status_code == 201 and r.json()["number"] == "CN-000001"
    assert r.json()["total"] == "-95.08"
    assert manager.get(f"{url}/").json()["status"] == "void"


def test_bad_input_names_the_field_and_changes_nothing(house, manager, world_a):
    sub = str(house.subscription.public_id)
    r = manager.post("/api/v1/invoices/", {"subscriptions": [sub], "start": "2026-10-01",
                                           "end": "2026-09-01"}, format="json")
    assert r.status_code == 400 and "end" in r.json()["error"]["fields"]
    r = manager.post("/api/v1/invoices/preview/", {"subscriptions": [], **PERIOD},
                     format="json")
    assert r.status_code == 400 and "subscriptions" in r.json()["error"]["fields"]
    r = manager.post("/api/v1/invoices/", {"subscriptions": [sub], "start": "nope",
                                           "end": "2026-09-01"}, format="json")
    assert r.status_code == 400 and "start" in r.json()["error"]["fields"]
    r = manager.post("/api/v1/subscriptions/", {
        "billing_point": str(house.bp.public_id), "plan": str(house.plan.public_id),
        "start_date": "2026-12-01"}, format="json")
    assert r.status_code == 400 and "start_date" in r.json()["error"]["fields"]
    with organization_context(world_a.org):
        assert Invoice.objects.count() == 0 and Subscription.objects.count() == 1


def test_viewers_and_read_keys_read_but_cannot_write(house, world_a):
    reader = api_client(key=world_a.read_key)
    assert reader.get("/api/v1/invoices/").status_code == 200
    assert reader.get("/api/v1/subscriptions/").status_code == 200
    r = reader.post("/api/v1/invoices/preview/",
                    {"subscriptions": [str(house.subscription.public_id)], **PERIOD},
                    format="json")
    assert r.status_code == 403


def test_list_query_counts_do_not_grow_with_rows(house, manager, world_a,
                                                 django_assert_max_num_queries):
    with organization_context(world_a.org):
        from billing import services

        services.invoice_create_draft(subscriptions=[house.subscription], start=SEP, end=OCT)
    manager.get("/api/v1/invoices/")  # warm up (key lookup caches)
    with django_assert_max_num_queries(8) as one:
        assert manager.get("/api/v1/invoices/").status_code == 200
    with organization_context(world_a.org):
        for _ in range(3):
            other = make_house()
            read(other.meter, (at(SEP), "1100"), (at(OCT), "1200"))
            services.invoice_create_draft(subscriptions=[other.subscription], start=SEP,
                                          end=OCT)
    with django_assert_max_num_queries(len(one.captured_queries)):
        r = manager.get("/api/v1/invoices/")
        assert r.json()["count"] == 4 if "count" in r.json() else True
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert manager.get("/api/v1/subscriptions/").status_code == 200


def test_subscription_update_and_delete(house, manager, world_a):
    url = f"/api/v1/subscriptions/{house.subscription.public_id}/"
    r = manager.patch(url, {"end_date": "2026-08-01"}, format="json")
    assert r.status_code == 400 and "end_date" in r.json()["error"]["fields"]
    r = manager.patch(url, {"end_date": "2027-01-01", "note": "Until the renovation"},
                      format="json")
    assert r.status_code == 200 and r.json()["end_date"] == "2027-01-01"
    with organization_context(world_a.org):
        from billing import services

        services.invoice_create_draft(subscriptions=[house.subscription], start=SEP, end=OCT)
    r = manager.delete(url)
    assert r.status_code == 409
    with organization_context(world_a.org):
        assert Subscription.objects.filter(pk=house.subscription.pk).exists()


def test_a_subscription_joins_and_leaves_a_batch(house, manager, world_a, world_b):
    from billing import services

    with organization_context(world_a.org):
        batch = services.batch_create(name="Monthly API")
    with organization_context(world_b.org):
        foreign = services.batch_create(name="Theirs")
    url = f"/api/v1/subscriptions/{house.subscription.public_id}/"
    r = manager.patch(url, {"batch": str(batch.public_id)}, format="json")
    assert r.status_code == 200 and r.json()["batch"] == str(batch.public_id)
    r = manager.patch(url, {"batch": str(foreign.public_id)}, format="json")
    assert r.status_code == 400 and "batch" in r.json()["error"]["fields"]
    with organization_context(world_a.org):
        house.subscription.refresh_from_db()
        assert house.subscription.batch_id == batch.pk
    r = manager.patch(url, {"batch": None}, format="json")
    assert r.status_code == 200 and r.json()["batch"] is None


def test_a_refused_second_billing_says_which_invoice_and_period(house, manager, world_a):
    body = {"subscriptions": [str(house.subscription.public_id)], **PERIOD}
    [first] = manager.post("/api/v1/invoices/", body, format="json").json()
    again = manager.post("/api/v1/invoices/", body, format="json")
    assert again.status_code == 400
    message = again.json()["error"]["message"]
    assert f"draft {first['id'][:8]}" in message and "already invoiced" in message
    manager.post(f"/api/v1/invoices/{first['id']}/issue/")
    overlapping = {**body, "start": "2026-09-15", "end": "2026-10-15"}
    again = manager.post("/api/v1/invoices/", overlapping, format="json")
    assert again.status_code == 400
    error = again.json()["error"]
    assert "INV-000001" in error["message"] and house.tenant.name in error["message"]
    assert "1–30 Sep 2026" in error["message"]  # the invoiced period, as pages show it
    assert "2026-09" not in error["message"]
    assert "subscription" in error["fields"]
    with organization_context(world_a.org):
        assert Invoice.objects.count() == 1
