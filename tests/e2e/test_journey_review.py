"""Draft review in a real browser: a manager starts a bill run, the review list shows each
draft beside the previous period (amount, % change, an outlier flagged, "no previous
invoice"), a draft opens with its comparison and lines that read as people write them, and
links back to its run."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import expect

from billing import services
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.e2e.conftest import portal_login

pytestmark = pytest.mark.e2e

AUG, SEP, OCT = date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)
SHOTS = os.environ.get("REVIEW_SCREENSHOTS", "")


@pytest.fixture
def houses(world_a):
    """"up" used 100 kWh in August (35.70 EUR, issued) and 180 in September (+80 %);
    "new" moved in on 1 September (no previous invoice). Both in one batch."""
    world_a.org.time_zone = "Europe/Berlin"
    world_a.org.save()
    with organization_context(world_a.org):
        up = make_house(flat="0.30", standing=False)
        new = make_house(flat="0.30", standing=False, connected=SEP)
        read(up.meter, (at(AUG), "1000"), (at(SEP), "1100"), (at(OCT), "1280"))
        read(new.meter, (at(SEP), "1000"), (at(OCT), "1050"))
        [aug] = services.invoice_create_draft(subscriptions=[up.subscription], start=AUG,
                                              end=SEP)
        services.invoice_issue(invoice=aug)
        batch = services.batch_create(name="Monthly review", billing_day=2)
        services.batch_subscriptions_set(batch=batch, add=[up.subscription, new.subscription])
    return up, new, batch


def _shot(page, name: str) -> None:
    if not SHOTS:
        return
    Path(SHOTS).mkdir(parents=True, exist_ok=True)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 860})
    page.reload()


def test_review_journey(page, world_a, houses):
    up, new, batch = houses
    portal_login(page, world_a.manager.email)
    page.goto(f"/billing/batches/{batch.public_id}/")
    page.get_by_role("link", name="Start run…").first.click()
    page.get_by_label("Period start").fill("2026-09-01")
    page.get_by_label("Period end").fill("2026-10-01")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Start run").click()

    review = page.get_by_test_id("run-review")
    expect(review).to_contain_text("Review: 2 drafts to issue")
    expect(review.get_by_role("columnheader", name="Previous period")).to_be_visible()
    row_up = review.locator("tr", has_text=up.tenant.name)
    expect(row_up.get_by_test_id("review-previous")).to_contain_text("35.70 EUR")
    expect(row_up.get_by_test_id("review-change")).to_contain_text("+80.0 %")
    expect(row_up.get_by_test_id("outlier")).to_be_visible()
    row_new = review.locator("tr", has_text=new.tenant.name)
    expect(row_new.get_by_test_id("review-previous")).to_have_text("no previous invoice")
    expect(row_new.get_by_test_id("outlier")).to_have_count(0)
    run_url = page.url
    _shot(page, "review-run")

    # the draft: its comparison, lines in words with the exact numbers beside them
    row_up.get_by_role("link", name=up.tenant.name).click()
    expect(page.get_by_role("heading", name="Draft invoice")).to_be_visible()
    compare = page.get_by_test_id("review-compare")
    expect(compare).to_contain_text("35.70 → 64.26 EUR")
    expect(compare).to_contain_text("(+80.0 %)")
    expect(compare.get_by_test_id("outlier")).to_be_visible()
    lines = page.locator(".invoice-lines tbody")
    expect(lines).to_contain_text("Energy, 1–30 Sep 2026: 180 kWh × 0.3000")
    expect(lines).to_contain_text("180 kWh")
    _shot(page, "review-draft")

    # back to its run
    page.get_by_test_id("invoice-run").get_by_role("link").click()
    expect(page).to_have_url(run_url)
    expect(page.get_by_test_id("run-review")).to_contain_text("Review: 2 drafts to issue")
