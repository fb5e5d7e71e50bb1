"""Worlds for the ledger's browser journeys (``test_journey_ledger_*``): a Swiss
organization with a QR-IBAN, invoices due on chosen days (the pages use the real today),
camt.054 files paying them, and the small page helpers the journeys share."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from billing.models import DocumentKind, Invoice, InvoiceStatus
from billing.services.numbering import document_number_claim, invoice_payment_reference
from billspree.core.ledger_hooks import announce_issued
from billspree.core.models import Organization
from billspree.core.scoping import require_organization
from billspree.core.timefmt import local_date
from tests.ledger.builders import draft

D = Decimal
ZURICH = ZoneInfo("Europe/Zurich")
QR_IBAN = "CH4431999123000889012"
CH_ADDRESS = {"street": "Bahnhofstrasse", "building_number": "12", "postal_code": "8001",
              "town": "Zürich", "country": "CH"}
TENANT_ADDRESS = {"street": "Dorfweg", "building_number": "3a", "postal_code": "3000",
                  "town": "Bern", "country": "CH"}
#: a well-formed creditor reference no invoice of any world carries
UNKNOWN_REFERENCE = "RF18539007547034"


def swiss(org: Organization) -> Organization:
    """The organization bills in CHF into a QR-IBAN (QR references on its invoices), from
    a Zürich address (printed on the QR-bill), 14 days to pay, Swiss time."""
    Organization.objects.filter(pk=org.pk).update(
        iban=QR_IBAN, time_zone="Europe/Zurich", payment_terms_days=14,
        default_currency="CHF", vat_number="CHE-123.456.789 MWST", **CH_ADDRESS)
    org.refresh_from_db()
    return org


def today() -> date:
    """The day the pages call today (the organization's, of the real clock)."""
    return local_date(timezone.now(), require_organization())


@transaction.atomic
def issued_due(tenant, billing_point, total: str, *, due_on: date,
               currency: str = "CHF") -> Invoice:
    """An invoice issued as if on the day that makes it due on ``due_on`` (issue day +
    the organization's payment terms): numbered and given its payment reference as
    billing's issue does, then announced, so the ledger posts it through its own hook with
    that issue day. The issue timestamp cannot move once issued (billing's trigger), hence
    the one UPDATE from draft. No PDF statement is rendered (the journeys that download
    one issue through billing's service)."""
    org = require_organization()
    issue_day = due_on - timedelta(days=org.payment_terms_days)
    inv = draft(tenant, billing_point, total, currency=currency)
    sequence, number = document_number_claim(kind=DocumentKind.INVOICE)
    Invoice.objects.filter(pk=inv.pk).update(
        number=number, status=InvoiceStatus.ISSUED,
        payment_reference=invoice_payment_reference(sequence_number=sequence, number=number,
                                                    currency=currency),
        issued_at=datetime.combine(issue_day, time(12), tzinfo=ZURICH))
    inv.refresh_from_db()
    announce_issued(invoices=[inv])
    return inv


# --- camt.054 --------------------------------------------------------------------------------

@dataclass
class Tx:
    bank_ref: str
    amount: str
    payer: str
    reference: str  # the creditor reference as the payer typed it


def camt054(day: date, txs: list[Tx]) -> bytes:
    """A Swiss camt.054 notification: one booked batch entry, a TxDtls per payment with
    its structured creditor reference (QRR when it is 27 digits, SCOR otherwise)."""
    total = sum(D(t.amount) for t in txs)
    body = "".join(f"""
<TxDtls><Refs><AcctSvcrRef>{t.bank_ref}</AcctSvcrRef></Refs>
<Amt Ccy="CHF">{t.amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<RltdPties><Dbtr><Nm>{t.payer}</Nm></Dbtr></RltdPties>
<RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry>{_kind(t.reference)}</CdOrPrtry></Tp>
<Ref>{t.reference}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>""" for t in txs)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.04"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>E2E-{day}</MsgId><CreDtTm>{day}T06:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>E2E-N-{day}</Id><CreDtTm>{day}T06:00:00</CreDtTm>
<Acct><Id><IBAN>{QR_IBAN}</IBAN></Id><Ccy>CHF</Ccy></Acct>
<Ntry><Amt Ccy="CHF">{total:.2f}</Amt><CdtDbtInd>CRDT</CdtDbtInd><RvslInd>false</RvslInd>
<Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>E2E-{day}</AcctSvcrRef>
<NtryDtls><Btch><NbOfTxs>{len(txs)}</NbOfTxs></Btch>{body}</NtryDtls></Ntry>
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>""".encode()


def _kind(reference: str) -> str:
    compact = reference.replace(" ", "")
    if compact.isdigit():
        return "<Prtry>QRR</Prtry>"
    return "<Cd>SCOR</Cd>"


def grouped(reference: str) -> str:
    """A QR reference as the slip prints it and people type it: 2 + 5×5 digits."""
    return " ".join([reference[:2]] + [reference[i:i + 5] for i in range(2, len(reference), 5)])


# --- pages -----------------------------------------------------------------------------------

def money(value: Decimal | str) -> str:
    """An amount as the pages print it (``floatformat:"2g"``: 1,234.50)."""
    return f"{D(value):,.2f}"


def day_short(d: date) -> str:
    return f"{d.day} {d:%b} {d.year}"


def day_long(d: date) -> str:
    return f"{d.day} {d:%B} {d.year}"


def flash(page):
    return page.locator(".messages .flash").first


def download(page, url: str) -> bytes:
    """GET ``url`` with the page's cookies (the browser's session), as a link would."""
    res = page.request.get(url)
    assert res.status == 200, (url, res.status)
    return res.body()


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(" ".join((p.extract_text() or "") for p in PdfReader(io.BytesIO(pdf)).pages)
                    .split())


def qr_codes(pdf: bytes, dpi: int = 200) -> list[str]:
    """The text of every QR code on every page of ``pdf`` (rendered with pypdfium2,
    decoded with zxing-cpp, as tests/billing/test_payment_slips.py does)."""
    import pypdfium2
    import zxingcpp

    out = []
    doc = pypdfium2.PdfDocument(pdf)
    for n in range(len(doc)):
        image = doc[n].render(scale=dpi / 72).to_pil()
        out += [r.text for r in zxingcpp.read_barcodes(image)
                if r.format == zxingcpp.BarcodeFormat.QRCode]
    return out
