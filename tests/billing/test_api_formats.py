"""Money in one form: the preview, the stored invoice (and its lines) and the credit note
give amounts with exactly the currency's decimal places, quantities with 4, unit prices
with 6, VAT rates with 2 (billing/README.md, "Number formats").

Expected values are hand arithmetic: 300 kWh (1100 → 1400) at a flat price, one VAT rate.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from billing import services
from billspree.core.scoping import organization_context
from meters import services as meter_services
from meters.models import MeterType
from tariffs import services as tariff_services
from tenants import services as tenant_services
from tests.billing.builders import at, read
from tests.conftest import api_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _currencies(settings):
    """An organization configured for yen and dinars too (CURRENCIES is a deployment setting)."""
    settings.CURRENCIES = [*settings.CURRENCIES, "JPY", "KWD"]

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)
PERIOD = {"start": "2026-09-01", "end": "2026-10-01"}


def make_flat_house(currency: str, price: str, tax_rate: str):
    """A billing point billed in ``currency``: 300 kWh in September at ``price``."""
    prop = meter_services.property_create(name=f"Haus {currency}", time_zone="Europe/Zurich",
                                          currency=currency)
    bp = meter_services.billing_point_create(property=prop, connection_id=f"{currency}-1",
                                             name=f"Flat {currency}")
    meter = meter_services.meter_create(type=MeterType.ELECTRICITY,
                                        serial_number=f"E-{currency}")
    meter_services.meter_assign(billing_point=bp, meter=meter, connected_at=at(date(2026, 8, 1)),
                                initial_reading=Decimal("1000"))
    owner = tenant_services.tenant_create(name=f"Owner {currency}", kind="company",
                                          email=f"owner-{currency}@example.com")
    tenant_services.ownership_set(owner=owner, property=prop)
    tenant = tenant_services.tenant_create(name=f"Tenant {currency}",
                                           email=f"t-{currency}@example.com")
    tenant_services.occupancy_create(tenant=tenant, billing_point=bp,
                                     move_in=at(date(2026, 8, 1)))
    rate_list = tariff_services.rate_list_create(name=f"Power {currency}", currency=currency,
                                                 effective_from=date(2026, 1, 1))
    tariff_services.charge_rule_create(version=rate_list.versions.get(), name="Energy",
                                       kind="flat", meter_type=MeterType.ELECTRICITY,
                                       price=Decimal(price), tax_rate=Decimal(tax_rate))
    plan = tariff_services.plan_save(name=f"Plan {currency}", rate_lists=[rate_list])
    sub = services.subscription_create(billing_point=bp, plan=plan, start_date=date(2026, 8, 1))
    read(meter, (at(SEP), "1100"), (at(OCT), "1400"))
    return sub


#: currency, unit price, VAT %, expected net, VAT, total (300 kWh × price; VAT half up)
CASES = [
    ("CHF", "0.041", "8.1", "12.30", "1.00", "13.30"),  # 12.30 × 8.1 % = 0.9963
    ("JPY", "4.1", "10", "1230", "123", "1353"),
    ("KWD", "0.0041", "0", "1.230", "0.000", "1.230"),
]


@pytest.mark.parametrize(("currency", "price", "rate", "net", "vat", "total"), CASES)
def test_preview_and_stored_invoice_give_money_in_the_currencys_places(
    world_a, currency, price, rate, net, vat, total
):
    with organization_context(world_a.org):
        sub = make_flat_house(currency, price, rate)
    manager = api_client(key=world_a.write_key)
    body = {"subscriptions": [str(sub.public_id)], **PERIOD}

    preview = manager.post("/api/v1/invoices/preview/", body, format="json")
    assert preview.status_code == 200, preview.content
    [draft] = preview.json()["invoices"]
    created = manager.post("/api/v1/invoices/", body, format="json")
    assert created.status_code == 201, created.content
    [stored] = created.json()
    fetched = manager.get(f"/api/v1/invoices/{stored['id']}/").json()

    for inv in (draft, stored, fetched):
        assert (inv["currency"], inv["net_total"], inv["tax_total"], inv["total"]) == (
            currency, net, vat, total)
        [line] = inv["lines"]
        assert line["quantity"] == "300.0000"
        assert line["unit_price"] == f"{Decimal(price):.6f}"
        assert (line["amount"], line["tax_amount"]) == (net, vat)
        assert line["tax_rate"] == f"{Decimal(rate):.2f}"
        assert (line["start_value"], line["end_value"]) == ("1100.0000", "1400.0000")


def test_a_credit_note_gives_money_in_the_currencys_places(world_a):
    with organization_context(world_a.org):
        sub = make_flat_house("JPY", "4.1", "10")
        [inv] = services.invoice_create_draft(subscriptions=[sub], start=SEP, end=OCT)
        services.invoice_issue(invoice=inv)
    manager = api_client(key=world_a.write_key)
    r = manager.post(f"/api/v1/invoices/{inv.public_id}/credit-note/", {"reason": "Misread"},
                     format="json")
    assert r.status_code == 201, r.content
    note = r.json()
    assert (note["net_total"], note["tax_total"], note["total"]) == ("-1230", "-123", "-1353")
    [line] = note["lines"]
    assert (line["quantity"], line["unit_price"].lstrip("-"), line["amount"],
            line["tax_amount"], line["tax_rate"]) == ("300.0000", "4.100000", "-1230", "-123",
                                                      "10.00")
    listed = manager.get("/api/v1/credit-notes/").json()["results"][0]
    assert listed["total"] == "-1353"


def test_a_manual_line_on_a_chf_draft_keeps_the_form(world_a):
    with organization_context(world_a.org):
        sub = make_flat_house("CHF", "0.041", "8.1")
        [inv] = services.invoice_create_draft(subscriptions=[sub], start=SEP, end=OCT)
    manager = api_client(key=world_a.write_key)
    r = manager.post(f"/api/v1/invoices/{inv.public_id}/lines/",
                     {"description": "Key", "quantity": "2", "unit_price": "2.5"}, format="json")
    assert r.status_code == 201, r.content
    data = r.json()
    assert (data["net_total"], data["total"]) == ("17.30", "18.30")
    key = data["lines"][-1]
    assert (key["quantity"], key["unit_price"], key["amount"]) == ("2.0000", "2.500000", "5.00")
    r = manager.post(f"/api/v1/invoices/{inv.public_id}/lines/",
                     {"description": "Key", "quantity": "1.00001", "unit_price": "1"},
                     format="json")
    assert r.status_code == 400 and "quantity" in r.json()["error"]["fields"]


def test_the_schema_documents_the_places():
    from drf_spectacular.generators import SchemaGenerator

    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    line = components["InvoiceLine"]["properties"]
    assert re.fullmatch(line["quantity"]["pattern"], "300.0000")
    assert not re.fullmatch(line["quantity"]["pattern"], "300")
    assert re.fullmatch(line["unit_price"]["pattern"], "0.041000")
    assert "currency's decimal places" in line["amount"]["description"]
    assert "4 decimal places" in line["quantity"]["description"]
    assert "6 decimal places" in line["unit_price"]["description"]
    for name in ("Invoice", "CreditNote", "InvoicePreviewInvoice"):
        total = components[name]["properties"]["total"]
        assert "currency's decimal places" in total["description"]
