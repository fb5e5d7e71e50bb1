"""Every portal and tenant-portal page of the demo seed renders, and shows local dates.

The demo (``manage.py demo_seed``: every app's ``demo.seed``) is what a prospect sees
first, so it is rendered as it is, not factory data: the URL resolver is walked like
``tests/test_isolation.py`` does, each ``<id>`` filled with the demo's own rows, as the
demo manager (in both demo organizations: Berlin and Zurich) and as the demo tenant.

A page fails on a 500, on "(end exclusive)", and where it shows a demo invoice's period
or the demo tenant's move-in: the inclusive local dates people say must be there
("1–30 Nov 2026"), the UTC-shifted ones (November starts on 31 Oct 23:00 UTC in Zurich)
must not.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.urls.converters import UUIDConverter

from billspree.core import timefmt
from billspree.core.management.commands.demo_seed import DEMO_PASSWORD, DEMO_USERS
from billspree.core.middleware import SESSION_KEY
from billspree.core.models import Organization
from billspree.core.scoping import organization_context
from tests.test_isolation import Route, all_routes, route_model, scoped_models

MANAGER = DEMO_USERS[0][0]
#: Not pages a logged-in manager or tenant browses (the API and the admin have their own
#: tests; the invitation and password-reset links need a token mailed to someone).
SKIPPED_PREFIXES = ("api/", "admin/", "accounts/reset/", "invite/", "my/invite/",
                    "accounts/logout/")

#: Models of the routes whose view does not declare one, by the route's first words.
ROUTE_MODELS = {
    "billing/invoices/": "billing.Invoice",
    "my/account/": "ledger.Account",
    "billing/lines/": "billing.InvoiceLine",
    "billing/credit-notes/": "billing.CreditNote",
    "billing/subscriptions/": "billing.Subscription",
    "tariffs/plans/": "tariffs.Plan",
    "tariffs/variants/": "tariffs.PlanVariant",
    "tariffs/templates/": "tariffs.PricingTemplate",
    "tariffs/add-ons/": "tariffs.AddOn",
    "tariffs/holiday-calendars/": "tariffs.HolidayCalendar",
    "tariffs/billing-point-rates/": "tariffs.BillingPointRateList",
    "settings/members/": "core.Membership",
    "settings/invitations/": "core.Invitation",
    "settings/api-keys/": "core.ApiKey",
    "organizations/switch/": "core.Organization",
    "my/consumption/": "meters.Meter",
    "my/switch/": "tenants.TenantAccess",
    "my/invoices/": "billing.Invoice",
    "my/credit-notes/": "billing.CreditNote",
}


@pytest.fixture
def demo(demo_db):
    """The demo as ``manage.py demo_seed`` leaves it, with the statements (PDF) its issued
    invoices queue after the commit rendered (tasks run inline in the tests); seeded once
    per test process and shared (``tests/demo_db.py``)."""
    return list(Organization.objects.order_by("name"))


def _model_of(route: Route):
    from django.apps import apps

    for prefix, label in ROUTE_MODELS.items():
        if route.pattern.startswith(prefix):
            return apps.get_model(label)
    model = route_model(route)
    return model if model in scoped_models() or model is Organization else None


def _ids(model, org) -> list[str]:
    if model is Organization:
        return [str(org.public_id)]
    if model is None or not any(f.name == "public_id" for f in model._meta.fields):
        return []
    qs = model.objects.unscoped().filter(organization=org).order_by("pk")
    return [str(v) for v in qs.values_list("public_id", flat=True)]


def _urls(route: Route, org) -> Iterator[str]:
    """The route filled with each of the demo's rows of its model (or just itself)."""
    names = [n for n, c in route.converters.items() if isinstance(c, UUIDConverter)]
    if not route.converters:
        yield route.fill({})
        return
    if len(names) != len(route.converters):
        return
    for value in _ids(_model_of(route), org):
        yield route.fill(dict.fromkeys(names, value))


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/pdf"):
        from pypdf import PdfReader

        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    return content.decode("utf-8", "replace")


def _client(email: str, org=None) -> Client:
    client = Client(raise_request_exception=True)
    assert client.login(email=email, password=DEMO_PASSWORD)
    if org is not None:
        session = client.session
        session[SESSION_KEY] = str(org.public_id)
        session.save()
    return client


def _walk(client: Client, routes: list[Route], org, *, max_per_route: int) -> dict[str, str]:
    """GET every route (each with up to ``max_per_route`` of the demo's rows that
    answer): ``{url: body}`` of the pages that answered 200; 500s fail at once."""
    pages, unreached = {}, []
    for route in routes:
        answered = 0
        for url in _urls(route, org):
            response = client.get(url)
            assert response.status_code < 500, f"{url} answered {response.status_code}"
            if response.status_code == 404:
                continue
            answered += 1
            if response.status_code == 200:
                pages[url] = _body(response)
            if response.status_code != 200 or answered >= max_per_route:
                break
        if route.converters and not answered:
            unreached.append(route.pattern)
    pages["unreached"] = "\n".join(unreached)
    return pages


def _utc_shifted_day(value) -> list[str]:
    """How a local midnight reads when it is (wrongly) shown in UTC."""
    at = value.astimezone(UTC)
    return [timefmt.format_day(at, UTC), f"{at:%Y-%m-%d}"]


def test_every_demo_page_renders_with_local_dates(demo):
    from billing.models import Invoice
    from tenants.demo import DEMO_TENANT_EMAIL
    from tenants.models import TenantAccess

    routes = [r for r in all_routes() if not r.pattern.startswith(SKIPPED_PREFIXES)]
    manager_routes = [r for r in routes if not r.pattern.startswith("my/")]
    tenant_routes = [r for r in routes if r.pattern.startswith("my/")]

    for org in demo:
        manager = _client(MANAGER, org)
        pages = _walk(manager, manager_routes, org, max_per_route=3)
        assert len(pages) > 60, f"only {len(pages)} pages of {org} answered"
        for url, body in pages.items():
            assert "end exclusive" not in body, f"{url} shows an exclusive end"
        with organization_context(org):
            invoices = list(Invoice.objects.exclude(number="")
                            .select_related("billing_point__property"))
        assert invoices, f"the demo of {org} has no issued invoice"
        _assert_next_runs_agree(org, pages)
        _assert_losses_show_the_gap(org, pages)
        _assert_load_has_capacities(org)
        _assert_move_ins_are_local(org, pages)
        for inv in invoices:
            # the list as a manager finds one invoice (the demo has more than a page)
            invoice_list = _body(manager.get(reverse("billing:index"), {"q": inv.number}))
            period = timefmt.format_period(inv.period_start, inv.period_end, inv)
            url = reverse("billing:invoice_detail", args=[inv.public_id])
            # the walk visits three rows a route; the demo issues more invoices than that
            detail = pages[url] if url in pages else _body(manager.get(url))
            for where, body in (("invoice list", invoice_list), ("invoice page", detail)):
                assert period in body, f"{where} of {inv.number} lacks “{period}”"
                for shifted in _utc_shifted_day(inv.period_start):
                    assert shifted not in body, f"{where} of {inv.number} shows {shifted}"

    access = TenantAccess.objects.unscoped().select_related("tenant", "organization").get(
        email=DEMO_TENANT_EMAIL
    )
    org = access.organization
    tenant = _client(DEMO_TENANT_EMAIL)
    pages = _walk(tenant, tenant_routes, org, max_per_route=2)
    unreached = set(pages.pop("unreached").split("\n")) - {""}
    # the demo tenant has no credit note, switching needs a second portal access, and the
    # demo organization has no logo (tests/core/test_private_files.py serves one); the demo
    # tenant is no parent account and got no reminder (tests/ledger cover both downloads)
    assert unreached <= {"my/credit-notes/<id>/credit-note.pdf", "my/switch/<access>/",
                         "my/logo/<organization>/", "my/account/summaries/<id>.pdf",
                         "my/account/reminders/<id>/letter.pdf"}, unreached
    home = pages[reverse("my:home")]
    with organization_context(org):
        occupancies = list(access.tenant.occupancies.select_related("billing_point__property"))
        invoices = list(Invoice.objects.filter(tenant=access.tenant).exclude(number=""))
    for occ in occupancies:
        since = timefmt.format_day(occ.move_in, occ.billing_point)
        assert since in home, f"the tenant's home lacks the move-in {since}"
        if occ.move_in.astimezone(UTC).date() != timefmt.local_date(occ.move_in,
                                                                    occ.billing_point):
            for shifted in _utc_shifted_day(occ.move_in):
                assert f"since {shifted}" not in home
    assert invoices, "the demo tenant has no invoice in the portal"
    for inv in invoices:
        period = timefmt.format_period(inv.period_start, inv.period_end, inv)
        for url in (reverse("my_billing:invoices"), reverse("my_billing:invoice",
                                                            args=[inv.public_id]),
                    reverse("my_billing:statement", args=[inv.public_id])):
            if url not in pages:  # the walk visits two rows a route; the demo has more
                pages[url] = _body(tenant.get(url))
            body = pages[url]
            if url == reverse("my_billing:invoices"):  # its row (other months are listed)
                body = next(row for row in body.split("<tr") if inv.number in row)
            assert period in body, f"{url} lacks “{period}”"
            for shifted in _utc_shifted_day(inv.period_start):
                assert shifted not in body, f"{url} shows {shifted}"
    _assert_months_are_local(access, pages)


def _assert_move_ins_are_local(org, pages: dict[str, str]) -> None:
    """A billing point's page says since when its tenant lives there as the local day of
    the move (a move on 1 Dec at 00:00 Zurich is 30 Nov 23:00 UTC: never "since 30 Nov")."""
    from django.utils import timezone

    from meters.models import BillingPoint
    from tenants.models import Occupancy

    checked = 0
    with organization_context(org):
        for url, body in pages.items():
            if not url.startswith("/billing-points/") or url.count("/") != 3:
                continue
            bp = BillingPoint.objects.select_related("property").get(public_id=url.split("/")[2])
            now = timezone.now()
            occ = Occupancy.objects.filter(billing_point=bp, move_in__lte=now).exclude(
                move_out__lte=now).first()
            if occ is None:
                continue
            assert f"since {timefmt.format_day(occ.move_in, bp)}" in body, url
            if timefmt.local_date(occ.move_in, bp) != occ.move_in.astimezone(UTC).date():
                for shifted in _utc_shifted_day(occ.move_in):
                    assert f"since {shifted}" not in body, url
            checked += 1
    assert checked, f"no occupied billing point page of {org} was checked"


def _assert_next_runs_agree(org, pages: dict[str, str]) -> None:
    """A scheduled batch's next run reads the same in the list and on its page: the
    organization's wall time (the demo's 06:00), not 05:00 UTC in one of them."""
    from django.utils import timezone

    from billing import services
    from billing.models import BillingBatch

    with organization_context(org):
        batches = list(BillingBatch.objects.filter(schedule_enabled=True))
    assert batches, f"the demo of {org} has no scheduled batch"
    for batch in batches:
        at = services.batch_next_run(batch=batch, after=timezone.now(), tz=str(org.time_zone))
        shown = timefmt.format_instant(at, org)
        assert shown.endswith(" 06:00"), shown  # the demo schedules 06:00 local
        for url in (reverse("billing:batch_list"),
                    reverse("billing:batch_detail", args=[batch.public_id])):
            assert f'data-testid="next-run">{shown}<' in pages[url], f"{url} lacks {shown}"


def _assert_months_are_local(access, pages: dict[str, str]) -> None:
    """The tenant's monthly bars end with this local month (its 1st at 00:00 local is
    still last month in UTC east of Greenwich), in the chart and in the table."""
    from django.utils import timezone

    from meters.models import Property
    from tests.charts_html import page_charts

    with organization_context(access.organization):
        zone = Property.objects.filter(
            billing_points__occupancies__tenant=access.tenant
        ).values_list("time_zone", flat=True).first()
    today = timefmt.local_date(timezone.now(), zone)
    charts = page_charts(pages[reverse("my:consumption")])
    assert charts
    for chart in charts.values():
        expected = f"{timefmt.month_name(today)} {today.year}, so far"
        assert chart["labels"][-1] == expected, chart["labels"]
    meters = [u for u in pages if u.startswith("/my/consumption/") and u.count("/") == 4]
    assert meters
    for url in meters:
        assert f"<td>{timefmt.month_name(today, 'long')} {today.year}</td>" in pages[url], url


def _assert_load_has_capacities(org) -> None:
    """The demo's polled circuits have a rated capacity their simulated daily peak reaches
    90 % of (gateways/demo.py), so yesterday's load shows a peak between 80 and 100 % and
    some hours above 80 % (about four; the power history covers the last three days)."""
    from django.utils import timezone

    from monitoring.selectors.load import load_analysis

    yesterday = timefmt.local_date(timezone.now(), org) - timedelta(days=1)
    with organization_context(org):
        meters = load_analysis(first=yesterday, last=yesterday).meters
    rated = [m for m in meters if m.capacity_kw is not None]
    assert len(rated) >= 4, [(m.meter.name, m.capacity_kw) for m in meters]
    for m in rated:
        (day,) = m.days
        assert Decimal(80) < day.peak_percent < Decimal(100), (m.meter.name, day)
        assert Decimal(2) <= day.hours_above <= Decimal(6), (m.meter.name, day)


def _assert_losses_show_the_gap(org, pages: dict[str, str]) -> None:
    """The loss page (default: last month) shows each demo main meter's gap: the demo's
    main meters read their sub-meters' sum + 4 % (readings/demo.py), i.e. a loss of
    0.04 / 1.04 = 3.8 % of the main (± the registers' rounding), on complete days."""
    from django.utils import timezone

    from monitoring.loss_params import previous_month
    from monitoring.selectors.losses import loss_report

    first, last = previous_month(timefmt.local_date(timezone.now(), org))
    with organization_context(org):
        mains = loss_report(first=first, last=last).mains
    assert {m.meter.serial_number for m in mains} == {"EL-LH-0001", "EL-HB-0001"}
    body = pages[reverse("monitoring:losses")]
    for main in mains:
        assert main.incomplete_count == 0, main.periods
        assert Decimal("3.3") <= main.percent <= Decimal("4.3"), main.percent
        row = next(r for r in body.split("<tr") if main.meter.serial_number in r)
        assert f">{main.percent}<" in row and f"{main.loss:,.3f}" in row
