"""What a usage line shows (issue 13 §3): the boundary values it used, how they were had,
the readings they came from, the estimated flag and mark — stored, API, portal, PDF."""

from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from billing import services
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.conftest import api_client, login_client

SEP, MID, OCT = date(2026, 9, 1), date(2026, 9, 16), date(2026, 10, 1)


@pytest.fixture
def moved_in(world_a):
    """A newcomer moves in on 16 Sep; the meter is read on 1 Sep (1100) and 1 Oct (1400)."""
    from tenants import services as tenant_services
    from tenants.models import Occupancy

    with organization_context(world_a.org):
        h = make_house(flat="0.30")
        tenant_services.occupancy_end(occupancy=Occupancy.objects.get(tenant=h.tenant),
                                      move_out=at(MID))
        newcomer = tenant_services.tenant_create(name="Newcomer", email="new@example.com")
        tenant_services.occupancy_create(tenant=newcomer, billing_point=h.bp, move_in=at(MID))
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
        drafts = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP,
                                               end=OCT)
        [inv] = [d for d in drafts if d.tenant_id == newcomer.pk]
    return h, inv


def _squash(html: str) -> str:
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_stored_line_and_api_show_the_interpolated_start_and_its_readings(moved_in, world_a):
    h, inv = moved_in
    body = api_client(key=world_a.read_key).get(f"/api/v1/invoices/{inv.public_id}/").json()
    [line] = [x for x in body["lines"] if x["kind"] == "usage"]
    assert line["estimated"] is True
    assert (D(line["start_value"]), line["start_basis"]) == (D("1250"), "interpolated")
    assert [D(s["value"]) for s in line["start_sources"]] == [D("1100"), D("1400")]
    assert (D(line["end_value"]), line["end_basis"]) == (D("1400"), "read")
    assert (D(line["end_value"]) - D(line["start_value"])) * 1 == D(line["quantity"]) == D("150")
    with organization_context(h.prop.organization):
        period = inv.billed_periods.get()
    assert (period.start_value, period.estimated) == (D("1250"), True)


def test_pdf_marks_the_interpolated_start_and_names_its_readings(moved_in):
    from billing.selectors.statements import invoice_statement_data
    from billing.statements.render import invoice_statement_html

    h, inv = moved_in
    with organization_context(h.prop.organization):
        text = _squash(invoice_statement_html(invoice_statement_data(invoice=inv)))
    # 16 Sep: 1,250 E (from the readings of 1 Sep and 1 Oct) → 1 Oct: 1,400 = 150 kWh
    assert "16 Sep 2026 1,250 E from 1 Sep 2026: 1,100 and 1 Oct 2026: 1,400" in text
    assert "1 Oct 2026 1,400 150 kWh" in text
    assert "E = estimated reading" in text


def test_portal_shows_the_values_used_and_where_they_come_from(moved_in, world_a):
    from django.urls import reverse

    h, inv = moved_in
    client = login_client(world_a.viewer, world_a.org)
    text = _squash(client.get(reverse("billing:invoice_detail", args=[inv.public_id]))
                   .content.decode())
    # local times through the one formatter (the property is in Berlin)
    assert ("start 1250 at 16 Sep 2026 00:00 (interpolated from 1100 at 1 Sep 2026 00:00 and "
            "1400 at 1 Oct 2026 00:00)") in text
    assert "end 1400 at 1 Oct 2026 00:00" in text and "estimated" in text


def test_an_end_reading_of_quality_estimated_flags_the_line(world_a):
    from readings.models import Source
    from readings.parsing import RowIn
    from readings.services import reading_ingest

    with organization_context(world_a.org):
        h = make_house(flat="0.30")
        read(h.meter, (at(SEP), "1100"))
        reading_ingest(rows=[RowIn(0, h.meter.serial_number, at(OCT), D("1400"), "estimated")],
                       source=Source.API)
        [inv] = services.invoice_preview(subscriptions=[h.subscription], start=SEP,
                                         end=OCT).invoices
    u = inv.lines[1].usage
    assert (u.start_basis, u.end_basis, u.estimated) == ("read", "estimated", True)
    assert u.end_value - u.start_value == u.quantity == D("300")
    body = api_client(key=world_a.read_key).get("/api/v1/readings/consumption/", {
        "meter": h.meter.serial_number, "from": at(SEP).isoformat(), "to": at(OCT).isoformat(),
    }).json()
    assert body["estimated"] is True and body["segments"][0]["end"]["basis"] == "estimated"


def test_multiplier_line_adds_up_on_the_api(world_a):
    from meters.models import Meter

    with organization_context(world_a.org):
        h = make_house(flat="0.30")
        Meter.objects.filter(pk=h.meter.pk).update(multiplier=D("40"))
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1107.5"))
        [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP,
                                              end=OCT)
    body = api_client(key=world_a.read_key).get(f"/api/v1/invoices/{inv.public_id}/").json()
    [line] = [x for x in body["lines"] if x["kind"] == "usage"]
    # (1107.5 − 1100) × 40 = 300 kWh
    assert D(line["meter_multiplier"]) == D("40")
    assert ((D(line["end_value"]) - D(line["start_value"])) * D(line["meter_multiplier"])
            == D(line["quantity"]) == D("300"))


def test_tenant_portal_shows_the_interpolated_start_and_the_totals(moved_in, world_a):
    from django.test import Client
    from django.urls import reverse

    from tests.tenants.factories_portal import portal_login

    h, inv = moved_in
    with organization_context(world_a.org):
        services.invoice_issue(invoice=inv)
        user, _ = portal_login(inv.tenant, inv.tenant.email, world_a.admin)
    client = Client()
    client.force_login(user)
    text = _squash(client.get(reverse("my_billing:invoice", args=[inv.public_id]))
                   .content.decode())
    # the newcomer's start is the value of the 16th, not the reading of the 1st
    assert "1250 (16 Sep 2026, interpolated) → 1400 (1 Oct 2026)" in text
    assert "estimated" in text and "Amount payable" in text


# --- the building statement and the tenant-portal chart flag what the invoice flags ----------


@pytest.fixture
def read_off_the_boundaries(world_a):
    """Read on 25 Aug (1000) and 5 Oct (1410) only: both September boundaries are
    interpolated (1000 + 410 × 7/41 = 1070; 1000 + 410 × 37/41 = 1370), nothing is
    extrapolated. The invoice flags the line: so must every other view of the same use."""
    with organization_context(world_a.org):
        h = make_house(flat="0.30")
        read(h.meter, (at(date(2026, 8, 25)), "1000"), (at(date(2026, 10, 5)), "1410"))
        [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP,
                                              end=OCT)
    return h, inv


def test_building_statement_flags_an_interpolated_boundary_like_the_invoice(
        read_off_the_boundaries):
    from billing.selectors.building_statements import building_statement_data
    from billing.statements.render import building_statement_html

    h, inv = read_off_the_boundaries
    with organization_context(h.prop.organization):
        line = inv.lines.get(kind="usage")
        data = building_statement_data(property=h.prop, period_start=SEP, period_end=OCT)
        text = _squash(building_statement_html(data))
    assert (line.quantity, line.estimated) == (D("300"), True)
    [row] = [r for r in data.points if r.name == h.bp.name]
    assert row.consumption == {"electricity": line.quantity}
    assert row.estimated is True
    assert "300 E" in text and "E = estimated" in text


def test_tenant_portal_month_bar_flags_an_interpolated_boundary_like_the_invoice(world_a):
    """The bar of a month whose 1st was not read is as estimated as its invoice line."""
    from django.utils import timezone

    from tenants.consumption import tenant_meter_months

    with organization_context(world_a.org):
        h = make_house(flat="0.30", connected=date(2025, 1, 1))
        first = timezone.now().astimezone(h.prop.time_zone).date().replace(day=1)
        prev = (first - timedelta(days=1)).replace(day=1)
        before = (prev - timedelta(days=1)).replace(day=1)
        # read on the 1st of `before` and of this month, and mid-`prev` (not on its 1st)
        read(h.meter, (at(before), "1000"), (at(prev + timedelta(days=9)), "1200"),
             (at(first), "1500"))
        bars = {b.start.date(): b for b in tenant_meter_months(tenant=h.tenant, meter=h.meter)}
        [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=prev,
                                              end=first)
        line = inv.lines.get(kind="usage")
    assert line.estimated is True  # its start (the 1st of `prev`) is interpolated
    assert bars[prev].quantity == line.quantity
    assert bars[prev].estimated is True and bars[before].estimated is True


def test_pdf_end_value_of_a_rolled_over_flagged_line_is_the_register_as_read(world_a):
    """A 5-digit register estimated at 99,950 on 1 Sep and read at 50 on 1 Oct: 100 kWh
    across the rollover. The line is flagged (its start is an estimate); the statement must
    still show the end as the register read it (50), not start + consumption (100,050,
    a value a 5-digit register cannot show)."""
    from billing.selectors.statements import invoice_statement_data
    from billing.statements.render import invoice_statement_html
    from readings.models import Source
    from readings.parsing import RowIn
    from readings.services import reading_ingest

    with organization_context(world_a.org):
        h = make_house(flat="0.30", register_digits=5, initial="99000")
        reading_ingest(rows=[RowIn(0, h.meter.serial_number, at(SEP), D("99950"), "estimated")],
                       source=Source.API)
        read(h.meter, (at(OCT), "50"))
        [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP,
                                              end=OCT)
        line = inv.lines.get(kind="usage")
        text = _squash(invoice_statement_html(invoice_statement_data(invoice=inv)))
    assert (line.start_value, line.end_value, line.quantity, line.estimated) == (
        D("99950"), D("50"), D("100"), True)
    assert "1 Oct 2026 50 100 kWh" in text
    assert "100,050" not in text


def test_preview_line_carries_the_meter_multiplier_like_the_stored_line(world_a):
    """(1107.5 − 1100) × 40 = 300 kWh must add up on the preview as on the stored invoice."""
    from meters.models import Meter

    with organization_context(world_a.org):
        h = make_house(flat="0.30")
        Meter.objects.filter(pk=h.meter.pk).update(multiplier=D("40"))
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1107.5"))
    manager = api_client(key=world_a.write_key)
    body = {"subscriptions": [str(h.subscription.public_id)], "start": "2026-09-01",
            "end": "2026-10-01"}
    r = manager.post("/api/v1/invoices/preview/", body, format="json")
    assert r.status_code == 200, r.content
    [draft] = r.json()["invoices"]
    [line] = [x for x in draft["lines"] if x["kind"] == "usage"]
    assert line["meter_multiplier"] == "40.0000"
    assert ((D(line["end_value"]) - D(line["start_value"])) * D(line["meter_multiplier"])
            == D(line["quantity"]) == D("300"))
    [stored] = manager.post("/api/v1/invoices/", body, format="json").json()
    [kept] = [x for x in stored["lines"] if x["kind"] == "usage"]
    assert kept["meter_multiplier"] == line["meter_multiplier"]
