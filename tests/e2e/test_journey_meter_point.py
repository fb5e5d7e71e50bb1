"""Issue 15, a manager's journey in Chromium: the meter page leads to the readings and the
consumption; a billing point on a time-of-use rate whose meter is read monthly warns
before any run; a bill run's skip reason links to its fix (the meter's readings), the
reading is entered there, the skipped subscription is retried from the run page and its
draft appears for review; "Preview" opened from a billing point starts filled in."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing import services
from billing.models import BillRun, Invoice, InvoiceStatus
from billing.selectors import readiness
from billspree.core.scoping import organization_context
from tariffs import services as tariff_services
from tests.billing.builders import BERLIN, at, make_house, read
from tests.e2e.conftest import ARTIFACTS, portal_login

pytestmark = pytest.mark.e2e

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)
TOU_BANDS = [
    {"name": "Peak", "days": ["weekday"], "start": "07:00", "end": "20:00", "price": "0.32"},
    {"name": "Off-peak", "days": ["weekday"], "start": "20:00", "end": "07:00", "price": "0.21"},
    {"name": "Weekend", "days": ["weekend", "holiday"], "start": "00:00", "end": "00:00",
     "price": "0.19"},
]
SHOTS = os.environ.get("BILLSPREE_SHOTS")  # set to a folder to keep screenshots


def _shot(page, name: str) -> None:
    if not SHOTS:
        return
    folder = ARTIFACTS if SHOTS == "1" else __import__("pathlib").Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.reload()
        page.screenshot(path=str(folder / f"meterpt_{name}_{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 860})
    page.reload()


@pytest.fixture
def setup(world_a):
    """Two houses in a September run (the second unread: skipped) and a third on a
    time-of-use rate whose meter is read monthly."""
    world_a.org.time_zone = "Europe/Berlin"
    world_a.org.save()
    with organization_context(world_a.org):
        billed, unread = make_house(), make_house()
        read(billed.meter, (at(SEP), "1100"), (at(OCT), "1400"))
        batch = services.batch_create(name="Monthly — Houses", billing_day=2)
        services.batch_subscriptions_set(batch=batch,
                                         add=[billed.subscription, unread.subscription])
        run = services.bill_run_start(batch=batch, period_start=SEP, period_end=OCT,
                                      trigger="portal")
        tou = make_house(flat="0.30")
        tariff_services.charge_rule_update(rule=tou.version.rules.get(name="Energy"),
                                           kind="time_of_use", bands=TOU_BANDS, price=None)
        start, end = readiness.default_period(tou.subscription,
                                              timezone.localdate(timezone=BERLIN))
        read(tou.meter, (at(start), "1100"), (at(end - timedelta(days=1)), "1400"))
    return {"run": run, "billed": billed, "unread": unread, "tou": tou}


def test_meter_point_journey(page, world_a, setup):
    run, unread, tou = setup["run"], setup["unread"], setup["tou"]
    portal_login(page, world_a.manager.email)

    # the meter page leads to the readings and the consumption
    page.goto(f"/meters/{setup['billed'].meter.public_id}/")
    panel = page.get_by_test_id("meter-readings-panel")
    expect(panel).to_contain_text("Latest reading")
    expect(panel).to_contain_text("1400 kWh")
    _shot(page, "meter")
    page.get_by_role("link", name="Readings, chart & consumption").click()
    expect(page).to_have_url(re.compile(rf"/readings/meters/{setup['billed'].meter.public_id}/"))
    expect(page.get_by_test_id("meter-readings")).to_contain_text("1400")

    # a time-of-use rate on a meter read monthly: the billing point warns ahead
    page.goto(f"/billing-points/{tou.bp.public_id}/")
    warning = page.get_by_test_id("tariff-data-warning")
    expect(warning).to_contain_text("would skip this billing point")
    expect(warning).to_contain_text("needs interval data")
    expect(warning).to_contain_text(tou.meter.serial_number)
    _shot(page, "billing_point_warning")

    # "Preview" from the billing point opens filled in, without errors
    page.get_by_role("link", name="Preview").first.click()
    expect(page).to_have_url(re.compile(r"/billing/preview/\?subscription="))
    expect(page.get_by_label("Subscription")).to_have_value(str(tou.subscription.public_id))
    expect(page.get_by_label("Start")).not_to_have_value("")
    expect(page.get_by_label("End")).not_to_have_value("")
    expect(page.locator("p.error")).to_have_count(0)
    _shot(page, "preview_prefilled")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".preview-invoice")).to_contain_text("no interval data")
    expect(page.locator(".preview-invoice").get_by_role(
        "link", name=f"Readings of {tou.meter.serial_number}").first).to_be_visible()

    # the run skipped the unread house: the reason links to the meter's readings
    page.goto(f"/billing/runs/{run.public_id}/?show=skipped")
    report = page.get_by_test_id("run-report")
    expect(report).to_contain_text(unread.bp.name)
    expect(report).to_contain_text("no readings")
    _shot(page, "run_skipped")
    report.get_by_role("link", name=f"Readings of {unread.meter.serial_number}").click()
    expect(page).to_have_url(re.compile(rf"/readings/meters/{unread.meter.public_id}/"))

    # the fix: the reading of 1 October is entered on that page
    page.get_by_label("Read at").fill("2026-10-01T00:00")
    page.get_by_label("Register value").fill("1250")
    page.get_by_role("button", name="Check").click()
    page.get_by_role("button", name="Save reading").click()
    expect(page.get_by_text(f"Reading 1250 saved for {unread.meter.serial_number}")) \
        .to_be_visible()

    # back on the run page: retry that one subscription; its draft appears for review
    page.goto(f"/billing/runs/{run.public_id}/?show=skipped")
    page.get_by_test_id("run-item").filter(has_text=unread.bp.name) \
        .get_by_role("link", name="Retry…").click()
    expect(page.get_by_role("heading", name=re.compile("Retry"))).to_be_visible()
    page.get_by_role("button", name="Retry").click()
    expect(page.locator(".flash")).to_contain_text("Retried")
    review = page.get_by_test_id("run-review")
    expect(review).to_contain_text("Review: 2 drafts to issue")
    expect(review).to_contain_text(unread.tenant.name)
    with organization_context(world_a.org):
        assert Invoice.objects.filter(bill_run=BillRun.objects.get(pk=run.pk),
                                      status=InvoiceStatus.DRAFT).count() == 2
    page.goto(f"/billing/runs/{run.public_id}/?show=skipped")
    expect(page.get_by_test_id("run-report")).to_contain_text("Nothing was skipped")


def test_retry_all_skipped_from_the_run_page(page, world_a, setup):
    run, unread = setup["run"], setup["unread"]
    with organization_context(world_a.org):
        read(unread.meter, (at(SEP), "1100"), (at(OCT), "1250"))
    portal_login(page, world_a.manager.email)
    page.goto(f"/billing/runs/{run.public_id}/?show=skipped")
    page.get_by_role("link", name="Retry all 1 skipped…").click()
    expect(page.get_by_role("heading", name="Bill 1 skipped subscription again?")) \
        .to_be_visible()
    page.get_by_role("button", name="Retry 1").click()
    expect(page.locator(".flash")).to_contain_text("1 invoiced")
    expect(page.get_by_test_id("run-review")).to_contain_text("Review: 2 drafts to issue")
