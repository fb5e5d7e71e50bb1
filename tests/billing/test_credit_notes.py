"""Partial credit notes (issue 13 §2): chosen lines or an amount, VAT per rate on the
credited net rounded once, cash rounding, several notes never above the invoice, and the
credit of late-data adjustments — each with hand arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing import services
from billing.models import Adjustment, BilledPeriod, CreditNote, Invoice, InvoiceStatus
from billspree.core.errors import Conflict
from billspree.core.scoping import organization_context
from tenants import services as tenant_services
from tests.billing.builders import at, make_house, read
from tests.conftest import api_client, login_client

SEP, OCT, NOV = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)


@pytest.fixture
def ctx(in_org_a):
    return in_org_a


def issued(h, **kwargs) -> Invoice:
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    [inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP, end=OCT)
    for line in kwargs.get("manual", []):
        services.invoice_line_add(invoice=inv, **line)
    return services.invoice_issue(invoice=Invoice.objects.get(pk=inv.pk))


def test_golden_partial_credit_note_of_a_line_and_of_an_amount(ctx):
    h = make_house(flat="0.30")
    inv = issued(h)  # standing 9.90 (VAT 1.88) + 300 kWh 90.00 (VAT 17.10) = 118.88
    usage = inv.lines.get(kind="usage")

    note = services.credit_note_create(invoice=inv, reason="Meter misread", lines=[usage])
    # the usage line: net −90.00, VAT −90.00 × 19 % = −17.10, total −107.10
    assert (note.net_total, note.tax_total, note.cash_rounding, note.total) == (
        D("-90.00"), D("-17.10"), D("0"), D("-107.10"))
    assert not note.full and note.lines.get().invoice_line == usage
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.ISSUED  # a partial credit leaves it issued...
    assert BilledPeriod.objects.get(invoice=inv).active  # ...and its consumption billed

    second = services.credit_note_create(invoice=inv, reason="Goodwill", amount=D("5.00"))
    # 5.00 net at the invoice's only rate 19 %: VAT 0.95, total −5.95
    assert (second.net_total, second.tax_total, second.total) == (
        D("-5.00"), D("-0.95"), D("-5.95"))
    assert services.credited_total(inv) == D("113.05")  # 107.10 + 5.95 of 118.88

    with pytest.raises(ValidationError) as twice:  # the same line again
        services.credit_note_create(invoice=inv, reason="again", lines=[usage])
    assert "already credited" in str(twice.value)
    standing = inv.lines.get(kind="standing")
    with pytest.raises(ValidationError) as over:  # 9.90 + 1.88 = 11.78 > 118.88 − 113.05
        services.credit_note_create(invoice=inv, reason="standing", lines=[standing])
    assert "would credit 124.83 of the invoice's 118.88" in str(over.value)
    with pytest.raises(Conflict):  # no full credit on top of partial ones
        services.credit_note_create(invoice=inv, reason="all")
    assert CreditNote.objects.filter(invoice=inv).count() == 2


def test_vat_of_a_credit_note_is_per_rate_on_its_net_rounded_once(ctx):
    h = make_house(flat="0.30")
    lines = [{"description": f"Service {n}", "quantity": D(1), "unit_price": D(p),
              "tax_rate": D("8.1")} for n, p in enumerate(("10.05", "20.05", "30.05"))]
    inv = issued(h, manual=lines)
    chosen = list(inv.lines.filter(kind="manual").order_by("position"))
    note = services.credit_note_create(invoice=inv, reason="Services not rendered",
                                       lines=chosen)
    # 60.15 × 8.1 % = 4.87215 → 4.87 (per line rounded and summed would be 4.86);
    # the lines share it by largest remainder: 0.81, 1.62, 2.44
    assert (note.net_total, note.tax_total, note.total) == (
        D("-60.15"), D("-4.87"), D("-65.02"))
    assert [x.tax_amount for x in note.lines.order_by("position")] == [
        D("-0.81"), D("-1.62"), D("-2.44")]


def test_credit_of_an_amount_is_shared_over_the_rates_and_cash_rounded(ctx):
    h = make_house(flat="0.30", cash_rounding="0.05")
    inv = issued(h)
    note = services.credit_note_create(invoice=inv, reason="Goodwill", amount=D("10.01"))
    # 10.01 net at 19 %: VAT 1.9019 → 1.90; gross −11.91 → nearest 0.05: −11.90 (+0.01)
    assert (note.net_total, note.tax_total, note.cash_rounding, note.total) == (
        D("-10.01"), D("-1.90"), D("0.01"), D("-11.90"))
    assert note.net_total + note.tax_total + note.cash_rounding == note.total


def test_bad_partial_credit_input_names_the_field_and_changes_nothing(ctx):
    h = make_house(flat="0.30")
    inv = issued(h)
    for kwargs, field in [({"amount": D("0")}, "amount"), ({"amount": D("1.001")}, "amount"),
                          ({"amount": D("500")}, "amount"),
                          ({"amount": D("1"), "lines": list(inv.lines.all())}, "amount")]:
        with pytest.raises(ValidationError) as exc:
            services.credit_note_create(invoice=inv, reason="x", **kwargs)
        assert field in exc.value.message_dict
    assert not CreditNote.objects.exists()


def test_the_database_refuses_credit_notes_above_the_invoice(ctx):
    h = make_house(flat="0.30")
    inv = issued(h)
    services.credit_note_create(invoice=inv, reason="most", amount=D("99.00"))
    with pytest.raises(IntegrityError), transaction.atomic():  # past the service's check
        CreditNote.objects.create(invoice=inv, number="CN-X", reason="raw", currency="EUR",
                                  net_total=D("-5"), tax_total=D("0"), total=D("-5"),
                                  full=False, issued_at=timezone.now())


def test_golden_back_dated_move_credits_the_outgoing_tenant_once(ctx):
    h = make_house(flat="0.30")
    inv = issued(h)
    bea = tenant_services.tenant_create(name="Bea", email="bea@example.com")
    tenant_services.move_register(billing_point=h.bp, moved_at=at(date(2026, 9, 16)),
                                  incoming_tenant=bea, readings={h.meter.serial_number: "1250"})
    note = services.credit_note_for_adjustments(invoice=inv)
    # A paid 16–30 Sep without living there: standing −4.95 and 150 kWh −45.00, net −49.95;
    # VAT 19 % on −49.95 = −9.4905 → −9.49; total −59.44
    assert (note.net_total, note.tax_total, note.total) == (
        D("-49.95"), D("-9.49"), D("-59.44"))
    assert set(Adjustment.objects.filter(tenant=h.tenant).values_list("credit_note", flat=True)
               ) == {note.pk}
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.ISSUED
    with pytest.raises(ValidationError):  # settled: not credited twice
        services.credit_note_for_adjustments(invoice=inv)
    read(h.meter, (at(NOV), "1500"))
    [oct_inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=OCT, end=NOV)
    # B's October invoice carries B's +4.95 and +45.00; nothing of A's credit
    assert Invoice.objects.get(pk=oct_inv.pk).tenant == bea
    assert not Invoice.objects.filter(tenant=h.tenant, period_start=at(OCT)).exists()


def test_full_credit_note_still_voids_and_releases_the_period(ctx):
    h = make_house(flat="0.30")
    inv = issued(h)
    note = services.credit_note_create(invoice=inv, reason="Wrong tenant")
    assert note.full and note.total == D("-118.88")
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.VOID
    assert not BilledPeriod.objects.get(invoice=inv).active


def test_partial_credit_note_api_and_portal_with_confirmation(world_a):
    with organization_context(world_a.org):
        h = make_house(flat="0.30")
        inv = issued(h)
        usage = inv.lines.get(kind="usage")
    manager = api_client(key=world_a.write_key)
    r = manager.post(f"/api/v1/invoices/{inv.public_id}/credit-note/",
                     {"reason": "Misread", "lines": [str(usage.public_id)]}, format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["full"] is False and D(body["total"]) == D("-107.10")
    assert D(body["cash_rounding"]) == 0
    r = manager.post(f"/api/v1/invoices/{inv.public_id}/credit-note/",
                     {"reason": "Too much", "amount": "20.00"}, format="json")
    assert r.status_code == 400 and "amount" in r.json()["error"]["fields"]

    client = login_client(world_a.manager, world_a.org)
    url = f"/billing/invoices/{inv.public_id}/credit-note/"
    form = client.get(url).content.decode()
    assert "Chosen lines" in form and "An amount, net" in form
    r = client.post(url, {"reason": "Goodwill", "mode": "amount", "amount": "2.00"})
    page = r.content.decode()
    assert r.status_code == 200 and 'data-testid="credit-preview"' in page
    assert "-2.38" in page  # 2.00 + 19 % = 2.38, shown before anything is issued
    with organization_context(world_a.org):
        assert CreditNote.objects.filter(invoice=inv).count() == 1
    r = client.post(url, {"reason": "Goodwill", "mode": "amount", "amount": "2.00",
                          "confirm": "1"}, follow=True)
    assert "stays issued" in r.content.decode()
    with organization_context(world_a.org):
        assert [n.total for n in CreditNote.objects.filter(invoice=inv).order_by("pk")] == [
            D("-107.10"), D("-2.38")]


def test_golden_credit_and_rebill_settles_a_back_dated_move_at_once(ctx):
    h = make_house(flat="0.30")
    inv = issued(h)
    bea = tenant_services.tenant_create(name="Bea", email="bea@example.com")
    tenant_services.move_register(billing_point=h.bp, moved_at=at(date(2026, 9, 16)),
                                  incoming_tenant=bea, readings={h.meter.serial_number: "1250"})
    out = services.adjustments_rebill(invoice=inv)
    # A: −4.95 − 45.00 = −49.95 net, VAT −9.49 (19 % of −49.95 = −9.4905) → −59.44
    assert out.credit_note.total == D("-59.44") and not out.credit_note.full
    [rebill] = out.invoices
    # B: the 16–30 Sep days and kWh A had paid: 4.95 (VAT 0.94) + 45.00 (VAT 8.55)
    assert (rebill.tenant, rebill.kind, rebill.status) == (bea, "adjustment", "draft")
    assert (rebill.net_total, rebill.tax_total, rebill.total) == (
        D("49.95"), D("9.49"), D("59.44"))
    assert (rebill.period_start, rebill.period_end) == (inv.period_start, inv.period_end)
    services.invoice_issue(invoice=rebill)
    inv.refresh_from_db()
    assert inv.status == InvoiceStatus.ISSUED and BilledPeriod.objects.get(
        invoice=inv, adjustment__isnull=True).active
    assert not Adjustment.objects.filter(invoice__isnull=True, credit_note__isnull=True)
    with pytest.raises(Conflict):  # nothing left: settled once
        services.adjustments_rebill(invoice=inv)
    read(h.meter, (at(NOV), "1500"))
    [oct_inv] = services.invoice_create_draft(subscriptions=[h.subscription], start=OCT, end=NOV)
    # October carries no adjustment any more: 9.90 + 100 kWh × 0.30
    assert Invoice.objects.get(pk=oct_inv.pk).net_total == D("39.90")


def test_credit_and_rebill_through_the_api_and_the_portal(world_a):
    with organization_context(world_a.org):
        h = make_house(flat="0.30")
        inv = issued(h)
        bea = tenant_services.tenant_create(name="Bea", email="bea@example.com")
        tenant_services.move_register(billing_point=h.bp, moved_at=at(date(2026, 9, 16)),
                                      incoming_tenant=bea,
                                      readings={h.meter.serial_number: "1250"})
    client = login_client(world_a.manager, world_a.org)
    page = client.get(f"/billing/invoices/{inv.public_id}/").content.decode()
    assert "Credit and re-bill now…" in page and "Credit the pending reductions now…" in page
    assert b"settled at once" in client.get(f"/billing/invoices/{inv.public_id}/rebill/").content
    manager = api_client(key=world_a.write_key)
    r = manager.post(f"/api/v1/invoices/{inv.public_id}/rebill/")
    assert r.status_code == 201, r.content
    body = r.json()
    assert D(body["credit_note"]["total"]) == D("-59.44")
    [rebill] = body["invoices"]
    assert rebill["kind"] == "adjustment" and D(rebill["total"]) == D("59.44")
    assert {line["adjusts_invoice"] for line in rebill["lines"]} == {inv.number}
    r = manager.post(f"/api/v1/invoices/{inv.public_id}/rebill/")
    assert r.status_code == 409 and r.json()["error"]["code"] == "nothing_pending"
    r = client.post(f"/billing/invoices/{inv.public_id}/credit-adjustments/", follow=True)
    assert "No pending adjustment" in r.content.decode()


def test_partial_credit_note_shows_vat_per_rate_and_cash_rounding_everywhere(world_a):
    """A partial credit note of two lines at two VAT rates, CHF-style cash rounding 0.05:
    usage 90.00 at 19 % → VAT 17.10; a service 10.05 at 8.1 % → 0.81405 → 0.81.
    Net −100.05, VAT −17.91, gross −117.96 → nearest 0.05: −117.95, cash rounding +0.01.
    The PDF, the page and the API show net + VAT per rate + cash rounding = total, and say
    the note is partial (the invoice stays due for the rest)."""
    from tests.billing.test_statements import has, pdf_text

    with organization_context(world_a.org):
        h = make_house(flat="0.30", cash_rounding="0.05")
        inv = issued(h, manual=[{"description": "Service", "quantity": D(1),
                                 "unit_price": D("10.05"), "tax_rate": D("8.1")}])
        chosen = [inv.lines.get(kind="usage"), inv.lines.get(kind="manual")]
        note = services.credit_note_create(invoice=inv, reason="Misread", lines=chosen)
    assert (note.net_total, note.tax_total, note.cash_rounding, note.total) == (
        D("-100.05"), D("-17.91"), D("0.01"), D("-117.95"))

    client = login_client(world_a.manager, world_a.org)
    text = pdf_text(client.get(f"/billing/credit-notes/{note.public_id}/pdf/").getvalue())
    for needle in ("VAT 8.10 % on -10.05 -0.81", "VAT 19 % on -90.00 -17.10",
                   "Total VAT -17.91", "Cash rounding 0.01", "-117.95"):
        assert has(text, needle), (needle, text)
    assert not has(text, "in full") and has(text, "partial"), text

    page = client.get(f"/billing/credit-notes/{note.public_id}/").content.decode()
    assert 'data-testid="credit-note-vat"' in page
    for needle in ("8.10 %", "-10.05", "-0.81", "19 %", "-90.00", "-17.10", "Cash rounding",
                   "0.01", "-117.95", "partial"):
        assert needle in page, needle

    body = api_client(key=world_a.write_key).get(
        f"/api/v1/credit-notes/{note.public_id}/").json()
    assert body["vat_summary"] == [
        {"rate": "8.10", "base": "-10.05", "vat": "-0.81"},
        {"rate": "19.00", "base": "-90.00", "vat": "-17.10"}]
    assert (body["net_total"], body["tax_total"], body["cash_rounding"], body["total"]) == (
        "-100.05", "-17.91", "0.01", "-117.95")
