"""``GET /api/v1/invoices/`` filters: billing point, subscription, tenant (public ids), the
period (invoices overlapping a range of local dates) and the issue date (a range of local
dates); a bad value is a 400 naming the parameter.

Two Berlin flats: A billed for September and October, B for September. Berlin is UTC+2 in
September, so October's invoice starts at 2026-09-30T22:00Z: a filter that compared UTC
dates would put it in September.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from billing import services
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.conftest import api_client

pytestmark = pytest.mark.django_db

SEP, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)


@pytest.fixture
def invoices(world_a):
    with organization_context(world_a.org):
        a, b = make_house(), make_house()
        read(a.meter, (at(SEP), "1100"), (at(OCT), "1400"), (at(NOV), "1500"))
        read(b.meter, (at(SEP), "1100"), (at(OCT), "1200"))
        [a_sep] = services.invoice_create_draft(subscriptions=[a.subscription], start=SEP,
                                                end=OCT)
        [a_oct] = services.invoice_create_draft(subscriptions=[a.subscription], start=OCT,
                                                end=NOV)
        [b_sep] = services.invoice_create_draft(subscriptions=[b.subscription], start=SEP,
                                                end=OCT)
        services.invoice_issue(invoice=a_sep)
    return {"a": a, "b": b, "a_sep": a_sep, "a_oct": a_oct, "b_sep": b_sep}


def listed(world, **params) -> set[str]:
    r = api_client(key=world.read_key).get("/api/v1/invoices/", params)
    assert r.status_code == 200, r.content
    return {row["id"] for row in r.json()["results"]}


def ids(invoices, *names) -> set[str]:
    return {str(invoices[n].public_id) for n in names}


def test_filters_by_billing_point_subscription_and_tenant(world_a, invoices):
    a, b = invoices["a"], invoices["b"]
    assert listed(world_a, billing_point=a.bp.public_id) == ids(invoices, "a_sep", "a_oct")
    assert listed(world_a, subscription=b.subscription.public_id) == ids(invoices, "b_sep")
    assert listed(world_a, tenant=a.tenant.public_id) == ids(invoices, "a_sep", "a_oct")
    assert listed(world_a, tenant=a.tenant.public_id, status="issued") == ids(invoices, "a_sep")


def test_period_filter_keeps_invoices_overlapping_the_local_dates(world_a, invoices):
    assert listed(world_a, period_from="2026-09-15", period_to="2026-09-20") == ids(
        invoices, "a_sep", "b_sep")
    assert listed(world_a, period_to="2026-09-30") == ids(invoices, "a_sep", "b_sep")
    assert listed(world_a, period_from="2026-10-01") == ids(invoices, "a_oct")
    assert listed(world_a, period_from="2026-09-30", period_to="2026-10-01") == ids(
        invoices, "a_sep", "a_oct", "b_sep")
    assert listed(world_a, period_from="2026-11-01") == set()
    a = invoices["a"]
    assert listed(world_a, billing_point=a.bp.public_id, period_from="2026-10-31") == ids(
        invoices, "a_oct")


def test_issue_date_filter_is_a_range_of_local_dates(world_a, invoices):
    today = timezone.now().astimezone(ZoneInfo("Europe/Berlin")).date()
    day = timedelta(days=1)
    assert listed(world_a, issued_from=today, issued_to=today) == ids(invoices, "a_sep")
    assert listed(world_a, issued_from=today - day) == ids(invoices, "a_sep")
    assert listed(world_a, issued_from=today + day) == set()
    assert listed(world_a, issued_to=today - day) == set()


def test_other_organizations_ids_match_nothing(world_a, world_b, invoices):
    with organization_context(world_b.org):
        theirs = make_house()
    assert listed(world_a, billing_point=theirs.bp.public_id) == set()
    assert listed(world_b, billing_point=invoices["a"].bp.public_id) == set()


@pytest.mark.parametrize(("params", "named"), [
    ({"billing_point": "42"}, "billing_point"),  # a primary key is not a public id
    ({"subscription": "not-a-uuid"}, "subscription"),
    ({"tenant": "1"}, "tenant"),
    ({"period_from": "2026-13-01"}, "period_from"),
    ({"period_to": "yesterday"}, "period_to"),
    ({"period_from": "2026-10-01", "period_to": "2026-09-01"}, "period_to"),
    ({"issued_from": "2026-02-30"}, "issued_from"),
    ({"issued_from": "2026-10-02", "issued_to": "2026-10-01"}, "issued_to"),
    ({"status": "sent"}, "status"),
])
def test_a_bad_filter_value_is_a_400_naming_the_parameter(world_a, invoices, params, named):
    r = api_client(key=world_a.read_key).get("/api/v1/invoices/", params)
    assert r.status_code == 400, r.content
    error = r.json()["error"]
    assert list(error["fields"]) == [named]
    assert named in error["message"]


def test_the_schema_lists_the_filters():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    params = {p["name"]: p for p in schema["paths"]["/api/v1/invoices/"]["get"]["parameters"]}
    for name in ("billing_point", "subscription", "tenant"):
        assert params[name]["schema"] == {"type": "string", "format": "uuid"}
    for name in ("period_from", "period_to", "issued_from", "issued_to"):
        assert params[name]["schema"] == {"type": "string", "format": "date"}
        assert params[name]["description"]
