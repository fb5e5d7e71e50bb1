"""Draft review: each draft beside the previous period of its billing point (amount,
consumption, change in %, outliers flagged), a draft linking back to its run, and line
descriptions as people write them on stored drafts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from billing import services
from billing.models import (
    BillRun,
    BillRunStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from billing.selectors.review import change_percent, draft_comparisons, with_previous
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.conftest import login_client

AUG, SEP, OCT = date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1)


def _issue(house, start, end):
    [inv] = services.invoice_create_draft(subscriptions=[house.subscription], start=start,
                                          end=end)
    return services.invoice_issue(invoice=inv)


@pytest.fixture
def review(world_a):
    """Three flats at 0.30/kWh + 19 % VAT (no standing charge), reviewed for September:
    "up" used 100 kWh in August (35.70) and 180 in September (64.26: +80 %), "steady" 100
    then 120 (+20 %), "new" moved in on 1 September (no previous invoice). September's
    drafts belong to a bill run."""
    world_a.org.time_zone = "Europe/Berlin"
    world_a.org.save()
    with organization_context(world_a.org):
        up = make_house(flat="0.30", standing=False)
        steady = make_house(flat="0.30", standing=False)
        new = make_house(flat="0.30", standing=False, connected=SEP)
        read(up.meter, (at(AUG), "1000"), (at(SEP), "1100"), (at(OCT), "1280"))
        read(steady.meter, (at(AUG), "1000"), (at(SEP), "1100"), (at(OCT), "1220"))
        read(new.meter, (at(SEP), "1000"), (at(OCT), "1050"))
        previous = {"up": _issue(up, AUG, SEP), "steady": _issue(steady, AUG, SEP)}
        batch = services.batch_create(name="Monthly review", billing_day=2)
        run = BillRun.objects.create(batch=batch, period_start=SEP, period_end=OCT,
                                     status=BillRunStatus.REVIEW, total_items=3,
                                     finished_at=timezone.now())
        drafts = services.invoice_create_draft(
            subscriptions=[h.subscription for h in (up, steady, new)], start=SEP, end=OCT)
        Invoice.objects.filter(pk__in=[d.pk for d in drafts]).update(bill_run=run)
    return {"up": up, "steady": steady, "new": new, "run": run, "previous": previous,
            "world": world_a}


def _draft(house):
    return Invoice.objects.get(billing_point=house.bp, status=InvoiceStatus.DRAFT)


def test_change_percent():
    assert change_percent(D("64.26"), D("35.70")) == D("80.0")
    assert change_percent(D("10"), D("20")) == D("-50.0")
    assert change_percent(D("5"), D("0")) is None


def test_review_compares_each_draft_with_the_previous_period(review):
    with organization_context(review["world"].org):
        drafts = {h: _draft(review[h]) for h in ("up", "steady", "new")}
        found = draft_comparisons(list(with_previous(
            Invoice.objects.filter(pk__in=[d.pk for d in drafts.values()]))))
        up, steady, new = (found[drafts[h].pk] for h in ("up", "steady", "new"))
    assert up.previous.pk == review["previous"]["up"].pk
    assert (up.previous_total, up.total, up.change) == (D("35.70"), D("64.26"), D("80.0"))
    [kwh] = up.usage
    assert (kwh.unit, kwh.previous, kwh.quantity, kwh.change) == ("kWh", 100, 180, D("80.0"))
    assert up.outlier and set(up.reasons) == {"total", "kWh"}
    assert steady.change == D("20.0") and not steady.outlier
    assert new.previous is None and new.change is None and not new.outlier
    assert [(u.previous, u.quantity) for u in new.usage] == [(None, 50)]


def test_threshold_is_configurable(review, settings):
    settings.BILL_REVIEW_OUTLIER_PERCENT = 15
    with organization_context(review["world"].org):
        steady = _draft(review["steady"])
        assert draft_comparisons([steady])[steady.pk].outlier  # +20 % ≥ 15 %
        assert not draft_comparisons([steady], threshold=25)[steady.pk].outlier


def test_run_review_list_shows_previous_amount_change_and_outlier(review):
    client = login_client(review["world"].manager, review["world"].org)
    page = client.get(f"/billing/runs/{review['run'].public_id}/").content.decode()
    assert "Previous period" in page and "Change" in page
    rows = {name: page.split(f">Tenant {n}</a>")[1].split("</tr>")[0]
            for name, n in ((h, review[h].tenant.name.split()[-1])
                            for h in ("up", "steady", "new"))}
    assert "35.70 EUR" in rows["up"] and "+80.0 %" in rows["up"]
    assert 'data-testid="outlier"' in rows["up"]
    assert review["previous"]["up"].number in rows["up"]
    assert "+20.0 %" in rows["steady"] and 'data-testid="outlier"' not in rows["steady"]
    assert "no previous invoice" in rows["new"]


def test_draft_page_compares_and_links_back_to_its_run(review):
    client = login_client(review["world"].manager, review["world"].org)
    with organization_context(review["world"].org):
        up, new = _draft(review["up"]), _draft(review["new"])
    page = client.get(f"/billing/invoices/{up.public_id}/").content.decode()
    assert f'href="/billing/runs/{review["run"].public_id}/"' in page
    assert 'data-testid="invoice-run"' in page
    assert "Compared with the previous period" in page and "(+80.0 %)" in page
    assert 'data-testid="outlier"' in page
    page = client.get(f"/billing/invoices/{new.public_id}/").content.decode()
    assert "No previous invoice" in page and 'data-testid="outlier"' not in page


def test_stored_lines_read_as_people_write_them_and_keep_exact_numbers(review):
    with organization_context(review["world"].org):
        [line] = InvoiceLine.objects.filter(invoice=_draft(review["up"]))
        [old] = InvoiceLine.objects.filter(invoice=review["previous"]["up"])
    assert line.description == "Energy, 1–30 Sep 2026: 180 kWh × 0.3000"
    assert (line.quantity, line.unit, line.unit_price, line.amount) == (
        D("180"), "kWh", D("0.30"), D("54.00"))
    assert line.charge == "Energy" and line.kind == LineKind.USAGE
    assert old.description == "Energy, 1–31 Aug 2026: 100 kWh × 0.3000"


def test_minimum_charge_is_recognised_by_kind_not_words(world_a):
    from tariffs import services as tariff_services

    with organization_context(world_a.org):
        h = make_house(flat="0.30", standing=False)
        rule = h.version.rules.get()
        tariff_services.charge_rule_update(rule=rule, minimum_charge=D("50"))
        read(h.meter, (at(SEP), "1000"), (at(OCT), "1010"))
        [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP,
                                              end=OCT)
        lines = list(inv.lines.order_by("position"))
    assert [(x.kind, x.amount) for x in lines] == [
        (LineKind.USAGE, D("3.00")), (LineKind.MINIMUM, D("47.00"))]
    assert lines[1].description == \
        "Energy, 1–30 Sep 2026: top-up to the minimum charge of 50.00 EUR"
    assert inv.net_total == D("50.00")


def test_review_list_of_2000_drafts_does_not_query_per_draft(
        review, django_assert_max_num_queries):
    """The run page with 3 drafts, then with 2,003: the same number of queries."""
    world = review["world"]
    client = login_client(world.manager, world.org)
    url = f"/billing/runs/{review['run'].public_id}/"
    with django_assert_max_num_queries(60) as few:
        assert client.get(url).status_code == 200
    with organization_context(world.org):
        up = _draft(review["up"])
        start = up.period_end + timedelta(days=400)
        Invoice.objects.bulk_create([
            Invoice(organization=world.org, tenant=up.tenant, billing_point=up.billing_point,
                    subscription=up.subscription, bill_run=review["run"],
                    period_start=start + timedelta(days=n), currency="EUR",
                    period_end=start + timedelta(days=n + 1), net_total=D("10"),
                    tax_total=D("1.90"), total=D("11.90"))
            for n in range(2000)
        ])
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url).content.decode()
    assert "Review: 2003 drafts to issue" in page


def test_late_data_matches_lines_by_charge_whatever_their_words():
    """A line of before (its description begins with the rule's name) and a re-rated line
    (words with the days, the name in ``charge``) are the same charge of the period."""
    from billing.services.adjustment_deltas import charge_key

    old = charge_key(LineKind.USAGE, 7, "electricity", "Energy: 0–100 kWh", D("19"))
    new = charge_key(LineKind.USAGE, 7, "electricity",
               "Energy, 1–14 Sep 2026, first 100 kWh: 100 kWh × 0.2000", D("19"), "Energy")
    assert old == new
