"""Error pages: a page of the product with a way back, for managers, tenants and anonymous
visitors alike (DEBUG off, as in production)."""

from __future__ import annotations

from django.test import Client, override_settings

from tests.conftest import login_client


@override_settings(DEBUG=False)
def test_404_and_403_are_product_pages_with_a_way_back(world_a):
    anonymous = Client().get("/gateways/00000000-0000-0000-0000-000000000000/edit/")
    assert anonymous.status_code == 302  # login first
    page = Client().get("/no-such-page/")
    assert page.status_code == 404
    html = page.content.decode()
    assert "Page not found" in html and 'href="/accounts/login/"' in html

    viewer = login_client(world_a.viewer, world_a.org)
    viewer.raise_request_exception = False
    html = viewer.get("/gateways/00000000-0000-0000-0000-000000000000/").content.decode()
    assert "Page not found" in html and "Back to the dashboard" in html
    refused = viewer.post("/gateways/new/", {})
    assert refused.status_code == 403
    html = refused.content.decode()
    assert "Not allowed" in html and "does not allow this" in html
    assert "Back to the dashboard" in html


@override_settings(DEBUG=False)
def test_a_tenant_gets_the_way_back_to_their_account(world_a):
    from billspree.core.scoping import organization_context
    from tests.tenants.factories_portal import make_portal_tenant

    with organization_context(world_a.org):
        koala = make_portal_tenant(world_a, "KOALA")
    client = login_client(koala.user)
    client.raise_request_exception = False
    page = client.get("/my/invoices/00000000-0000-0000-0000-000000000000/")
    assert page.status_code == 404
    html = page.content.decode()
    assert "Back to my account" in html and 'href="/my/"' in html
    assert "Back to the dashboard" not in html


def test_500_page_renders_without_a_request_context():
    from django.template.loader import get_template

    html = get_template("500.html").render({})
    assert "Something went wrong" in html and "Back to the start" in html
