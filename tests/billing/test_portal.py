"""Portal pages of billing: invoices list/detail (trace), preview with a disabled "Create
invoice" when nothing can be billed, create, issue with confirmation, subscriptions."""

from datetime import date

import pytest

from billing import services
from billing.models import Invoice, Subscription
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.conftest import login_client

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


@pytest.fixture
def house(world_a):
    with organization_context(world_a.org):
        h = make_house()
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    return h


def test_preview_then_create_then_issue(house, world_a):
    client = login_client(world_a.manager, world_a.org)
    q = {"subscription": str(house.subscription.public_id), "start": "2026-09-01",
         "end": "2026-10-01"}
    page = client.get("/billing/preview/", q).content.decode()
    assert "95.08" in page and house.meter.serial_number in page and "1100" in page
    assert 'type="submit" class="btn btn-primary" >Create invoice' in page.replace("\n", "")
    r = client.post("/billing/preview/", q)
    assert r.status_code == 302
    with organization_context(world_a.org):
        inv = Invoice.objects.get()
    detail = client.get(f"/billing/invoices/{inv.public_id}/").content.decode()
    assert "Draft invoice" in detail and house.meter.serial_number in detail
    assert "start 1100" in detail and "end 1400" in detail
    confirm = client.get(f"/billing/invoices/{inv.public_id}/issue/")
    assert b"locks it" in confirm.content
    client.post(f"/billing/invoices/{inv.public_id}/issue/")
    with organization_context(world_a.org):
        inv.refresh_from_db()
    assert inv.number == "INV-000001"
    listing = client.get("/billing/").content.decode()
    assert "INV-000001" in listing and "95.08" in listing


def test_create_is_disabled_when_nothing_can_be_billed(house, world_a):
    with organization_context(world_a.org):
        services.invoice_create_draft(subscriptions=[house.subscription], start=SEP, end=OCT)
    client = login_client(world_a.manager, world_a.org)
    q = {"subscription": str(house.subscription.public_id), "start": "2026-09-01",
         "end": "2026-10-01"}
    page = client.get("/billing/preview/", q).content.decode()
    assert "disabled" in page and "already invoiced" in page
    r = client.post("/billing/preview/", q)
    assert r.status_code == 400 and "already invoiced" in r.content.decode()


def test_manual_line_bad_input_on_the_form(house, world_a):
    with organization_context(world_a.org):
        [inv] = services.invoice_create_draft(subscriptions=[house.subscription], start=SEP,
                                              end=OCT)
    client = login_client(world_a.manager, world_a.org)
    r = client.post(f"/billing/invoices/{inv.public_id}/lines/",
                    {"description": "Key", "quantity": "0", "unit_price": "5", "tax_rate": "0"})
    assert r.status_code == 400 and "greater than 0" in r.content.decode()
    with organization_context(world_a.org):
        assert inv.lines.count() == 3


def test_subscription_form_refuses_a_second_open_subscription(house, world_a):
    client = login_client(world_a.manager, world_a.org)
    assert client.get("/billing/subscriptions/").status_code == 200
    r = client.post("/billing/subscriptions/new/", {
        "billing_point": str(house.bp.public_id), "plan": str(house.plan.public_id),
        "start_date": "2026-12-01",
    })
    assert r.status_code == 400 and "already subscribed" in r.content.decode()
    with organization_context(world_a.org):
        assert Subscription.objects.count() == 1


def test_viewer_reads_but_cannot_issue(house, world_a):
    with organization_context(world_a.org):
        [inv] = services.invoice_create_draft(subscriptions=[house.subscription], start=SEP,
                                              end=OCT)
    client = login_client(world_a.viewer, world_a.org)
    assert client.get(f"/billing/invoices/{inv.public_id}/").status_code == 200
    assert client.post(f"/billing/invoices/{inv.public_id}/issue/").status_code == 403
    with organization_context(world_a.org):
        inv.refresh_from_db()
    assert inv.status == "draft"


def test_billing_point_page_shows_subscriptions_and_invoices(house, world_a):
    with organization_context(world_a.org):
        [inv] = services.invoice_create_draft(subscriptions=[house.subscription], start=SEP,
                                              end=OCT)
    client = login_client(world_a.manager, world_a.org)
    from django.urls import reverse

    url = reverse("meters:billing_point_detail", kwargs={"id": house.bp.public_id})
    page = client.get(url).content.decode()
    assert "Subscriptions and invoices" in page and house.plan.name in page
    assert str(inv.public_id) in page


def test_invoice_list_queries_do_not_grow(house, world_a, django_assert_max_num_queries):
    client = login_client(world_a.manager, world_a.org)
    with organization_context(world_a.org):
        services.invoice_create_draft(subscriptions=[house.subscription], start=SEP, end=OCT)
    client.get("/billing/")
    with django_assert_max_num_queries(30) as one:
        client.get("/billing/")
    with organization_context(world_a.org):
        for _ in range(3):
            other = make_house()
            read(other.meter, (at(SEP), "1100"), (at(OCT), "1200"))
            services.invoice_create_draft(subscriptions=[other.subscription], start=SEP,
                                          end=OCT)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get("/billing/").content.decode()
    assert page.count("Draft</a>") == 4


def test_preview_a_whole_property(house, world_a):
    from meters import services as meter_services
    from tenants import services as tenant_services

    with organization_context(world_a.org):
        bp2 = meter_services.billing_point_create(property=house.prop, connection_id="P2",
                                                  name="Flat two")
        tenant = tenant_services.tenant_create(name="Second tenant", email="t2@example.com")
        tenant_services.occupancy_create(tenant=tenant, billing_point=bp2,
                                         move_in=at(date(2026, 8, 1)))
        services.subscription_create(billing_point=bp2, plan=house.plan,
                                     start_date=date(2026, 8, 1))
    client = login_client(world_a.manager, world_a.org)
    q = {"property": str(house.prop.public_id), "start": "2026-09-01", "end": "2026-10-01"}
    page = client.get("/billing/preview/", q).content.decode()
    assert "Second tenant" in page and house.tenant.name in page and "no active meter" in page
    assert client.post("/billing/preview/", q).status_code == 302
    with organization_context(world_a.org):
        assert Invoice.objects.count() == 2
    r = client.get("/billing/preview/", {"start": "2026-09-01", "end": "2026-10-01"})
    assert r.status_code == 400 and "Choose a subscription or a property" in r.content.decode()


def test_pay_credit_and_void_through_the_portal(house, world_a):
    with organization_context(world_a.org):
        [inv] = services.invoice_create_draft(subscriptions=[house.subscription], start=SEP,
                                              end=OCT)
    client = login_client(world_a.manager, world_a.org)
    base = f"/billing/invoices/{inv.public_id}"
    client.post(f"{base}/credit-note/", {"reason": "x"})  # a draft: refused, nothing made
    client.post(f"{base}/issue/")
    assert b"Mark paid" in client.get(f"{base}/pay/").content
    client.post(f"{base}/pay/")
    r = client.post(f"{base}/credit-note/", {"reason": ""})
    assert r.status_code == 400 and b"required" in r.content
    r = client.post(f"{base}/credit-note/", {"reason": "Misread meter"})
    assert r.status_code == 302
    with organization_context(world_a.org):
        inv.refresh_from_db()
        note = inv.credit_notes.get()
    assert inv.status == "void" and note.number == "CN-000001"
    page = client.get(f"/billing/credit-notes/{note.public_id}/").content.decode()
    assert "CN-000001" in page and "-95.08" in page
    with organization_context(world_a.org):
        [again] = services.invoice_create_draft(subscriptions=[house.subscription], start=SEP,
                                                end=OCT)
    assert b"Void draft" in client.get(f"/billing/invoices/{again.public_id}/void/").content
    client.post(f"/billing/invoices/{again.public_id}/void/")
    with organization_context(world_a.org):
        again.refresh_from_db()
    assert again.status == "void" and again.number == ""


def test_subscription_end_is_shown_as_its_last_day_not_labelled_exclusive(world_a):
    """A subscription over [1 Sep, 1 Dec) ends on 30 Nov: the lists show "30 Nov 2026"
    under "Until", never the last day labelled "exclusive" (which reads as one day less)."""
    with organization_context(world_a.org):
        h = make_house(flat="0.30")
        batch = services.batch_create(name="Monthly")
        Subscription.objects.filter(pk=h.subscription.pk).update(
            end_date=date(2026, 12, 1), batch=batch)
    client = login_client(world_a.manager, world_a.org)
    for url in ("/billing/subscriptions/", f"/billing/batches/{batch.public_id}/"):
        page = client.get(url).content.decode()
        assert "30 Nov 2026" in page and "1 Dec 2026" not in page, url
        assert "exclusive" not in page.lower(), url
