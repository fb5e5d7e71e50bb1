"""Payment references printed on payment slips, and read back from bank payments.

Pure functions (no database): a QR reference (QRR, Swiss QR-bill with a QR-IBAN: 27 digits,
the last one a recursive modulo-10 check digit, SIX "Implementation Guidelines for the
QR-bill", annex B) and an ISO 11649 creditor reference (SCOR, "RF" + two ISO 7064
MOD 97-10 check digits + up to 21 letters and digits), which every other IBAN and the EPC
(SEPA) QR code take.

Why the reference is derived from the invoice's number and stored on the invoice
(``Invoice.payment_reference``): it must be the same on every render of the statement,
unique in the organization, and a payment quoting it must lead back to exactly one invoice
by a plain lookup of ``normalise_reference(text)``.
"""

from __future__ import annotations

import re

#: SIX table of the recursive modulo-10 algorithm (the carry after each digit).
_MOD10_TABLE = (0, 9, 4, 6, 8, 2, 7, 1, 3, 5)
QR_REFERENCE_LENGTH = 27
CREDITOR_BASE_MAX = 21
_ALNUM = re.compile(r"[^0-9A-Z]")


def normalise_reference(text: str) -> str:
    """A reference as compared and stored: no whitespace, upper case (people and banks
    print references in groups of four or five, and type them in lower case)."""
    return "".join(str(text or "").split()).upper()


# --- QR reference (QRR) -----------------------------------------------------------------------


def mod10_recursive(digits: str) -> int:
    """The check digit of ``digits`` by SIX's recursive modulo 10."""
    carry = 0
    for ch in digits:
        carry = _MOD10_TABLE[(carry + int(ch)) % 10]
    return (10 - carry) % 10


def qr_reference(payload_digits: str) -> str:
    """The 27-digit QR reference of a numeric payload (at most 26 digits, zero-padded)."""
    payload = normalise_reference(payload_digits)
    if not payload.isdigit() or len(payload) > QR_REFERENCE_LENGTH - 1:
        raise ValueError(f"A QR reference payload is 1 to 26 digits, not {payload_digits!r}.")
    payload = payload.zfill(QR_REFERENCE_LENGTH - 1)
    return payload + str(mod10_recursive(payload))


def is_valid_qr_reference(text: str) -> bool:
    ref = normalise_reference(text)
    return (len(ref) == QR_REFERENCE_LENGTH and ref.isdigit() and int(ref) != 0
            and mod10_recursive(ref[:-1]) == int(ref[-1]))


# --- ISO 11649 creditor reference (SCOR) ----------------------------------------------------


def _as_number(text: str) -> int:
    """ISO 7064 MOD 97-10 input: digits stay, A..Z become 10..35."""
    return int("".join(str(int(ch, 36)) for ch in text))


def creditor_reference(base: str) -> str:
    """"RF" + check digits + ``base`` (letters and digits only, at most 21 of them)."""
    body = normalise_reference(base)
    if not body or len(body) > CREDITOR_BASE_MAX or _ALNUM.search(body):
        raise ValueError(
            f"A creditor reference takes 1 to {CREDITOR_BASE_MAX} letters and digits, "
            f"not {base!r}.")
    check = 98 - _as_number(body + "RF00") % 97
    return f"RF{check:02d}{body}"


def is_valid_creditor_reference(text: str) -> bool:
    ref = normalise_reference(text)
    if not (5 <= len(ref) <= 4 + CREDITOR_BASE_MAX) or not ref.startswith("RF"):
        return False
    if not ref[2:4].isdigit() or _ALNUM.search(ref):
        return False
    return _as_number(ref[4:] + ref[:4]) % 97 == 1


# --- the reference of an invoice ------------------------------------------------------------


def reference_for_invoice(number_sequence: int, invoice_number: str, qr_iban: bool) -> str:
    """The payment reference of an issued invoice.

    ``number_sequence`` is the integer the invoice sequence gave (unique per organization
    and never reused, whatever the prefix): with a QR-IBAN it is the QRR's payload. Otherwise
    the SCOR carries the invoice number itself (letters and digits), which people recognise
    on a bank statement; a number too long for 21 characters falls back to the sequence
    integer, still unique in the organization.
    """
    if number_sequence < 1:
        raise ValueError("An invoice's sequence number starts at 1.")
    if qr_iban:
        return qr_reference(str(number_sequence))
    base = _ALNUM.sub("", normalise_reference(invoice_number))
    if not base or len(base) > CREDITOR_BASE_MAX:
        base = str(number_sequence)
    return creditor_reference(base)


def grouped_reference(reference: str) -> str:
    """A reference as printed for people to type: a QR reference in 2 + groups of 5 (as
    SIX's style guide prints it), a creditor reference in groups of 4."""
    def grouped(text: str, size: int) -> str:
        return " ".join(text[i:i + size] for i in range(0, len(text), size))

    if is_valid_qr_reference(reference):
        return reference[:2] + " " + grouped(reference[2:], 5)
    return grouped(reference, 4)
