"""The bill-run API: batches CRUD, start (201 / 200 when it exists), the status endpoint,
the run report, issue (all / some), cancel, retry; errors in the project's one shape;
roles; other organizations' ids are 404."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.models import BillingBatch, BillRun, Invoice
from billspree.core.scoping import organization_context
from tests.billing.test_runs import make_batch
from tests.conftest import api_client

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)
PERIOD = {"period_start": "2026-09-01", "period_end": "2026-10-01"}


@pytest.fixture
def manager(world_a):
    return api_client(key=world_a.write_key)


@pytest.fixture
def viewer(world_a):
    return api_client(key=world_a.read_key)


@pytest.fixture
def batch(world_a):
    with organization_context(world_a.org):
        batch, houses = make_batch(3, readings=False)
        from tests.billing.builders import at, read

        for h in houses[:2]:
            read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    return batch


def _start(client, batch, capture, **body):
    with capture(execute=True):
        return client.post(f"/api/v1/billing-batches/{batch.public_id}/runs/",
                           {**PERIOD, **body}, format="json")


def test_batch_crud_and_field_errors(manager, viewer):
    r = manager.post("/api/v1/billing-batches/", {"name": "Quarterly", "cycle": "quarterly",
                                                   "billing_day": 5}, format="json")
    assert r.status_code == 201, r.content
    url = f"/api/v1/billing-batches/{r.json()['id']}/"
    assert r.json()["subscription_count"] == 0
    r = manager.post("/api/v1/billing-batches/", {"name": "quarterly"}, format="json")
    assert r.status_code == 400 and "name" in r.json()["error"]["fields"]
    r = manager.patch(url, {"billing_day": 31}, format="json")
    assert r.status_code == 400 and "billing_day" in r.json()["error"]["fields"]
    assert viewer.patch(url, {"billing_day": 3}, format="json").status_code == 403
    assert manager.patch(url, {"billing_day": 3}, format="json").json()["billing_day"] == 3
    assert viewer.get("/api/v1/billing-batches/").json()["results"][0]["name"] == "Quarterly"
    assert manager.delete(url).status_code == 204
    assert not BillingBatch.objects.unscoped().exists()


def test_start_status_report_issue(batch, manager, viewer, django_capture_on_commit_callbacks):
    r = _start(manager, batch, django_capture_on_commit_callbacks)
    assert r.status_code == 201, r.content
    run = r.json()
    assert run["trigger"] == "api" and run["total_items"] == 3
    again = _start(manager, batch, django_capture_on_commit_callbacks)
    assert again.status_code == 200 and again.json()["id"] == run["id"]
    r = viewer.get(f"/api/v1/bill-runs/{run['id']}/")
    assert r.status_code == 200
    p = r.json()["progress"]
    assert (r.json()["status"], p["total"], p["created"], p["skipped"], p["invoices"],
            p["percent"], p["chunks_done"], p["chunks_total"]) == (
        "review", 3, 2, 1, 2, 100, 1, 1)
    r = viewer.get(f"/api/v1/bill-runs/{run['id']}/items/?status=skipped")
    [item] = r.json()["results"]
    assert item["status"] == "skipped" and item["invoice_count"] == 0
    assert "no_readings" in {d["code"] for d in item["diagnostics"]}
    assert item["billing_point_name"].startswith("Flat")
    r = viewer.get(f"/api/v1/bill-runs/{run['id']}/items/?status=bogus")
    assert r.status_code == 400 and "status" in r.json()["error"]["fields"]
    assert viewer.get("/api/v1/bill-runs/?status=review").json()["results"][0]["id"] == run["id"]
    # issue: one, then the rest
    with organization_context(batch.organization):
        drafts = list(Invoice.objects.filter(bill_run__public_id=run["id"]).order_by("pk"))
    assert viewer.post(f"/api/v1/bill-runs/{run['id']}/issue/").status_code == 403
    r = manager.post(f"/api/v1/bill-runs/{run['id']}/issue/",
                     {"invoices": ["not-a-uuid"]}, format="json")
    assert r.status_code == 400 and "invoices" in r.json()["error"]["fields"]
    r = manager.post(f"/api/v1/bill-runs/{run['id']}/issue/",
                     {"invoices": [str(drafts[0].public_id)]}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "review"
    r = manager.post(f"/api/v1/bill-runs/{run['id']}/issue/", {}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "completed"
    with organization_context(batch.organization):
        assert sorted(Invoice.objects.values_list("number", flat=True)) == [
            "INV-000001", "INV-000002"]
    r = manager.post(f"/api/v1/bill-runs/{run['id']}/cancel/")
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"


def test_bad_start_input_names_the_field(batch, manager, viewer,
                                         django_capture_on_commit_callbacks):
    url = f"/api/v1/billing-batches/{batch.public_id}/runs/"
    r = manager.post(url, {"period_start": "2026-10-01", "period_end": "2026-09-01"},
                     format="json")
    assert r.status_code == 400 and "period_end" in r.json()["error"]["fields"]
    r = manager.post(url, {"period_start": "yesterday"}, format="json")
    assert r.status_code == 400 and "period_start" in r.json()["error"]["fields"]
    assert viewer.post(url, PERIOD, format="json").status_code == 403
    empty = manager.post("/api/v1/billing-batches/", {"name": "Empty"}, format="json").json()
    r = manager.post(f"/api/v1/billing-batches/{empty['id']}/runs/", PERIOD, format="json")
    assert r.status_code == 400 and "batch" in r.json()["error"]["fields"]
    assert not BillRun.objects.unscoped().exists()


def test_cancel_and_retry(batch, manager, django_capture_on_commit_callbacks):
    run = _start(manager, batch, django_capture_on_commit_callbacks).json()
    skipped = manager.get(f"/api/v1/bill-runs/{run['id']}/items/?status=skipped"
                          ).json()["results"][0]
    with organization_context(batch.organization):
        from billing.models import BillRunItem
        from tests.billing.builders import at, read

        item = BillRunItem.objects.select_related("subscription__billing_point").get(
            public_id=skipped["id"])
        meter = item.subscription.billing_point.assignments.get().meter
        read(meter, (at(SEP), "1100"), (at(OCT), "1400"))  # the readings arrive
    r = manager.post(f"/api/v1/bill-run-items/{skipped['id']}/retry/")
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["invoice_count"]) == ("created", 1)
    r = manager.post(f"/api/v1/bill-run-items/{skipped['id']}/retry/")
    assert r.status_code == 409
    r = manager.post(f"/api/v1/bill-runs/{run['id']}/cancel/")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    with organization_context(batch.organization):
        assert set(Invoice.objects.values_list("status", flat=True)) == {"void"}


def test_other_organizations_runs_are_404(batch, world_b, django_capture_on_commit_callbacks,
                                          manager):
    run = _start(manager, batch, django_capture_on_commit_callbacks).json()
    other = api_client(key=world_b.write_key)
    assert other.get(f"/api/v1/bill-runs/{run['id']}/").status_code == 404
    assert other.post(f"/api/v1/bill-runs/{run['id']}/cancel/").status_code == 404
    assert other.post(f"/api/v1/billing-batches/{batch.public_id}/runs/", PERIOD,
                      format="json").status_code == 404


def test_run_list_query_count_does_not_grow_and_resume_answers_202(
    world_a, manager, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    with organization_context(world_a.org):
        batches = [make_batch(1, name=f"B{i}")[0] for i in range(3)]
    for b in batches[:1]:
        _start(manager, b, django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as one:
        assert manager.get("/api/v1/bill-runs/").status_code == 200
    count = len(one.captured_queries)  # (each request resets the connection's query log)
    assert count <= 6
    for b in batches[1:]:
        _start(manager, b, django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(count):
        assert len(manager.get("/api/v1/bill-runs/").json()["results"]) == 3
    run = manager.get("/api/v1/bill-runs/").json()["results"][0]
    r = manager.post(f"/api/v1/bill-runs/{run['id']}/resume/")
    assert r.status_code == 202 and r.json()["queued"] == 0  # finished: nothing to re-queue


def test_batch_subscriptions_through_the_api(world_a, world_b, manager, viewer):
    from tests.billing.builders import make_house

    with organization_context(world_a.org):
        h1, h2 = make_house(), make_house()
    with organization_context(world_b.org):
        foreign = make_house()
    batch = manager.post("/api/v1/billing-batches/", {"name": "API"}, format="json").json()
    url = f"/api/v1/billing-batches/{batch['id']}/subscriptions/"
    r = manager.post(url, {"add": [str(h1.subscription.public_id)]}, format="json")
    assert r.status_code == 200 and (r.json()["changed"], r.json()["subscription_count"]) == (
        1, 1)
    r = manager.post(url, {"property": str(h2.prop.public_id)}, format="json")
    assert r.json()["subscription_count"] == 2
    r = manager.post(url, {"remove": [str(h1.subscription.public_id)]}, format="json")
    assert r.json()["subscription_count"] == 1
    r = manager.post(url, {"add": [str(foreign.subscription.public_id)]}, format="json")
    assert r.status_code == 400 and "add" in r.json()["error"]["fields"]
    assert manager.post(url, {}, format="json").status_code == 400
    assert viewer.post(url, {"remove": []}, format="json").status_code == 403
