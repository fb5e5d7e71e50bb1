"""A viewer walks the portal in Chromium and is offered nothing they cannot do: no upload,
no move, no bill run, no create, edit or delete, no "Poll now", no admin cards."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, portal_login

pytestmark = pytest.mark.e2e

#: words of actions; a viewer sees none of them on a button or a button-like link
ACTIONS = re.compile(
    r"\b(upload|move|start|new|add|edit|delete|remove|poll now|issue|void|switch|map a meter|"
    r"register|create|recompute|send|invite|retry|cancel|resume|mark|assign|replace|end|"
    r"import|change|undo|credit|re-?bill|save|revoke|set owner)\b", re.I)
#: what any member may post: log out, switch organization
ALLOWED_POSTS = ("/accounts/logout/", "/organizations/")


def _offers(page) -> list[str]:
    found = []
    for el in page.locator("main a.btn:visible, main button:visible").all():
        text = " ".join(el.inner_text().split())
        if ACTIONS.search(text) and text.lower() not in ("filter", "clear"):
            found.append(text)
    for form in page.locator("form").all():
        method = (form.get_attribute("method") or "get").lower()
        action = form.get_attribute("action") or page.url
        if method != "get" and not re.sub(r"^https?://[^/]+", "", action).startswith(
                ALLOWED_POSTS):
            found.append(f"form {method} {action}")
    for verb in ("post", "put", "patch", "delete"):
        found += [f"hx-{verb}" for _ in page.locator(f"[hx-{verb}]").all()]
    return found


def test_a_viewer_is_offered_no_action_they_cannot_take(populated, page):
    world = populated[0]
    o = world.objects
    portal_login(page, world.viewer.email)

    expect(page.get_by_test_id("recent-activity")).to_be_visible()
    expect(page.get_by_text("Getting started")).to_have_count(0)
    expect(page.get_by_text("API keys")).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "viewer-dashboard.png"), full_page=True)

    pages = [
        "/", "/properties/", f"/properties/{o['property'].public_id}/",
        f"/billing-points/{o['billing_point'].public_id}/", "/meters/",
        f"/meters/{o['meter'].public_id}/", f"/readings/meters/{o['meter'].public_id}/",
        "/readings/", "/readings/upload/", "/readings/anomalies/",
        "/tenants/", f"/tenants/{o['tenant'].public_id}/", "/tenants/moves/",
        "/billing/", f"/billing/invoices/{o['issued_invoice'].public_id}/",
        f"/billing/invoices/{o['invoice'].public_id}/",
        "/billing/runs/", f"/billing/runs/{o['bill_run'].public_id}/",
        "/billing/batches/", f"/billing/batches/{o['batch'].public_id}/",
        "/billing/subscriptions/", "/tariffs/", f"/tariffs/rate-lists/{o['rate_list'].public_id}/",
        "/gateways/", f"/gateways/{o['gateway'].public_id}/",
    ]
    problems = {}
    for url in pages:
        response = page.goto(url)
        assert response is not None and response.status == 200, (url, response and response.status)
        if offers := _offers(page):
            problems[url] = offers
    assert not problems, problems

    # the gateway page: the figures are there, "Poll now" is not
    page.goto(f"/gateways/{o['gateway'].public_id}/")
    expect(page.get_by_test_id("gateway-figures")).to_be_visible()
    expect(page.get_by_role("button", name="Poll now")).to_have_count(0)
