"""Late data where people and integrators see it: the API (affects_invoices, the invoice's
``stale`` field, 409 ``invoice_stale``, recompute), the portal (warnings, stale badge and
banner, recompute, adjustments of a period, the bill-run review)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from billing import services
from billing.models import Adjustment, Invoice
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.conftest import api_client, login_client

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


@pytest.fixture
def house(world_a):
    with organization_context(world_a.org):
        h = make_house(flat="0.30")
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
        [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP, end=OCT)
        h.extra["invoice"] = Invoice.objects.get(pk=inv.pk)
    return h


@pytest.fixture
def manager(world_a):
    return api_client(key=world_a.write_key)


def _correct_via_api(manager, house, value="1442.5"):
    r = manager.post("/api/v1/readings/", {"readings": [{
        "meterNumber": house.meter.serial_number, "readAt": at(OCT).isoformat(), "value": value,
    }], "replace": True}, format="json")
    assert r.status_code in (200, 201), r.content
    return r.json()


def test_api_stale_draft_is_refused_at_issue_with_a_code_until_recomputed(house, manager):
    inv = house.extra["invoice"]
    body = _correct_via_api(manager, house)
    [affect] = body["affects_invoices"]
    assert affect["code"] == "draft_stale" and affect["invoice_id"] == str(inv.public_id)

    url = f"/api/v1/invoices/{inv.public_id}/"
    got = manager.get(url).json()
    assert got["stale"] is True and "+42.5 kWh" in got["stale_reason"]
    r = manager.post(f"{url}issue/")
    assert r.status_code == 409, r.content
    assert r.json()["error"]["code"] == "invoice_stale"
    assert "Recompute" in r.json()["error"]["message"]

    r = manager.post(f"{url}recompute/")
    assert r.status_code == 200, r.content
    body = r.json()
    # 9.90 + 342.5 × 0.30 = 102.75 → net 112.65
    assert body["outcome"] == "recomputed" and body["stale"] is False
    assert D(body["net_total"]) == D("112.65")
    assert manager.post(f"{url}issue/").status_code == 200


def test_api_correction_of_an_issued_period_answers_with_the_adjustment(house, manager,
                                                                          world_a):
    inv = house.extra["invoice"]
    with organization_context(world_a.org):
        inv = services.invoice_issue(invoice=inv)
    body = _correct_via_api(manager, house)
    [affect] = body["affects_invoices"]
    assert affect["code"] == "adjustment" and affect["invoice"] == inv.number
    assert f"already invoiced as {inv.number}" in affect["message"]
    assert affect["detail"]["net"] == "12.75"  # money in the currency's places, as elsewhere
    got = manager.get(f"/api/v1/invoices/{inv.public_id}/").json()
    [adj] = got["adjustments"]
    assert (adj["status"], D(adj["quantity"]), D(adj["amount"])) == (
        "pending", D("42.5"), D("12.75"))
    assert D(got["total"]) == D("118.88")  # the issued invoice as it was


def test_api_back_dated_move_tells_the_integrator(house, manager, world_a):
    inv = house.extra["invoice"]
    with organization_context(world_a.org):
        inv = services.invoice_issue(invoice=inv)
        from tenants import services as tenant_services

        bea = tenant_services.tenant_create(name="Bea", email="bea@example.com")
    r = manager.post("/api/v1/moves/", {
        "billing_point": str(house.bp.public_id), "moved_at": "2026-09-16",
        "incoming_tenant": str(bea.public_id),
        "readings": {house.meter.serial_number: "1250"},
    }, format="json")
    assert r.status_code == 201, r.content
    affects = r.json()["affects_invoices"]
    assert {a["code"] for a in affects} == {"adjustment"}
    assert all(inv.number in a["message"] for a in affects)


def test_portal_shows_the_warning_the_stale_badge_and_recomputes(house, world_a):
    inv = house.extra["invoice"]
    client = login_client(world_a.manager, world_a.org)
    with organization_context(world_a.org):
        from readings.services import reading_enter

        reading_enter(meter=house.meter, read_at=at(OCT), value=D("1442.5"),
                      actor=world_a.manager, replace=True)
    listing = client.get("/billing/").content.decode()
    assert "stale — recompute" in listing
    page = client.get(f"/billing/invoices/{inv.public_id}/").content.decode()
    assert "stale-notice" in page and "+42.5 kWh" in page and "Recompute…" in page
    r = client.post(f"/billing/invoices/{inv.public_id}/issue/", follow=True)
    assert "stale" in r.content.decode() and "Recompute before issuing" in r.content.decode()
    confirm = client.get(f"/billing/invoices/{inv.public_id}/recompute/")
    assert b"rebuilt from the current readings" in confirm.content
    r = client.post(f"/billing/invoices/{inv.public_id}/recompute/", follow=True)
    assert "Draft recomputed: total 134.05 EUR." in r.content.decode()
    assert "stale-notice" not in r.content.decode()


def test_portal_reading_entry_says_what_it_affects(world_a):
    with organization_context(world_a.org):
        h = make_house(flat="0.30")
        # no reading on 1 Oct: the boundary is interpolated, 1100 + 360 × 30/32 = 1437.5
        read(h.meter, (at(SEP), "1100"), (at(date(2026, 10, 3)), "1460"))
        [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP, end=OCT)
        inv = services.invoice_issue(invoice=Invoice.objects.get(pk=inv.pk))
    client = login_client(world_a.manager, world_a.org)
    r = client.post(f"/readings/meters/{h.meter.public_id}/",
                    {"read_at": "2026-10-01T00:00", "value": "1442.5", "step": "save"},
                    follow=True)
    text = r.content.decode()
    # the read 1 Oct value is 1442.5: +5 kWh for September
    assert f"already invoiced as {inv.number}" in text and "+5 kWh" in text, text[-3000:]
    page = client.get(f"/billing/invoices/{inv.public_id}/").content.decode()
    assert "Adjustments of this period" in page and "pending" in page
    with organization_context(world_a.org):
        adj = Adjustment.objects.get()
        assert (adj.quantity, adj.amount) == (D("5"), D("1.50"))


def test_bill_run_review_shows_stale_drafts_refuses_them_and_recomputes(
        world_a, django_capture_on_commit_callbacks):
    from billing.models import BillRunStatus
    from tests.billing.builders import september_houses

    houses = september_houses(world_a.org, count=2)
    with organization_context(world_a.org):
        batch = services.batch_create(name="Late", billing_day=2)
        services.batch_subscriptions_set(batch=batch, add=[h.subscription for h in houses])
        with django_capture_on_commit_callbacks(execute=True):
            run = services.bill_run_start(batch=batch, period_start=SEP, period_end=OCT,
                                          trigger="manual")
        run.refresh_from_db()
        assert run.status == BillRunStatus.REVIEW
        from readings.models import Source
        from readings.parsing import RowIn
        from readings.services import reading_ingest

        reading_ingest(rows=[RowIn(0, houses[0].meter.serial_number, at(OCT), D("1450"))],
                       source=Source.API, replace=True)
    client = login_client(world_a.manager, world_a.org)
    page = client.get(f"/billing/runs/{run.public_id}/").content.decode()
    assert 'data-testid="run-stale"' in page and "Recompute stale drafts" in page
    manager = api_client(key=world_a.write_key)
    detail = manager.get(f"/api/v1/bill-runs/{run.public_id}/").json()
    assert len(detail["stale_drafts"]) == 1
    r = manager.post(f"/api/v1/bill-runs/{run.public_id}/issue/", {}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invoice_stale"
    r = client.post(f"/billing/runs/{run.public_id}/recompute/", follow=True)
    assert "Recomputed 1 stale draft(s)." in r.content.decode()
    r = manager.post(f"/api/v1/bill-runs/{run.public_id}/issue/", {}, format="json")
    assert r.status_code == 200, r.content


def test_csv_upload_says_what_it_affects_on_its_page_and_in_the_api(
    house, world_a, django_capture_on_commit_callbacks
):
    """A CSV that corrects the reading ending an issued period: the upload's page and its
    API answer say at once that INV-… gets an adjustment of +42.5 kWh (1442.5 − 1400),
    in the same words as the reading entry and the readings API."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from readings.models import Upload

    inv = house.extra["invoice"]
    with organization_context(world_a.org):
        inv = services.invoice_issue(invoice=inv)
    client = login_client(world_a.operator, world_a.org)
    content = (f"meterNumber,readAt,value\n{house.meter.serial_number},"
               f"{at(OCT).isoformat()},1442.5\n").encode()
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/readings/upload/", {
            "file": SimpleUploadedFile("october.csv", content), "all_or_nothing": "on",
            "replace": "on",
        })
    assert r.status_code == 302
    page = client.get(r["Location"]).content.decode()
    expected = f"Changes a period already invoiced as {inv.number}"
    assert expected in page and "+42.5 kWh" in page and "as an adjustment" in page

    upload = Upload.objects.unscoped().get(filename="october.csv")
    got = api_client(key=world_a.write_key).get(
        f"/api/v1/readings/uploads/{upload.public_id}/").json()
    [affect] = got["affects_invoices"]
    assert affect["code"] == "adjustment" and affect["invoice"] == inv.number
    assert expected in affect["message"] and "+42.5 kWh" in affect["message"]
