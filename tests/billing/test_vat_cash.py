"""Invoices: VAT per rate and cash rounding as stored, recomputed on hand edits, guarded by
the database, and shown by the API (issue 13 §1). Arithmetic by hand in each test."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.db import IntegrityError, transaction

from billing import services
from billing.models import Invoice, InvoiceLine, LineKind
from billspree.core.scoping import organization_context
from tests.billing.builders import at, make_house, read
from tests.conftest import api_client

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


def _charge(h, name, price, tax):
    from tariffs import services as tariff_services

    tariff_services.charge_rule_create(version=h.version, name=name, kind="standing",
                                       price=D(price), per="month", tax_rate=D(tax))


@pytest.fixture
def swiss(world_a):
    """CHF, cash rounding 0.05: 50 kWh × 0.201 = 10.05, charges 20.05 and 30.05, all 8.1 %;
    a water service 33.33 at 2.6 %."""
    with organization_context(world_a.org):
        h = make_house(standing=False, flat="0.201", tax_rate="8.1", currency="CHF",
                       cash_rounding="0.05")
        _charge(h, "Grid", "20.05", "8.1")
        _charge(h, "Service", "30.05", "8.1")
        _charge(h, "Water service", "33.33", "2.6")
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1150"))
        [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP,
                                              end=OCT)
    return h, inv


def test_stored_draft_has_vat_per_rate_shares_and_cash_rounding(swiss):
    h, inv = swiss
    with organization_context(h.prop.organization):
        inv.refresh_from_db()
        lines = list(inv.lines.all())
    # 8.1 %: 60.15 → 4.87215 → 4.87; 2.6 %: 33.33 → 0.86658 → 0.87; VAT 5.74
    # net 93.48 + 5.74 = 99.22 → 99.20 (nearest 0.05): cash rounding −0.02
    assert (inv.net_total, inv.tax_total, inv.cash_rounding, inv.total) == (
        D("93.48"), D("5.74"), D("-0.02"), D("99.20"))
    assert LineKind.ROUNDING not in {x.kind for x in lines}
    assert sum(x.tax_amount for x in lines if x.tax_rate == D("8.1")) == D("4.87")
    assert sum(x.tax_amount for x in lines if x.tax_rate == D("2.6")) == D("0.87")


def test_api_gives_the_vat_summary_and_cash_rounding(swiss, world_a):
    h, inv = swiss
    body = api_client(key=world_a.read_key).get(f"/api/v1/invoices/{inv.public_id}/").json()
    rows = [(D(r["rate"]), D(r["base"]), D(r["vat"])) for r in body["vat_summary"]]
    assert rows == [(D("2.60"), D("33.33"), D("0.87")), (D("8.10"), D("60.15"), D("4.87"))]
    assert D(body["cash_rounding"]) == D("-0.02")
    assert (D(body["net_total"]) + D(body["tax_total"]) + D(body["cash_rounding"])
            == D(body["total"]) == D("99.20"))


def test_hand_edits_recompute_vat_per_rate_and_cash_rounding(swiss):
    h, inv = swiss
    with organization_context(h.prop.organization):
        line = services.invoice_line_add(invoice=inv, description="Key", quantity=D("1"),
                                         unit_price=D("0.05"), tax_rate=D("8.1"))
        inv.refresh_from_db()
        # 8.1 %: 60.20 × 8.1 % = 4.8762 → 4.88; VAT 5.75; net 93.53 + 5.75 = 99.28 → 99.30
        assert (inv.net_total, inv.tax_total, inv.cash_rounding, inv.total) == (
            D("93.53"), D("5.75"), D("0.02"), D("99.30"))
        assert sum(x.tax_amount for x in inv.lines.all()) == D("5.75")
        services.invoice_line_remove(line=line)
        inv.refresh_from_db()
        assert (inv.tax_total, inv.cash_rounding, inv.total) == (D("5.74"), D("-0.02"),
                                                                 D("99.20"))


def test_database_refuses_a_total_that_is_not_net_vat_cash_rounding(swiss):
    h, inv = swiss
    with organization_context(h.prop.organization):
        with pytest.raises(IntegrityError), transaction.atomic():
            Invoice.objects.filter(pk=inv.pk).update(cash_rounding=D("0"))
        services.invoice_issue(invoice=inv)
        with pytest.raises(IntegrityError), transaction.atomic():  # issued: final
            Invoice.objects.filter(pk=inv.pk).update(cash_rounding=D("0.03"),
                                                     total=D("99.25"))


def test_an_old_issued_invoice_with_a_rounding_line_reads_consistently(world_a):
    """Invoices of before the cash_rounding amount carried it as a line inside the net; they
    are immutable, and read as net (without it) + VAT + cash rounding = total."""
    with organization_context(world_a.org):
        h = make_house(flat="0.30")
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
        [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP,
                                              end=OCT)
        InvoiceLine.objects.create(invoice=inv, position=9, kind=LineKind.ROUNDING,
                                   description="Cash rounding to 0.05", quantity=D("1"),
                                   unit_price=D("0.02"), amount=D("0.02"))
        # as the old engine stored it: 99.90 + 0.02 net, 18.98 VAT, 118.90 total
        Invoice.objects.filter(pk=inv.pk).update(net_total=D("99.92"), total=D("118.90"))
        inv.refresh_from_db()
        services.invoice_issue(invoice=inv)
    body = api_client(key=world_a.read_key).get(f"/api/v1/invoices/{inv.public_id}/").json()
    assert (D(body["net_total"]), D(body["tax_total"]), D(body["cash_rounding"]),
            D(body["total"])) == (D("99.90"), D("18.98"), D("0.02"), D("118.90"))
    assert [D(r["base"]) for r in body["vat_summary"]] == [D("99.90")]
    from billing.selectors.building_statements import building_statement_data

    with organization_context(world_a.org):
        data = building_statement_data(property=h.prop, period_start=SEP, period_end=OCT)
    [row] = [r for r in data.points if r.tenants]
    assert (row.net, row.tax, row.cash_rounding, row.total) == (
        D("99.90"), D("18.98"), D("0.02"), D("118.90"))
    assert row.amounts == {"electricity": D("90.00"), "": D("9.90")}


def _squash(html: str) -> str:
    import re

    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_pdf_statement_shows_vat_per_rate_total_cash_rounding_and_amount_payable(swiss):
    from billing.selectors.statements import invoice_statement_data
    from billing.statements.render import invoice_statement_html

    h, inv = swiss
    with organization_context(h.prop.organization):
        text = _squash(invoice_statement_html(invoice_statement_data(invoice=inv)))
    assert "Net amount 93.48" in text
    assert "VAT 2.60 % on 33.33 0.87" in text and "VAT 8.10 % on 60.15 4.87" in text
    assert "Total VAT 5.74 Total 99.22 Cash rounding -0.02 Total due 99.20 CHF" in text


def test_portal_invoice_page_shows_the_same_rows(swiss, world_a):
    from django.urls import reverse

    from tests.conftest import login_client

    h, inv = swiss
    client = login_client(world_a.viewer, world_a.org)
    text = _squash(client.get(reverse("billing:invoice_detail", args=[inv.public_id]))
                   .content.decode())
    assert "VAT 8.10 % on 60.15 4.87" in text and "VAT 2.60 % on 33.33 0.87" in text
    assert "Total 99.22 Cash rounding -0.02 Amount payable 99.20 CHF" in text


def test_preview_page_shows_vat_per_rate_and_cash_rounding(world_a):
    with organization_context(world_a.org):
        h = make_house(standing=False, flat="0.201", tax_rate="8.1", currency="CHF",
                       cash_rounding="0.05")
        _charge(h, "Grid", "20.05", "8.1")
        _charge(h, "Service", "30.05", "8.1")
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1150"))
    from tests.conftest import login_client

    client = login_client(world_a.manager, world_a.org)
    q = {"subscription": str(h.subscription.public_id), "start": "2026-09-01",
         "end": "2026-10-01"}
    text = _squash(client.get("/billing/preview/", q).content.decode())
    # 60.15 at 8.1 % → 4.87; 65.02 → 65.00 (−0.02)
    assert "VAT 8.10 % on 60.15 4.87" in text
    assert "Net · VAT 60.15 4.87 Cash rounding -0.02 Amount payable 65.00 CHF" in text


def test_statement_email_shows_cash_rounding(swiss):
    from billing.services.statement_delivery import statement_email

    h, inv = swiss
    with organization_context(h.prop.organization):
        services.invoice_issue(invoice=inv)
        inv.refresh_from_db()
        message = statement_email(invoice=inv, pdf=b"%PDF-1.4", recipient="t@example.com")
    assert "Net amount:     93.48 CHF" in message.body
    assert "Cash rounding:  -0.02 CHF" in message.body
    assert "Total due:      99.20 CHF" in message.body


def test_building_statement_adds_up_with_the_cash_rounding(world_a):
    """Per billing point and in total: net + VAT + cash rounding = total (the invoices'),
    with a cash-rounding column; 300 kWh × 0.201 = 60.30, VAT 8.1 % 4.8843 → 4.88, gross
    65.18 → 65.20 (+0.02)."""
    from billing.selectors.building_statements import building_statement_data
    from billing.statements.render import building_statement_html
    with organization_context(world_a.org):
        h = make_house(standing=False, flat="0.201", tax_rate="8.1", currency="CHF",
                       cash_rounding="0.05")
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
        [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP,
                                              end=OCT)
        services.invoice_issue(invoice=inv)
        data = building_statement_data(property=h.prop, period_start=SEP, period_end=OCT)
        text = _squash(building_statement_html(data))
    [row] = [r for r in data.points if r.tenants]
    assert (row.net, row.tax, row.cash_rounding, row.total) == (
        D("60.30"), D("4.88"), D("0.02"), D("65.20"))
    assert (data.net, data.tax, data.cash_rounding, data.total) == (
        D("60.30"), D("4.88"), D("0.02"), D("65.20"))
    assert "Cash rounding" in text and "60.30 4.88 0.02 65.20" in text


def test_an_old_rounding_line_is_not_in_the_net_of_the_invoice_list_nor_of_the_vacancy(
        world_a):
    """The tenant moves out on 16 Sep; the owner is billed the vacancy 16–30 Sep: 15 of 30
    days of 300 kWh = 150 kWh × 0.30 = 45.00 + half the standing charge 4.95 = 49.95 net,
    VAT 9.4905 → 9.49, gross 59.44; the old engine cash-rounded it to 59.45 with a +0.01
    line inside the net (49.96). The invoice list's Net column and the building statement's
    vacancy net read 49.95 (net + VAT 9.49 + cash rounding 0.01 = 59.45)."""
    from billing.selectors.building_statements import building_statement_data
    from tenants import services as tenant_services
    from tenants.models import Occupancy
    from tests.conftest import login_client

    with organization_context(world_a.org):
        h = make_house(flat="0.30")
        tenant_services.occupancy_end(occupancy=Occupancy.objects.get(tenant=h.tenant),
                                      move_out=at(date(2026, 9, 16)))
        read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
        drafts = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP,
                                               end=OCT)
        [owners] = [i for i in drafts if i.tenant_id == h.owner.pk]
        assert (owners.net_total, owners.tax_total, owners.total) == (
            D("49.95"), D("9.49"), D("59.44"))
        InvoiceLine.objects.create(invoice=owners, position=9, kind=LineKind.ROUNDING,
                                   description="Cash rounding to 0.05", quantity=D("1"),
                                   unit_price=D("0.01"), amount=D("0.01"))
        Invoice.objects.filter(pk=owners.pk).update(net_total=D("49.96"), total=D("59.45"))
        for inv in drafts:
            services.invoice_issue(invoice=Invoice.objects.get(pk=inv.pk))
        owners.refresh_from_db()
        data = building_statement_data(property=h.prop, period_start=SEP, period_end=OCT)
    [vacancy] = data.vacancies
    assert (vacancy.net, vacancy.total) == (D("49.95"), D("59.45"))
    assert (data.vacancy_net, data.vacancy_total) == (D("49.95"), D("59.45"))

    page = login_client(world_a.manager, world_a.org).get("/billing/").content.decode()
    row = page[page.index(owners.number):]
    row = row[:row.index("</tr>")]
    assert "49.95 EUR" in row and "49.96" not in row and "59.45 EUR" in row
