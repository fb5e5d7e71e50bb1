"""A member logs in, switches organization and walks the navigation in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from billspree.core.models import Membership, Role
from billspree.core.scoping import organization_context
from tests.e2e.conftest import portal_login

pytestmark = pytest.mark.e2e


def test_login_switch_organization_and_navigate(page, world_a, world_b):
    with organization_context(world_b.org):
        Membership.objects.create(organization=world_b.org, user=world_a.admin, role=Role.VIEWER)

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.get_by_label("Email").fill(world_a.admin.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("didn't match")).to_be_visible()

    portal_login(page, world_a.admin.email)
    expect(page.get_by_role("heading", level=1)).to_have_text(world_a.org.name)

    switcher = page.get_by_test_id("org-switcher")
    switcher.locator("summary").click()
    switcher.get_by_role("button", name=re.compile(world_b.org.name)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(world_b.org.name)
    expect(page.get_by_text(f"Switched to {world_b.org.name}")).to_be_visible()
    # a viewer in B: no organization admin section
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="API keys")).to_have_count(0)
    expect(nav.get_by_role("link", name="Members")).to_have_count(0)

    for section in [
        "Properties",
        "Meters",
        "Readings",
        "Tenants",
        "Tariffs",
        "Billing",
        "Gateways",
    ]:
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name=section, exact=True
        ).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(section)

    switcher.locator("summary").click()
    switcher.get_by_role("button", name=re.compile(world_a.org.name)).click()
    nav.get_by_role("link", name="Members", exact=True).click()
    expect(page.get_by_text(world_a.viewer.email)).to_be_visible()
    expect(page.get_by_text(world_b.viewer.email)).to_have_count(0)

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/accounts/(login|logout)/"))


def test_api_key_is_shown_once(page, world_a):
    portal_login(page, world_a.admin.email)
    page.goto("/settings/api-keys/")
    page.get_by_label("Name").fill("ERP sync")
    page.get_by_label("Write").check()
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-api-key").locator("code.secret").inner_text()
    assert secret.startswith("bsk_")
    page.goto("/settings/api-keys/")
    expect(page.get_by_role("cell", name="ERP sync")).to_be_visible()
    assert secret not in page.content()
