"""Issue 15, manager: the meter page leads to its readings and consumption; the billing point
page warns when its tariff needs data the meters do not deliver (one rule with the bill
run: ``billing.selectors.readiness``); a bill run's skip reasons link to their fix and the
skipped subscriptions are retried from the run page (drafts added to the run, nothing
billed twice); "Preview" opened from a billing point starts filled in."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import engine, services
from billing.models import BillRun, BillRunItem, BillRunStatus, Invoice, InvoiceStatus, ItemStatus
from billing.selectors import readiness
from billing.selectors.fixes import fixes_for
from billspree.core.errors import Conflict
from billspree.core.scoping import organization_context
from meters import services as meter_services
from meters.models import MeterType
from tariffs import services as tariff_services
from tests.billing.builders import BERLIN, at, make_house, read
from tests.conftest import login_client

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)
TOU_BANDS = [
    {"name": "Peak", "days": ["weekday"], "start": "07:00", "end": "20:00", "price": "0.32"},
    {"name": "Off-peak", "days": ["weekday"], "start": "20:00", "end": "07:00", "price": "0.21"},
    {"name": "Weekend", "days": ["weekend", "holiday"], "start": "00:00", "end": "00:00",
     "price": "0.19"},
]


def _in(world, fn):
    with organization_context(world.org):
        return fn()


def _berlin(world):
    world.org.time_zone = "Europe/Berlin"
    world.org.save()


def _tou_house():
    h = make_house(flat="0.30")
    energy = h.version.rules.get(name="Energy")
    tariff_services.charge_rule_update(rule=energy, kind="time_of_use", bands=TOU_BANDS,
                                       price=None)
    return h


def _today() -> date:
    return timezone.localdate(timezone=BERLIN)


# --- the rule: what the tariff needs that the meters do not deliver ----------------------


def test_tou_rate_on_a_monthly_meter_is_a_gap_and_hourly_readings_close_it(in_org_a):
    h = _tou_house()
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))  # read monthly
    [gap] = readiness.subscription_gaps(h.subscription, SEP, OCT)
    assert (gap.code, gap.severity, gap.meter) == ("tou_no_interval_data", "error",
                                                   h.meter.serial_number)
    assert "2 readings in 1–30 Sep 2026, about 30 days apart" in gap.message
    # the bill run agrees: the same code, so the same fix
    [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP,
                                     end=OCT).invoices
    assert not inv.can_bill
    run_diag = next(d for d in inv.diagnostics if d.code == gap.code)
    assert run_diag.as_dict()["meter"] == h.meter.serial_number
    monday = date(2026, 9, 7)
    read(h.meter, *[(at(monday) + timedelta(hours=n), str(1200 + n)) for n in range(3)])
    assert readiness.subscription_gaps(h.subscription, SEP, OCT) == []


def test_no_rate_for_a_meter_type_and_a_rate_without_its_meter(in_org_a):
    h = make_house(flat="0.30")
    gas = meter_services.meter_create(type=MeterType.GAS, serial_number="G-77")
    meter_services.meter_assign(billing_point=h.bp, meter=gas, connected_at=at(SEP),
                                initial_reading=Decimal("0"))
    water = tariff_services.charge_rule_create(
        version=h.version, name="Water", kind="flat", meter_type=MeterType.COLD_WATER,
        price=Decimal("2.10"), tax_rate=Decimal("7"))
    gaps = readiness.subscription_gaps(h.subscription, SEP, OCT)
    assert [(g.code, g.severity) for g in gaps] == [("no_rate", "error"),
                                                    ("rate_without_meter", "info")]
    assert "G-77" in gaps[0].message and "cold water" in gaps[1].message
    assert water.meter_type == MeterType.COLD_WATER


def test_no_meter_assigned_for_the_period(in_org_a):
    h = make_house(flat="0.30", connected=date(2026, 8, 1))
    assignment = h.meter.assignments.get()
    meter_services.meter_remove(assignment=assignment, removed_at=at(date(2026, 8, 20)),
                                final_reading=Decimal("1050"))
    [gap] = readiness.subscription_gaps(h.subscription, SEP, OCT)
    assert (gap.code, gap.severity) == ("no_active_meter", "warning")
    assert "electricity" in gap.message


def test_default_period_follows_the_batch_or_the_previous_month(in_org_a):
    h = make_house(connected=date(2026, 8, 1))
    assert readiness.default_period(h.subscription, date(2026, 12, 5)) == (
        date(2026, 11, 1), date(2026, 12, 1))
    batch = services.batch_create(name="Quarterly", cycle="quarterly", anchor_month=1)
    services.batch_subscriptions_set(batch=batch, add=[h.subscription])
    h.subscription.refresh_from_db()
    assert readiness.default_period(h.subscription, date(2026, 12, 5)) == (
        date(2026, 8, 1), date(2026, 10, 1))  # Jul–Sep, from the subscription's start
    later = make_house(connected=date(2027, 2, 10))
    assert readiness.default_period(later.subscription, date(2026, 12, 5)) == (
        date(2027, 2, 10), date(2027, 3, 1))


# --- the billing point page --------------------------------------------------------------


def test_billing_point_page_warns_about_a_tou_rate_on_a_monthly_meter(world_a):
    _berlin(world_a)
    h = _in(world_a, _tou_house)
    start, end = _in(world_a, lambda: readiness.default_period(h.subscription, _today()))
    _in(world_a, lambda: read(h.meter, (at(start), "1100"), (at(end), "1400")))
    client = login_client(world_a.manager, world_a.org)
    page = client.get(f"/billing-points/{h.bp.public_id}/").content.decode()
    assert 'data-testid="tariff-data-warning"' in page
    assert "would skip this billing point" in page and "needs interval data" in page
    assert f"/readings/meters/{h.meter.public_id}/" in page  # where it is fixed
    assert f"/billing/subscriptions/{h.subscription.public_id}/edit/" in page
    # a viewer is told, but not offered the fixes
    viewer = login_client(world_a.viewer, world_a.org).get(
        f"/billing-points/{h.bp.public_id}/").content.decode()
    assert "needs interval data" in viewer
    assert f"/billing/subscriptions/{h.subscription.public_id}/edit/" not in viewer


def test_billing_point_page_is_quiet_when_the_tariff_gets_its_data(world_a):
    _berlin(world_a)
    h = _in(world_a, lambda: make_house(flat="0.30"))
    client = login_client(world_a.manager, world_a.org)
    page = client.get(f"/billing-points/{h.bp.public_id}/").content.decode()
    assert 'data-testid="tariff-data-warning"' not in page


# --- a bill run's skip reasons: the fix, then retry -------------------------------------


@pytest.fixture
def skipped_run(world_a, django_capture_on_commit_callbacks):
    """A run of September over two houses; the second has no readings and is skipped."""
    _berlin(world_a)
    with organization_context(world_a.org):
        houses = [make_house(), make_house()]
        read(houses[0].meter, (at(SEP), "1100"), (at(OCT), "1400"))
        batch = services.batch_create(name="Monthly", billing_day=2)
        services.batch_subscriptions_set(batch=batch, add=[h.subscription for h in houses])
        with django_capture_on_commit_callbacks(execute=True):
            run = services.bill_run_start(batch=batch, period_start=SEP, period_end=OCT,
                                          trigger="portal")
        run.refresh_from_db()
    return run, houses


def test_skip_reasons_carry_the_meter_and_link_to_the_fix(world_a, skipped_run):
    run, houses = skipped_run
    item = _in(world_a, lambda: BillRunItem.objects.get(run=run, status=ItemStatus.SKIPPED))
    diag = next(d for d in item.diagnostics if d["code"] == "no_readings")
    assert diag["meter"] == houses[1].meter.serial_number
    client = login_client(world_a.manager, world_a.org)
    page = client.get(f"/billing/runs/{run.public_id}/?show=skipped").content.decode()
    fixes = re.findall(r'data-testid="fix-links">(.*?)</span>', page, re.S)
    assert fixes and f"/readings/meters/{houses[1].meter.public_id}/" in fixes[0]
    assert "/readings/upload/" in fixes[0]
    assert f"/billing/run-items/{item.public_id}/retry/" in page
    assert f"/billing/runs/{run.public_id}/retry-skipped/" in page
    viewer = login_client(world_a.viewer, world_a.org).get(
        f"/billing/runs/{run.public_id}/?show=skipped").content.decode()
    assert "fix-links" not in viewer and "retry-skipped/" not in viewer


def test_fix_links_of_each_reason(in_org_a):
    h = make_house()
    sub = h.subscription
    meters = {h.meter.serial_number: h.meter}

    def urls(code, **extra):
        return [f.url for f in fixes_for({"code": code, **extra}, sub, meters)]

    assert urls("no_readings", meter=h.meter.serial_number)[:2] == [
        f"/readings/meters/{h.meter.public_id}/", "/readings/upload/"]
    assert f"/billing/subscriptions/{sub.public_id}/edit/" in urls("tou_no_interval_data")
    assert urls("no_rate")[:2] == [f"/billing/subscriptions/{sub.public_id}/edit/",
                                   f"/tariffs/plans/{h.plan.public_id}/edit/"]
    assert urls("no_active_meter")[0] == f"/billing-points/{h.bp.public_id}/assign/"
    assert urls("no_owner")[0] == f"/tenants/billing-points/{h.bp.public_id}/"
    assert urls("tenant_without_email", tenant_id=str(h.tenant.public_id))[0] == \
        f"/tenants/{h.tenant.public_id}/edit/"
    assert urls("something_new") == [f"/billing-points/{h.bp.public_id}/"]


def test_retry_skipped_bills_them_into_the_run_once(world_a, skipped_run):
    run, houses = skipped_run
    assert run.status == BillRunStatus.REVIEW
    client = login_client(world_a.manager, world_a.org)
    confirm = client.get(f"/billing/runs/{run.public_id}/retry-skipped/").content.decode()
    assert "Bill 1 skipped subscription again?" in confirm and houses[1].bp.name in confirm
    # nothing fixed yet: it stays skipped, with its reasons, and nothing is created
    r = client.post(f"/billing/runs/{run.public_id}/retry-skipped/", follow=True)
    assert "0 invoiced" in r.content.decode() and "still not billed" in r.content.decode()
    assert _in(world_a, lambda: Invoice.objects.filter(bill_run=run).count()) == 1
    # the fix: the readings arrive; the retry adds the draft to this run
    _in(world_a, lambda: read(houses[1].meter, (at(SEP), "1100"), (at(OCT), "1250")))
    r = client.post(f"/billing/runs/{run.public_id}/retry-skipped/", follow=True)
    assert "1 invoiced (1 draft(s) added to this run)" in r.content.decode()
    drafts = _in(world_a, lambda: list(Invoice.objects.filter(
        bill_run=run, status=InvoiceStatus.DRAFT).values_list("subscription_id", flat=True)))
    assert sorted(drafts) == sorted(h.subscription.pk for h in houses)
    item = _in(world_a, lambda: BillRunItem.objects.get(run=run,
                                                        subscription=houses[1].subscription))
    assert (item.status, item.invoice_count, item.attempts) == (ItemStatus.CREATED, 1, 3)
    # again: nothing left to retry, nothing billed twice
    r = client.post(f"/billing/runs/{run.public_id}/retry-skipped/", follow=True)
    assert "No skipped subscription is left" in r.content.decode()
    assert _in(world_a, lambda: Invoice.objects.filter(bill_run=run).count()) == 2
    with organization_context(world_a.org), pytest.raises(Conflict):
        services.bill_run_retry_skipped(run=run)


def test_retry_skipped_after_all_was_issued_reopens_the_review(world_a, skipped_run):
    run, houses = skipped_run
    with organization_context(world_a.org):
        services.bill_run_issue(run=run, invoices=None)
        run.refresh_from_db()
        assert run.status == BillRunStatus.COMPLETED
        read(houses[1].meter, (at(SEP), "1100"), (at(OCT), "1250"))
        tally = services.bill_run_retry_skipped(run=run)
        run.refresh_from_db()
    assert (tally["created"], tally["invoices"]) == (1, 1)
    assert run.status == BillRunStatus.REVIEW


def test_retry_skipped_of_a_cancelled_run_is_refused(world_a, skipped_run):
    run, _ = skipped_run
    with organization_context(world_a.org):
        services.bill_run_cancel(run=run)
        with pytest.raises(Conflict):
            services.bill_run_retry_skipped(run=BillRun.objects.get(pk=run.pk))
    client = login_client(world_a.manager, world_a.org)
    page = client.get(f"/billing/runs/{run.public_id}/?show=skipped").content.decode()
    assert "retry-skipped/" not in page


def test_viewer_cannot_retry(world_a, skipped_run):
    run, _ = skipped_run
    client = login_client(world_a.viewer, world_a.org)
    r = client.post(f"/billing/runs/{run.public_id}/retry-skipped/")
    assert r.status_code == 403
    assert _in(world_a, lambda: Invoice.objects.filter(bill_run=run).count()) == 1


# --- "Preview" opened from a billing point ----------------------------------------------


def test_preview_from_a_billing_point_starts_filled_in(world_a):
    _berlin(world_a)
    h = _in(world_a, lambda: make_house())
    start, end = _in(world_a, lambda: readiness.default_period(h.subscription, _today()))
    client = login_client(world_a.manager, world_a.org)
    bp_page = client.get(f"/billing-points/{h.bp.public_id}/").content.decode()
    link = f"/billing/preview/?subscription={h.subscription.public_id}"
    assert link in bp_page
    r = client.get(link)
    page = r.content.decode()
    assert r.status_code == 200
    assert "data-field=" not in page  # no field errors
    assert f'value="{h.subscription.public_id}" selected' in page
    assert f'value="{start:%Y-%m-%d}"' in page and f'value="{end:%Y-%m-%d}"' in page
    # the dry run's reasons link to their fix too
    r = client.get(f"{link}&start=2026-09-01&end=2026-10-01")
    assert r.status_code == 200
    assert f"/readings/meters/{h.meter.public_id}/" in r.content.decode()  # no readings
    # a stale id opens the empty choice, not an error
    r = client.get("/billing/preview/?subscription=00000000-0000-0000-0000-000000000000")
    assert r.status_code == 200 and "data-field=" not in r.content.decode()
    # submitted without the period: the field is named, nothing computed
    r = client.get(f"{link}&start=&end=")
    assert r.status_code == 400 and 'data-field="start"' in r.content.decode()


def test_engine_rule_for_interval_data_is_shared():
    from tariffs import pricing

    tou = pricing.Rule(kind=pricing.TIME_OF_USE, name="ToU")
    flat = pricing.Rule(kind=pricing.FLAT, name="Flat", price=Decimal("0.3"))
    assert engine.needs_interval_data([flat, tou]) and not engine.needs_interval_data([flat])


def test_retry_skipped_through_the_api(world_a, world_b, skipped_run):
    from tests.conftest import api_client

    run, houses = skipped_run
    url = f"/api/v1/bill-runs/{run.public_id}/retry-skipped/"
    assert api_client(key=world_a.read_key).post(url).status_code == 403
    assert api_client(key=world_b.write_key).post(url).status_code == 404
    manager = api_client(key=world_a.write_key)
    _in(world_a, lambda: read(houses[1].meter, (at(SEP), "1100"), (at(OCT), "1250")))
    r = manager.post(url)
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["retried"]["created"] == 1 and body["progress"]["skipped"] == 0
    again = manager.post(url)
    assert again.status_code == 409 and "No skipped subscription" in again.json()["error"][
        "message"]
