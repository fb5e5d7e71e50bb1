"""The main pages of the demo, as a manager (1440 px) and a tenant (390 px, a phone), in
Chromium: each renders, nothing is wider than the screen on a phone (a table scrolls inside
its own box, it does not push the page sideways and cut amounts off), and a screenshot of
each is kept for people to look at.

Screenshots go to ``test-artifacts/screenshots/`` (CI keeps the folder). The two in the
README are refreshed with::

    SCREENSHOTS_DIR=docs/screenshots .venv/bin/python -m pytest tests/e2e/test_screenshots.py
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from billing.models import BillRun, Invoice, InvoiceStatus
from billspree.core.management.commands.demo_seed import DEMO_PASSWORD, DEMO_USERS
from billspree.core.models import Organization
from billspree.core.scoping import organization_context
from meters.models import Meter
from tests.e2e.conftest import ARTIFACTS, portal_login

pytestmark = pytest.mark.e2e
MANAGER = DEMO_USERS[0][0]
TENANT = "tenant@demo.billspree.test"
OUT = Path(os.environ.get("SCREENSHOTS_DIR") or ARTIFACTS / "screenshots")
#: The two the README shows (see its "What you can do today").
README_SHOTS = {"manager-dashboard-1440", "tenant-invoice-390"}

OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("body *")].filter((el) => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= width + 1) return false;
    // inside a box that clips or scrolls: that box is judged below
    for (let p = el.parentElement; p; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== "visible") return false;
    }
    return true;
  });
  // a box whose content is wider than itself cuts it off (hidden) or hides it behind a
  // sideways scroll: allowed only where the page shows a cue that it scrolls
  const clipped = [...document.querySelectorAll("body *")].filter((el) => {
    const s = getComputedStyle(el);
    return ["auto", "scroll", "hidden", "clip"].includes(s.overflowX)
      && el.scrollWidth > el.clientWidth + 1 && !el.closest("[data-scroll-cue]");
  });
  wide.push(...clipped);
  return {scroll: document.documentElement.scrollWidth, width,
          wide: wide.slice(0, 5).map((el) => el.tagName + "." + el.className + ": "
                                     + (el.textContent || "").trim().slice(0, 40))};
}"""


@pytest.fixture
def demo(demo_db_copy):
    """A copy of the demo as ``manage.py demo_seed`` leaves it (seeded once per test
    process: ``tests/demo_db.py``), committed so the live server sees it."""
    return Organization.objects.order_by("name").first()


def _shot(page, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    if os.environ.get("SCREENSHOTS_DIR") and name not in README_SHOTS:
        return
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=name not in README_SHOTS)


def _visit(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"


def _fits(page, url: str) -> None:
    found = page.evaluate(OVERFLOW)
    assert found["scroll"] <= found["width"] + 1 and not found["wide"], (
        f"{url} is wider than a {found['width']} px phone: {found}")


def test_the_main_pages_of_both_portals(browser, live_server, demo):
    """One test, one copy of the demo: manager, then tenant."""
    _manager_pages(browser, live_server, demo)
    _tenant_pages(browser, live_server)


def _manager_pages(browser, live_server, demo) -> None:
    with organization_context(demo):
        meter = Meter.objects.order_by("serial_number").first()
        run = BillRun.objects.order_by("-created_at").first()
        invoice = Invoice.objects.filter(status=InvoiceStatus.ISSUED).order_by("number").first()
    pages = {"dashboard": "/", "meter": f"/meters/{meter.public_id}/",
             "meter-readings": f"/readings/meters/{meter.public_id}/",
             "runs": "/billing/runs/", "invoices": "/billing/"}
    if run is not None:
        pages["run"] = f"/billing/runs/{run.public_id}/"
    if invoice is not None:
        pages["invoice"] = f"/billing/invoices/{invoice.public_id}/"
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        portal_login(page, MANAGER, DEMO_PASSWORD)
        for name, url in pages.items():
            _visit(page, url)
            _shot(page, f"manager-{name}-1440")
    finally:
        context.close()


def _tenant_pages(browser, live_server) -> None:
    context = browser.new_context(base_url=live_server.url, is_mobile=True, has_touch=True,
                                  viewport={"width": 390, "height": 844},
                                  device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(TENANT)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/my/")
        pages = {"home": "/my/", "invoices": "/my/invoices/", "consumption": "/my/consumption/"}
        # from the invoice list (home loads its invoice card by htmx, after the page)
        page.goto("/my/invoices/")
        hrefs = page.eval_on_selector_all("a[href^='/my/invoices/']",
                                          "links => links.map((a) => a.getAttribute('href'))")
        opened = [h for h in hrefs if re.fullmatch(r"/my/invoices/[0-9a-f-]{36}/", h)]
        if opened:
            pages["invoice"] = opened[0]
        assert "invoice" in pages, "the demo tenant has no issued invoice to open"
        for name, url in pages.items():
            _visit(page, url)
            _fits(page, url)
            _shot(page, f"tenant-{name}-390")
    finally:
        context.close()
