"""The Content-Security-Policy in a real browser: a manager, an admin and a tenant walk the
main pages of both portals (dashboard, properties, meters, a meter's charts, bill runs and
a run in review, invoices, members, anomalies, gateways, tariffs, a tenant's home and
consumption charts, the API docs) and Chromium reports no violation, neither as a
``securitypolicyviolation`` event nor as a console error. The bits that used inline
handlers still work: the "recompute stale drafts" confirmation, "select all drafts", the
role and anomaly-status selects that submit themselves, the rule form's kind switch, and
the htmx-polled progress bar."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from billing import services as billing_services
from billing.models import BillRunStatus
from billspree.core.models import Membership
from billspree.core.scoping import organization_context
from readings.models import Reading, Source
from readings.parsing import RowIn
from readings.services import reading_ingest
from tests.billing.builders import at, september_houses
from tests.e2e.conftest import portal_login
from tests.tenants.factories_portal import make_portal_tenant

pytestmark = pytest.mark.e2e
SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)

WATCH = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} `
    + `at ${e.sourceFile || document.location.pathname}:${e.lineNumber} ${e.sample || ""}`);
});
"""


class Violations:
    """Collects CSP violations and CSP console errors of every page a context opens."""

    def __init__(self, context):
        self.found: list[str] = []
        context.expose_function("__cspViolation", lambda text: self.found.append(text))
        context.add_init_script(WATCH)
        self.context = context

    def watch(self, page) -> None:
        def on_console(msg):
            text = msg.text
            if msg.type == "error" and ("Content Security Policy" in text
                                        or "Content-Security-Policy" in text):
                self.found.append(f"console: {text}")
        page.on("console", on_console)

    def assert_none(self, where: str) -> None:
        assert self.found == [], f"CSP violations on {where}: {self.found}"


def watched_context(browser, live_server, viewport, touch=False):
    """A browser context at ``viewport`` (a phone's with touch), its first page, and the
    CSP violations of everything it opens."""
    context = browser.new_context(base_url=live_server.url, viewport=viewport,
                                  has_touch=touch, is_mobile=touch)
    violations = Violations(context)
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations.watch(page)
    return context, page, violations


@pytest.fixture
def world(world_a):
    """Two houses billed by a run waiting for review, one draft stale; an anomaly; a tenant
    with a portal login, an invoice and readings."""
    houses = september_houses(world_a.org)
    with organization_context(world_a.org):
        batch = billing_services.batch_create(name="Monthly — Houses")
        billing_services.batch_subscriptions_set(batch=batch,
                                                 add=[h.subscription for h in houses])
        run = billing_services.bill_run_start(batch=batch, period_start=SEP, period_end=OCT,
                                              trigger="manual", actor=world_a.manager)
        # a corrected reading makes the first house's draft stale
        reading_ingest(rows=[RowIn(0, houses[0].meter.serial_number, at(OCT),
                                   Decimal("1442.5"))], source=Source.API, replace=True)
        Reading.objects.filter(meter=houses[1].meter).update(is_anomaly=True)
        tenant = make_portal_tenant(world_a, "WOMBAT")
    run.refresh_from_db()
    assert run.status == BillRunStatus.REVIEW, run.status
    return houses, run, tenant


@pytest.fixture
def browse(browser, live_server):
    contexts = []

    def open_page():
        context = browser.new_context(base_url=live_server.url,
                                      viewport={"width": 1280, "height": 860})
        contexts.append(context)
        violations = Violations(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        violations.watch(page)
        return page, violations

    yield open_page
    for context in contexts:
        context.close()


def visit(page, violations, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy, (url, policy)
    page.wait_for_load_state("networkidle")
    violations.assert_none(url)


def test_manager_pages_run_under_the_policy_and_their_controls_work(world, world_a, browse):
    houses, run, _ = world
    page, violations = browse()
    portal_login(page, world_a.manager.email)
    for url in ("/", "/properties/", f"/properties/{houses[0].prop.public_id}/",
                "/meters/", f"/readings/meters/{houses[0].meter.public_id}/",
                "/readings/", "/readings/anomalies/", "/tenants/",
                f"/tenants/{houses[0].tenant.public_id}/", "/billing/", "/billing/runs/",
                "/billing/batches/", "/gateways/", "/tariffs/", "/api/v1/docs/"):
        visit(page, violations, url)

    # the meter page's charts are drawn (static/js/chart.js on uPlot, styles via the CSSOM)
    page.goto(f"/readings/meters/{houses[0].meter.public_id}/")
    expect(page.locator("figure.chart-drawn canvas").first).to_be_visible()
    drawn, empty = page.locator("figure.chart-drawn"), page.get_by_test_id("chart-empty")
    assert drawn.count() >= 1 and drawn.count() + empty.count() == 2

    # the API docs render the schema (Swagger UI scripts ran)
    page.goto("/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Billspree API")
    expect(page.locator(".opblock").first).to_be_visible()
    # open an operation and try it out: examples, schemas and the request form render
    page.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    page.get_by_role("button", name="Try it out").first.click()
    page.get_by_role("button", name="Execute").first.click()
    expect(page.locator(".responses-wrapper .live-responses-table").first).to_be_visible()
    page.get_by_role("button", name="Authorize").first.click()
    expect(page.locator(".modal-ux")).to_be_visible()
    page.wait_for_timeout(300)
    violations.assert_none("the API docs")

    # the anomalies status select submits itself
    page.goto("/readings/anomalies/")
    page.get_by_label("Status").select_option(index=1)
    page.wait_for_url("**/readings/anomalies/?status=*")
    violations.assert_none("anomalies")

    # run detail: select all, then the recompute confirmation (dismissed, then accepted)
    page.goto(f"/billing/runs/{run.public_id}/")
    review = page.get_by_test_id("run-review")
    expect(review).to_contain_text("Review: 2 drafts to issue")
    boxes = review.locator("input[name=invoices]")
    expect(boxes).to_have_count(2)
    review.get_by_label("Select all drafts").check()
    for i in range(2):
        expect(boxes.nth(i)).to_be_checked()
    review.get_by_label("Select all drafts").uncheck()
    for i in range(2):
        expect(boxes.nth(i)).not_to_be_checked()
    progress = page.get_by_test_id("run-progress")
    assert progress.locator(".progress-bar").evaluate(
        "b => b.getBoundingClientRect().width / b.parentElement.getBoundingClientRect().width"
    ) > 0.99
    questions: list[str] = []

    def answer(dialog, accept: bool):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.get_by_role("button", name="Recompute stale drafts").click()
    page.wait_for_timeout(300)
    assert questions == ["Recompute the 1 stale draft(s) from current data?"]
    expect(page.get_by_test_id("run-stale")).to_be_visible()  # nothing posted
    page.once("dialog", lambda d: answer(d, True))
    page.get_by_role("button", name="Recompute stale drafts").click()
    expect(page.get_by_test_id("run-stale")).to_have_count(0)
    assert len(questions) == 2
    violations.assert_none("the run page")

    # invoices
    visit(page, violations, "/billing/")
    page.locator("table a[href*='/billing/invoices/']").first.click()
    page.wait_for_load_state("networkidle")
    violations.assert_none("an invoice")


def test_admin_member_role_select_submits_itself(world_a, browse):
    page, violations = browse()
    portal_login(page, world_a.admin.email)
    visit(page, violations, "/settings/members/")
    visit(page, violations, "/settings/")
    visit(page, violations, "/settings/api-keys/")
    page.goto("/settings/members/")
    page.get_by_label(f"Role of {world_a.viewer.email}").select_option("operator")
    expect(page.locator(".flash")).to_be_visible()
    with organization_context(world_a.org):
        assert Membership.objects.get(user=world_a.viewer).role == "operator"
    violations.assert_none("members")

    # the tariff rule form shows the rows of the chosen kind (script moved out of the page)
    page.goto("/tariffs/")
    page.get_by_role("link", name="Create the first rate list").click()
    page.get_by_label("Name").fill("Water")
    page.get_by_label("Currency").select_option("EUR")
    page.get_by_label("Effective from").fill("2026-01-01")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("link", name="Add rule").click()
    tiers = page.locator("[data-kinds='tiered volume']")
    page.get_by_label("Kind").select_option("flat")
    expect(tiers).to_be_hidden()
    page.get_by_label("Kind").select_option("tiered")
    expect(tiers).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_load_state("networkidle")
    violations.assert_none("the tariff editor")


def test_tenant_portal_runs_under_the_policy(world, browse):
    _, _, tenant = world
    page, violations = browse()
    portal_login(page, tenant.user.email)
    for url in ("/my/", "/my/invoices/", f"/my/invoices/{tenant.invoice.public_id}/",
                "/my/consumption/", f"/my/consumption/{tenant.meter.public_id}/",
                "/my/profile/", "/my/profile/password/"):
        visit(page, violations, url)
    # the brand colour (a nonce'd <style>) applied
    page.goto("/my/")
    brand = page.evaluate(
        "getComputedStyle(document.documentElement).getPropertyValue('--brand').trim()")
    assert brand.lower() == tenant.access.organization.brand_color.lower()
    # the charts are drawn (static/js/chart.js on uPlot, styles via the CSSOM)
    page.goto(f"/my/consumption/{tenant.meter.public_id}/")
    expect(page.locator("figure.chart-drawn canvas").first).to_be_visible()
    height = page.locator("figure.chart-drawn canvas").first.evaluate(
        "c => c.getBoundingClientRect().height")
    assert height > 100
    violations.assert_none("the tenant portal")
