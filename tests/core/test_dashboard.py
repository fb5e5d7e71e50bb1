"""The dashboard shows the numbers that matter, a checklist of what is really set up (to
admins), and recent activity in words with links; in a fixed number of queries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billspree.core.scoping import organization_context
from tests.conftest import login_client

DASHBOARD_QUERIES = 45  # whatever the portfolio's size (see test_query_count_is_fixed)


def _card(html: str, slug: str) -> str:
    match = re.search(rf'<(a|div) class="stat card[^"]*"(?: href="([^"]*)")? '
                      rf'data-testid="card-{slug}">(.*?)</\1>', html, re.S)
    assert match, f"no card {slug}"
    return match.group(0)


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def _value(card: str) -> str:
    return _text(re.search(r'data-testid="card-value">(.*?)</span>', card, re.S).group(1))


def _dashboard(world, user=None) -> str:
    response = login_client(user or world.admin, world.org).get("/")
    assert response.status_code == 200
    return response.content.decode()


def _issued(world, *, currency: str, total: str, issued_at, number: str):
    """An issued invoice row written directly (the engine and issuing are tested
    elsewhere; the guard trigger allows inserting an issued row)."""
    from billing.models import Invoice, InvoiceStatus

    draft = world.objects["invoice"]
    _issued.count += 1  # each its own past month (one invoice per tenant and period)
    start = datetime(2000 + _issued.count // 12, _issued.count % 12 + 1, 1, tzinfo=UTC)
    return Invoice.objects.create(
        tenant=draft.tenant, billing_point=draft.billing_point, subscription=draft.subscription,
        period_start=start, period_end=start + timedelta(days=28), currency=currency,
        net_total=Decimal(total), total=Decimal(total), status=InvoiceStatus.ISSUED,
        number=number, issued_at=issued_at,
    )


_issued.count = 0


def _eur(card_text: str) -> Decimal:
    match = re.search(r"([\d,]+\.\d\d) EUR", card_text)
    return Decimal(match.group(1).replace(",", "")) if match else Decimal(0)


def test_billed_this_month_sums_issued_invoices_per_currency(populated):
    world = populated[0]
    before = _eur(_text(_card(_dashboard(world), "billed-this-month")))
    now = timezone.now()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    with organization_context(world.org):
        _issued(world, currency="EUR", total="1000.10", issued_at=now, number="T-1")
        _issued(world, currency="CHF", total="2500.05", issued_at=now, number="T-2")
        _issued(world, currency="EUR", total="777.00", issued_at=month_start - timedelta(days=1),
                number="T-3")  # last month: not this period's
    card = _card(_dashboard(world), "billed-this-month")
    text = _text(card)
    assert _eur(text) == before + Decimal("1000.10")
    assert "2,500.05 CHF" in text
    assert 'href="/billing/?status=issued"' in card


def test_runs_awaiting_review_are_counted_and_linked(populated):
    from billing.models import BillRun, BillRunStatus

    world = populated[0]
    with organization_context(world.org):
        BillRun.objects.update(status=BillRunStatus.REVIEW)
        waiting = BillRun.objects.count()
    card = _card(_dashboard(world), "runs-awaiting-review")
    assert _value(card) == str(waiting) and waiting
    assert 'href="/billing/runs/?status=review"' in card and "card-amber" in card


@pytest.mark.parametrize(("hours", "tone", "value"),
                         [(1, "green", "0"), (30, "amber", "1"), (80, "red", "1")])
def test_meters_unread_for_a_day_are_amber_then_red(populated, hours, tone, value):
    from readings.models import MeterReadingState

    world = populated[0]
    with organization_context(world.org):
        meter = world.objects["meter"]
        MeterReadingState.objects.filter(meter=meter).update(
            last_read_at=timezone.now() - timedelta(hours=hours))
    card = _card(_dashboard(world), "meters-unread-for-24-h")
    assert _value(card) == value
    assert f"card-{tone}" in card and f"tone-{tone}" in card
    if hours > 24:
        assert meter.serial_number in _text(card)


def test_gateways_offline_link_to_them_in_red(populated):
    from gateways.models import Gateway

    world = populated[0]
    with organization_context(world.org):
        Gateway.objects.update(last_poll_at=timezone.now(), consecutive_failures=99)
    card = _card(_dashboard(world), "gateways-offline")
    assert _value(card) == "1"
    assert 'href="/gateways/?health=offline"' in card and "card-red" in card


def test_getting_started_reflects_what_is_set_up(world_a, populated):
    html = _dashboard(populated[0])
    done = re.findall(r'data-testid="step" data-done="(yes|no)"', html)
    assert len(done) >= 7 and set(done) == {"yes"}, done


def test_getting_started_of_a_new_organization_is_to_do(world_a):
    html = _dashboard(world_a)
    done = re.findall(r'data-testid="step" data-done="(yes|no)"', html)
    assert len(done) >= 7 and set(done) == {"no"}, done
    steps = _text(html[html.index("Getting started"):html.index("Recent activity")])
    for thing in ("property", "billing points", "meters", "readings", "tenants", "tariffs",
                  "subscriptions", "Run billing"):
        assert thing in steps


@pytest.mark.parametrize("role", ["manager", "operator", "viewer"])
def test_getting_started_and_api_keys_are_for_admins_only(populated, role):
    world = populated[0]
    html = _dashboard(world, getattr(world, role))
    assert "Getting started" not in html and "API keys" not in html
    assert "/settings/api-keys/" not in html


def test_recent_activity_reads_as_words_with_links(populated):
    from billing import services
    from billing.models import Invoice

    world = populated[0]
    with organization_context(world.org):
        invoice = services.invoice_issue(invoice=world.objects["invoice"], actor=world.manager)
        invoice = Invoice.objects.select_related("billing_point").get(pk=invoice.pk)
    world.manager.first_name, world.manager.last_name = "Maria", "Keller"
    world.manager.save()
    html = _dashboard(world)
    rows = re.findall(r'<li data-testid="activity">(.*?)</li>', html, re.S)
    first = rows[0]
    assert _text(first).startswith(
        f"Maria Keller issued invoice {invoice.number} for {invoice.billing_point.name}")
    assert f'href="/billing/invoices/{invoice.public_id}/"' in first
    for row in rows:  # no raw action codes or ids in the words
        words = _text(row)
        assert not re.search(r"\b[a-z_]+\.[a-z_]+\b", words), words
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", words), words


def _grow(world, n: int, first: int) -> None:
    """n more of what the dashboard counts: meters with readings, gateways, issued
    invoices, audit events."""
    from gateways import services as gateway_services
    from meters.models import Property
    from readings.models import MeterReadingState
    from tests.gateways.factories import make_meter

    prop = Property.objects.get_or_create(name=f"Grown {world.marker}")[0]
    now = timezone.now()
    for i in range(first, first + n):
        meter = make_meter(f"GROW-{world.marker}-{i}", prop=prop)
        MeterReadingState.objects.create(meter=meter, last_read_at=now - timedelta(hours=i * 10),
                                         last_value=Decimal(i))
        gateway_services.gateway_create(property=prop, name=f"Grown gw {i} {world.marker}",
                                        host="127.0.0.1", port=1, actor=world.admin)
        _issued(world, currency=("EUR", "CHF", "USD")[i % 3], total=f"{i}.50",
                issued_at=now, number=f"G-{i}")


def test_query_count_is_fixed(populated, django_assert_max_num_queries):
    """The queries are the same for 8 or 24 more meters, gateways and invoices (the
    recent events are of the same kinds in both, so they ask the same questions)."""
    world = populated[0]
    client = login_client(world.admin, world.org)
    with organization_context(world.org):
        _grow(world, 8, 0)
    client.get("/")  # sessions, caches
    with CaptureQueriesContext(connection) as small:
        client.get("/")
    with organization_context(world.org):
        _grow(world, 16, 8)
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        client.get("/")
    with CaptureQueriesContext(connection) as large:
        html = client.get("/").content.decode()
    assert len(large) == len(small), "the dashboard's queries grow with the portfolio"
    assert "USD" in _text(_card(html, "billed-this-month"))
