"""Payment slips on invoice statements: a Swiss QR-bill on CHF invoices, an EPC (SEPA)
QR code on EUR ones. The PDF is rendered through the real statement path, rasterised at
300 dpi with pypdfium2 and the QR code decoded with zxing-cpp; the payload must carry the
invoice's stored payment reference, total, IBAN and addresses."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal as D

import pypdfium2
import pytest
import zxingcpp

from billing import services
from billing.models import Invoice
from billing.services.statements import invoice_statement_render
from billing.statements.payment import payment_part
from billspree.core.models import Organization
from billspree.core.payment_refs import grouped_reference, normalise_reference
from tenants import services as tenant_services
from tests.billing.builders import at, make_house, read

DPI = 300
QR_IBAN = "CH4431999123000889012"
CH_IBAN = "CH9300762011623852957"
DE_IBAN = "DE89370400440532013000"
SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)


def configure(org, *, iban: str, country: str = "CH", **extra) -> None:
    address = {"CH": {"street": "Bahnhofstrasse", "building_number": "12", "postal_code": "8001",
                          "town": "Zürich", "country": "CH"},
               "DE": {"street": "Lindenstraße", "building_number": "12", "postal_code": "10969",
                          "town": "Berlin", "country": "DE"}}[country]
    Organization.objects.filter(pk=org.pk).update(
        iban=iban, vat_number="CHE-123.456.789 MWST" if country == "CH" else "DE123456789",
        **{**address, **extra})
    org.refresh_from_db()


def issued_invoice(*, currency: str, tenant_address: dict | None = None) -> Invoice:
    h = make_house(currency=currency, connected=date(2026, 8, 1), initial="0", flat="0.25",
                   standing=False, tax_rate="8.1")
    if tenant_address is not None:
        tenant_services.tenant_update(tenant=h.tenant, **tenant_address)
    read(h.meter, (at(SEP), "100"), (at(OCT), "556.789"))
    [draft] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP, end=OCT)
    return services.invoice_issue(invoice=draft)


TENANT_CH = {"street": "Dorfweg", "building_number": "3a", "postal_code": "3000", "town": "Bern",
                 "country": "CH"}
TENANT_DE = {"street": "Hauptstraße", "building_number": "7", "postal_code": "80331",
                 "town": "München", "country": "DE"}


def decode_pages(pdf: bytes) -> list[tuple[int, object]]:
    """Every QR code on every page at ``DPI``: (page index, zxing result)."""
    found = []
    doc = pypdfium2.PdfDocument(pdf)
    for n in range(len(doc)):
        image = doc[n].render(scale=DPI / 72).to_pil()
        found += [(n, r) for r in zxingcpp.read_barcodes(image)
                  if r.format == zxingcpp.BarcodeFormat.QRCode]
    return found


def side_mm(result) -> float:
    """Edge length of a decoded QR symbol (its finder-pattern corners) in mm."""
    pos = result.position
    xs = [pos.top_left.x, pos.top_right.x, pos.bottom_left.x, pos.bottom_right.x]
    return (max(xs) - min(xs)) * 25.4 / DPI


@pytest.fixture
def chf_org(in_org_a):
    configure(in_org_a.org, iban=QR_IBAN)
    return in_org_a.org


def test_chf_statement_carries_a_decodable_qr_bill_with_a_qr_reference(chf_org):
    inv = issued_invoice(currency="CHF", tenant_address=TENANT_CH)
    assert len(inv.payment_reference) == 27 and inv.payment_reference.isdigit()
    pdf = invoice_statement_render(invoice=inv)
    codes = decode_pages(pdf)
    assert len(codes) == 1
    page, code = codes[0]
    assert page == len(pypdfium2.PdfDocument(pdf)) - 1  # on the last page
    lines = code.text.splitlines()
    assert lines[:3] == ["SPC", "0200", "1"]
    assert lines[3] == QR_IBAN
    assert lines[4:11] == ["S", chf_org.name, "Bahnhofstrasse", "12", "8001", "Zürich", "CH"]
    inv.refresh_from_db()
    assert lines[18] == f"{inv.total:.2f}" and D(lines[18]) == inv.total.quantize(D("0.01"))
    assert lines[19] == "CHF"
    assert lines[20:27] == ["S", inv.tenant.name, "Dorfweg", "3a", "3000", "Bern", "CH"]
    assert lines[27] == "QRR"
    assert lines[28] == inv.payment_reference
    assert "EPD" in lines
    # SIX: the QR code is 46 x 46 mm
    assert side_mm(code) == pytest.approx(46, abs=0.5)


def test_normal_iban_gets_a_creditor_reference_matchable_back(chf_org):
    configure(chf_org, iban=CH_IBAN)
    inv = issued_invoice(currency="CHF", tenant_address=TENANT_CH)
    assert inv.payment_reference.startswith("RF")
    [(_, code)] = decode_pages(invoice_statement_render(invoice=inv))
    lines = code.text.splitlines()
    assert lines[3] == CH_IBAN and lines[27] == "SCOR" and lines[28] == inv.payment_reference
    # the contract of payment matching: the printed reference leads back to this invoice
    typed = " ".join(inv.payment_reference[i:i + 4] for i in range(0, 30, 4)).lower()
    assert Invoice.objects.get(payment_reference=normalise_reference(typed)) == inv


def test_eur_statement_carries_an_epc_qr_code(in_org_a):
    configure(in_org_a.org, iban=DE_IBAN, country="DE", bic="COBADEFFXXX")
    inv = issued_invoice(currency="EUR", tenant_address=TENANT_DE)
    pdf = invoice_statement_render(invoice=inv)
    [(_, code)] = decode_pages(pdf)
    lines = code.text.splitlines()
    assert lines[0] == "BCD" and lines[1] in ("001", "002")
    assert lines[3] == "SCT" and lines[4] == "COBADEFFXXX"
    assert lines[5] == in_org_a.org.name and lines[6] == DE_IBAN
    inv.refresh_from_db()
    assert lines[7] == f"EUR{inv.total:.2f}"
    assert lines[9] == inv.payment_reference and inv.payment_reference.startswith("RF")
    assert side_mm(code) >= 25
    text = pdf_text(pdf)
    assert has(text, "VAT no. DE123456789") and has(text, "80331 München")
    assert has(text, "Pay by bank app")


def pdf_text(pdf: bytes) -> str:
    import io

    from pypdf import PdfReader

    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    return "".join(text.split()).lower()  # extraction splits kerned pairs ("T otal")


def has(text: str, needle: str) -> bool:
    return "".join(needle.split()).lower() in text


def test_statement_header_shows_vat_number_and_tenant_postal_address(chf_org):
    inv = issued_invoice(currency="CHF", tenant_address=TENANT_CH)
    text = pdf_text(invoice_statement_render(invoice=inv))
    assert has(text, "CHE-123.456.789 MWST")
    assert has(text, "Dorfweg 3a") and has(text, "3000 Bern")


@pytest.mark.parametrize("org_change, tenant_address, why", [
    ({"postal_code": "", "town": "", "street": "Bahnhofstrasse 12, 8001 Zürich"}, TENANT_CH,
     "organization's postal address is not a structured address"),
    ({}, {**TENANT_CH, "postal_code": "", "town": "", "street": "Dorfweg 3a, 3000 Bern"},
     "tenant's postal address is not a structured address"),
])
def test_combined_address_gets_no_payment_part_and_a_reason(chf_org, caplog, org_change,
                                                            tenant_address, why):
    if org_change:
        configure(chf_org, iban=QR_IBAN, **org_change)
    inv = issued_invoice(currency="CHF", tenant_address=tenant_address)
    part = payment_part(organization=chf_org, invoice=inv)
    assert part.kind == "" and why in part.reason and "postal code" in part.reason
    with caplog.at_level(logging.INFO, logger="billing.statements.payment"):
        pdf = invoice_statement_render(invoice=inv)
    assert decode_pages(pdf) == []  # the statement renders, without a payment part
    assert why in caplog.text


def test_no_iban_renders_as_before_and_a_later_qr_iban_does_not_fit_old_references(in_org_a):
    inv = issued_invoice(currency="CHF", tenant_address=TENANT_CH)
    pdf = invoice_statement_render(invoice=inv)
    assert decode_pages(pdf) == [] and has(pdf_text(pdf), "How to pay")
    assert inv.payment_reference.startswith("RF")  # no QR-IBAN when it was issued
    configure(in_org_a.org, iban=QR_IBAN)
    part = payment_part(organization=in_org_a.org, invoice=inv)
    assert part.kind == "" and "QR-IBAN takes a QR reference" in part.reason
    assert decode_pages(invoice_statement_render(invoice=inv)) == []


def test_tenant_without_postal_address_leaves_the_debtor_box_empty(chf_org):
    inv = issued_invoice(currency="CHF")
    [(_, code)] = decode_pages(invoice_statement_render(invoice=inv))
    lines = code.text.splitlines()
    assert lines[18:20] == [f"{inv.total:.2f}", "CHF"]
    assert lines[20:27] == [""] * 7 and lines[27] == "QRR"


def test_nothing_due_gets_no_payment_part(chf_org):
    inv = issued_invoice(currency="CHF", tenant_address=TENANT_CH)
    inv.total = D("0")  # issued invoices are immutable: judge an in-memory copy
    part = payment_part(organization=chf_org, invoice=inv)
    assert part.kind == "" and "nothing is due" in part.reason


def test_references_are_printed_in_groups():
    assert grouped_reference("210000000003139471430009017") == "21 00000 00003 13947 14300 09017"
    assert grouped_reference("RF18539007547034") == "RF18 5390 0754 7034"


def test_statement_email_asks_for_the_slips_reference(chf_org):
    from django.template.loader import render_to_string

    from billing.selectors.statements import invoice_statement_data

    configure(chf_org, iban=CH_IBAN)
    inv = issued_invoice(currency="CHF", tenant_address=TENANT_CH)
    inv.refresh_from_db()
    data = invoice_statement_data(invoice=inv)
    for name in ("billing/email/statement.txt", "billing/email/statement.html"):
        body = render_to_string(name, {"s": data})
        assert inv.payment_reference in body, name
        assert f"quote {inv.number}" not in body
