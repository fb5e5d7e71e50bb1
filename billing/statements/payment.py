"""The payment part of an invoice statement: a Swiss QR-bill (CHF) or an EPC "GiroCode"
QR code for a SEPA credit transfer (EUR).

Why it never raises: a statement must render whatever the organization's settings are. An
invoice that cannot carry a valid payment slip (no IBAN, no structured address, a draft,
nothing to pay, another currency) gets none, and :attr:`PaymentPart.reason` plus a log line
say why; the rest of the statement prints as before.

Why the SVG is cached: qrbill draws ~30 bills a second, and a statement is rendered again
on every regeneration of the same invoice; the key is everything printed on the slip, so a
changed address or IBAN draws a new one.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from billspree.core.banking import is_qr_iban
from billspree.core.payment_refs import (
    grouped_reference,
    is_valid_creditor_reference,
    is_valid_qr_reference,
)
from billspree.core.postal import PostalAddress, address_problems

log = logging.getLogger(__name__)

QR_BILL, EPC = "qrbill", "epc"
MAX_AMOUNT = Decimal("999999999.99")
CENT = Decimal("0.01")
ISSUED = ("issued", "paid")


@dataclass(frozen=True)
class PaymentPart:
    kind: str = ""  # QR_BILL, EPC, or "" (none: see reason)
    svg: str = ""
    reason: str = ""
    reference: str = ""
    #: as printed for people: QRR in groups of 2 + 5 x 5 digits (SIX), SCOR and IBAN by 4
    reference_display: str = ""
    iban_display: str = ""


@dataclass(frozen=True)
class SlipInput:
    """Everything a payment slip prints (hashable: the cache key)."""

    iban: str
    bic: str
    creditor: PostalAddress
    debtor: PostalAddress | None
    amount: Decimal
    currency: str
    reference: str
    message: str


def payment_part(*, organization, invoice) -> PaymentPart:
    """The payment part of ``invoice`` (issued by ``organization``), or why there is none."""
    slip, reason = slip_input(organization=organization, invoice=invoice)
    if slip is None:
        if reason:
            log.info("No payment part on invoice %s: %s", invoice.number or invoice.pk, reason)
        return PaymentPart(reason=reason)
    shown = {"reference": slip.reference, "reference_display": grouped_reference(slip.reference),
             "iban_display": grouped(slip.iban)}
    try:
        if slip.currency == "CHF":
            return PaymentPart(kind=QR_BILL, svg=qr_bill_svg(slip), **shown)
        return PaymentPart(kind=EPC, svg=epc_svg(slip), **shown)
    except ValueError as exc:  # a rule of the spec we did not check ourselves
        reason = f"the payment slip was refused: {exc}"
        log.warning("No payment part on invoice %s: %s", invoice.number, reason)
        return PaymentPart(reason=reason)


def slip_input(*, organization, invoice) -> tuple[SlipInput | None, str]:
    """What the slip of ``invoice`` prints, or (None, why not). An empty reason means
    there is simply nothing to explain (no IBAN configured)."""
    currency = str(invoice.currency)
    if not organization.iban:
        return None, ""
    if invoice.status not in ISSUED:
        return None, f"the invoice is {invoice.status}; only issued invoices carry a payment slip"
    if currency not in ("CHF", "EUR"):
        return None, f"payment slips exist for CHF (QR-bill) and EUR (EPC QR), not {currency}"
    amount = Decimal(invoice.total).quantize(CENT, ROUND_HALF_UP)
    if amount <= 0:
        return None, "nothing is due on this invoice"
    if amount > MAX_AMOUNT:
        return None, "the amount is above 999,999,999.99"
    reference = invoice.payment_reference
    if not reference:
        return None, "the invoice was issued before payment references existed"
    qr_iban = is_qr_iban(organization.iban)
    creditor = organization.postal_address(organization.name)
    if currency == "CHF":
        problems = address_problems(creditor)
        if problems:
            return None, ("the organization's postal address is not a structured address: "
                          "it needs " + "; ".join(problems))
        if qr_iban != is_valid_qr_reference(reference):
            return None, (f"the reference {reference} does not suit the account "
                          f"{'(a QR-IBAN takes a QR reference)' if qr_iban else ''}".strip())
    elif qr_iban or not is_valid_creditor_reference(reference):
        return None, "an EPC QR code needs a normal IBAN and an RF creditor reference"
    tenant = invoice.tenant
    debtor = tenant.postal_address(tenant.name)
    if currency == "CHF" and debtor.is_blank:
        debtor = None  # SIX: the slip then prints an empty "Payable by" box
    elif currency == "CHF":
        problems = address_problems(debtor)
        if problems:
            return None, ("the tenant's postal address is not a structured address: it needs "
                          + "; ".join(problems))
    return SlipInput(iban=organization.iban, bic=organization.bic, creditor=creditor,
                     debtor=debtor if currency == "CHF" else None, amount=amount,
                     currency=currency, reference=reference,
                     message=f"Invoice {invoice.number}"), ""


def _qr_address(address: PostalAddress) -> dict:
    return {"name": address.name, "street": address.street, "house_num": address.building_number,
            "pcode": address.postal_code, "city": address.town, "country": address.country}


@lru_cache(maxsize=512)
def qr_bill_svg(slip: SlipInput) -> str:
    """The QR-bill (receipt and payment part, 210 × 105 mm, with the scissors line) as an
    inline ``<svg>`` element (WeasyPrint draws it natively: no conversion loses the
    scissors, and the QR code keeps its 46 mm)."""
    from qrbill import QRBill

    bill = QRBill(
        account=slip.iban, creditor=_qr_address(slip.creditor),
        debtor=_qr_address(slip.debtor) if slip.debtor else None,
        amount=f"{slip.amount:.2f}", currency="CHF", reference_number=slip.reference,
        additional_information=slip.message, language="en", top_line=True,
    )
    out = io.StringIO()
    bill.as_svg(out)
    return strip_xml_declaration(out.getvalue())


@lru_cache(maxsize=512)
def epc_svg(slip: SlipInput) -> str:
    """The EPC QR code (error level M, as EPC069-12 requires) as an inline ``<svg>``."""
    import segno.helpers

    qr = segno.helpers.make_epc_qr(name=slip.creditor.name[:70], iban=slip.iban,
                                   amount=slip.amount, reference=slip.reference,
                                   bic=slip.bic or None)
    return qr.svg_inline(omitsize=True, border=0, dark="#000")


def strip_xml_declaration(svg: str) -> str:
    return svg[svg.index("<svg"):] if "<svg" in svg else svg


def grouped(text: str, size: int = 4) -> str:
    return " ".join(text[i:i + size] for i in range(0, len(text), size))


