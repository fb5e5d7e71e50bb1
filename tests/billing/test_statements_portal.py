"""Statements in the portal and the API: the panel, the download (attachment named after the
invoice number), send/resend with confirmation, regenerate, building statements on demand;
roles (a viewer downloads but cannot send) and another organization's ids (404)."""

from __future__ import annotations

import pytest
from django.core import mail

from billing.models import BuildingStatement, DeliveryStatus, StatementDelivery
from tests.billing.factories_statements import OCT, SEP, billed_house, brand, building_scenario
from tests.billing.test_statements import has, pdf_text, private_storage  # noqa: F401
from tests.conftest import api_client, login_client


@pytest.fixture
def billed(in_org_a, django_capture_on_commit_callbacks):
    brand(in_org_a.org)
    with django_capture_on_commit_callbacks(execute=True):
        return billed_house()


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_invoice_page_panel_download_and_send_with_confirmation(
        billed, world_a, django_capture_on_commit_callbacks):
    inv = billed.invoice
    client = login_client(world_a.manager, world_a.org)
    page = client.get(f"/billing/invoices/{inv.public_id}/")
    assert page.status_code == 200 and b'id="statement-panel"' in page.content
    panel = client.get(f"/billing/invoices/{inv.public_id}/statement/")
    assert panel.status_code == 200
    assert b"Download PDF" in panel.content and b"Send\xe2\x80\xa6" in panel.content
    pdf = client.get(f"/billing/invoices/{inv.public_id}/statement/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="invoice-{inv.number}.pdf"'
    assert has(pdf_text(body(pdf)), inv.number)
    confirm = client.get(f"/billing/invoices/{inv.public_id}/send/")
    assert confirm.status_code == 200 and b"tenant@example.com" in confirm.content
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/billing/invoices/{inv.public_id}/send/", follow=True)
    assert sent.status_code == 200 and len(mail.outbox) == 1
    panel = client.get(f"/billing/invoices/{inv.public_id}/statement/")
    assert b"Resend\xe2\x80\xa6" in panel.content and b"Sent" in panel.content


def test_tenant_without_email_shows_the_failure_in_the_panel(
        in_org_a, world_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        b = billed_house(tenant_email="")
    client = login_client(world_a.manager, world_a.org)
    r = client.post(f"/billing/invoices/{b.invoice.public_id}/send/", follow=True)
    assert b"the tenant has no email address" in r.content
    panel = client.get(f"/billing/invoices/{b.invoice.public_id}/statement/")
    assert b"the tenant has no email address" in panel.content and b"Failed" in panel.content
    assert mail.outbox == []


def test_viewer_downloads_but_cannot_send_or_regenerate(billed, world_a):
    inv = billed.invoice
    viewer = login_client(world_a.viewer, world_a.org)
    assert viewer.get(f"/billing/invoices/{inv.public_id}/statement/pdf/").status_code == 200
    panel = viewer.get(f"/billing/invoices/{inv.public_id}/statement/")
    assert b"Send\xe2\x80\xa6" not in panel.content
    viewer.raise_request_exception = False
    assert viewer.post(f"/billing/invoices/{inv.public_id}/send/").status_code == 403
    assert viewer.post(f"/billing/invoices/{inv.public_id}/statement/regenerate/"
                       ).status_code == 403
    assert StatementDelivery.objects.count() == 0


def test_api_statement_pdf_send_and_regenerate(billed, world_a,
                                               django_capture_on_commit_callbacks):
    inv = billed.invoice
    api = api_client(key=world_a.write_key)
    r = api.get(f"/api/v1/invoices/{inv.public_id}/statement/")
    assert r.status_code == 200 and r.json()["status"] == "ready" and r.json()["pdf"]
    pdf = api.get(f"/api/v1/invoices/{inv.public_id}/statement/pdf/")
    assert pdf.status_code == 200 and body(pdf)[:5] == b"%PDF-"
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(f"/api/v1/invoices/{inv.public_id}/send/")
    assert r.status_code == 202 and r.json()["recipient"] == "tenant@example.com"
    assert StatementDelivery.objects.get().status == DeliveryStatus.SENT
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post(f"/api/v1/invoices/{inv.public_id}/statement/regenerate/")
    assert r.status_code == 202
    r = api.get(f"/api/v1/invoices/{inv.public_id}/statement/")
    assert r.json()["status"] == "ready" and r.json()["attempts"] == 2
    assert [d["status"] for d in r.json()["deliveries"]] == ["sent"]
    reader = api_client(key=world_a.read_key)
    assert reader.post(f"/api/v1/invoices/{inv.public_id}/send/").status_code == 403


def test_building_statement_from_the_portal_and_the_api(
        in_org_a, world_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        b = building_scenario()
    client = login_client(world_a.manager, world_a.org)
    page = client.get("/billing/building-statements/")
    assert page.status_code == 200 and b"No statements yet" in page.content
    bad = client.post("/billing/building-statements/", {
        "property": str(b.prop.public_id), "period_start": "2026-10-01",
        "period_end": "2026-09-01"})
    assert bad.status_code == 400 and b"The end must be after the start." in bad.content
    assert BuildingStatement.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/billing/building-statements/", {
            "property": str(b.prop.public_id), "period_start": "2026-09-01",
            "period_end": "2026-10-01"})
    assert r.status_code == 302
    r = client.get("/billing/building-statements/")
    assert r.status_code == 200 and b"Download PDF" in r.content
    st = BuildingStatement.objects.get()
    pdf = client.get(f"/billing/building-statements/{st.public_id}/pdf/")
    assert pdf.status_code == 200 and "attachment" in pdf["Content-Disposition"]
    assert has(pdf_text(body(pdf)), "30.0 %")
    api = api_client(key=world_a.write_key)
    listed = api.get("/api/v1/building-statements/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert rows[0]["status"] == "ready" and rows[0]["pdf"]
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post("/api/v1/building-statements/", {
            "property": str(b.prop.public_id), "period_start": SEP.isoformat(),
            "period_end": OCT.isoformat()}, format="json")
    assert r.status_code == 202 and BuildingStatement.objects.count() == 1
    r = api.post("/api/v1/building-statements/", {
        "property": str(b.prop.public_id), "period_start": "2026-10-01",
        "period_end": "2026-09-01"}, format="json")
    assert r.status_code == 400 and "period_end" in r.content.decode()


def test_another_organizations_invoice_is_404(billed, world_b):
    outsider = login_client(world_b.manager, world_b.org)
    outsider.raise_request_exception = False
    for url in (f"/billing/invoices/{billed.invoice.public_id}/statement/",
                f"/billing/invoices/{billed.invoice.public_id}/statement/pdf/",
                f"/billing/invoices/{billed.invoice.public_id}/send/"):
        assert outsider.get(url).status_code == 404
    assert outsider.post(f"/billing/invoices/{billed.invoice.public_id}/send/"
                         ).status_code == 404
    api = api_client(key=world_b.write_key)
    assert api.post(f"/api/v1/invoices/{billed.invoice.public_id}/send/").status_code == 404
    assert StatementDelivery.objects.unscoped().count() == 0


def test_admin_edits_the_statement_branding_in_the_settings(world_a):
    client = login_client(world_a.admin, world_a.org)
    r = client.post("/settings/", {
        "name": world_a.org.name, "default_currency": "EUR", "time_zone": "Europe/Berlin",
        "brand_color": "#aa3300", "address": "Main street 1\n10115 Berlin",
        "payment_details": "IBAN DE02 1203 0000 0000 2020 51", "payment_terms_days": "30"})
    assert r.status_code == 302
    world_a.org.refresh_from_db()
    assert (world_a.org.brand_color, world_a.org.payment_terms_days) == ("#aa3300", 30)
    assert world_a.org.payment_details.startswith("IBAN DE02")
    bad = client.post("/settings/", {
        "name": world_a.org.name, "default_currency": "EUR", "time_zone": "Europe/Berlin",
        "brand_color": "red"})
    assert bad.status_code == 400 and b"A colour such as #1f6feb." in bad.content
    world_a.org.refresh_from_db()
    assert world_a.org.brand_color == "#aa3300"


def test_building_statement_list_query_count_does_not_grow(in_org_a, world_a,
                                                           django_assert_max_num_queries):
    from datetime import date

    from meters import services as meter_services

    prop = meter_services.property_create(name="Counted House", time_zone="Europe/Berlin")
    api = api_client(key=world_a.read_key)
    client = login_client(world_a.viewer, world_a.org)
    for month in range(1, 7):
        BuildingStatement.objects.create(property=prop, period_start=date(2026, month, 1),
                                         period_end=date(2026, month + 1, 1))
        with django_assert_max_num_queries(8):
            assert api.get("/api/v1/building-statements/").status_code == 200
        with django_assert_max_num_queries(12):
            assert client.get("/billing/building-statements/").status_code == 200
