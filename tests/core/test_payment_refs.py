"""Payment references against the specifications' own examples, with check digits
recomputed here from first principles (SIX's recursive modulo 10 table, ISO 7064 MOD
97-10), never by the code under test."""

from __future__ import annotations

import pytest

from billspree.core.banking import is_qr_iban
from billspree.core.payment_refs import (
    creditor_reference,
    is_valid_creditor_reference,
    is_valid_qr_reference,
    normalise_reference,
    qr_reference,
    reference_for_invoice,
)

# SIX IG QR-bill, annex B: the carry of the recursive modulo 10, row 0 of its table.
SIX_ROW = [0, 9, 4, 6, 8, 2, 7, 1, 3, 5]


def six_check_digit(payload: str) -> int:
    carry = 0
    for d in payload:
        carry = SIX_ROW[(carry + int(d)) % 10]
    return (10 - carry) % 10


def iso7064_mod97(text: str) -> int:
    """Letters as 10..35, digits as themselves, the whole as one integer, mod 97."""
    digits = ""
    for ch in text:
        digits += ch if ch.isdigit() else str(ord(ch) - ord("A") + 10)
    return int(digits) % 97


# --- QRR ---------------------------------------------------------------------------------


def test_six_example_qr_reference_is_valid():
    assert is_valid_qr_reference("210000000003139471430009017")
    assert is_valid_qr_reference("21 00000 00003 13947 14300 09017")  # as printed
    assert six_check_digit("21000000000313947143000901") == 7


@pytest.mark.parametrize("payload", ["1", "42", "313947143000901", "9" * 26,
                                     "12345678901234567890123456"])
def test_qr_reference_pads_to_26_digits_and_appends_the_six_check_digit(payload):
    ref = qr_reference(payload)
    padded = payload.zfill(26)
    assert ref == padded + str(six_check_digit(padded)) and len(ref) == 27
    assert is_valid_qr_reference(ref)


def test_qr_reference_of_the_six_example_payload():
    assert qr_reference("21000000000313947143000901") == "210000000003139471430009017"


@pytest.mark.parametrize("bad", ["210000000003139471430009018", "21000000000313947143000901",
                                 "2100000000031394714300090170", "A10000000003139471430009017",
                                 "0" * 27, ""])
def test_wrong_qr_references_are_refused(bad):
    assert not is_valid_qr_reference(bad)


@pytest.mark.parametrize("bad", ["", "12a", "1" * 27])
def test_qr_reference_refuses_bad_payloads(bad):
    with pytest.raises(ValueError):
        qr_reference(bad)


# --- SCOR (ISO 11649) --------------------------------------------------------------------


@pytest.mark.parametrize("valid", ["RF18539007547034", "RF18 5390 0754 7034", "rf18539007547034",
                                   "RF45G72UUR", "RF712348231"])
def test_iso11649_examples_are_valid(valid):
    assert is_valid_creditor_reference(valid)
    ref = normalise_reference(valid)
    assert iso7064_mod97(ref[4:] + ref[:4]) == 1


@pytest.mark.parametrize("base", ["539007547034", "G72UUR", "2348231", "INV000123",
                                  "A" * 21, "0"])
def test_creditor_reference_check_digits_by_iso7064(base):
    expected = 98 - iso7064_mod97(base + "RF00")
    assert creditor_reference(base) == f"RF{expected:02d}{base}"
    assert is_valid_creditor_reference(creditor_reference(base))


def test_creditor_reference_of_the_iso_example():
    assert creditor_reference("539007547034") == "RF18539007547034"


@pytest.mark.parametrize("bad", ["RF19539007547034", "RF18539007547035", "XX18539007547034",
                                 "RF18", "RF1853900754703", "RF18-5390", "RF" + "1" * 24])
def test_wrong_creditor_references_are_refused(bad):
    assert not is_valid_creditor_reference(bad)


@pytest.mark.parametrize("bad", ["", "INV-1", "A" * 22])
def test_creditor_reference_refuses_bad_bases(bad):
    with pytest.raises(ValueError):
        creditor_reference(bad)


def test_normalise_reference():
    assert normalise_reference(" rf18 5390\t0754 7034\n") == "RF18539007547034"


# --- the reference of an invoice -------------------------------------------------------


def test_invoice_reference_with_a_qr_iban_is_the_sequence_number_as_qrr():
    ref = reference_for_invoice(123, "INV-000123", qr_iban=True)
    assert ref == "0" * 23 + "123" + str(six_check_digit("0" * 23 + "123"))
    assert int(ref[:-1]) == 123  # maps back to the sequence number


def test_invoice_reference_otherwise_is_the_number_as_scor():
    ref = reference_for_invoice(123, "inv-000123", qr_iban=False)
    assert ref == f"RF{98 - iso7064_mod97('INV000123RF00'):02d}INV000123"
    # a number longer than 21 letters and digits falls back to the sequence integer
    long = reference_for_invoice(7, "VERY-LONG-PREFIX-2026-0000007", qr_iban=False)
    assert long == f"RF{98 - iso7064_mod97('7RF00'):02d}7"


def test_invoice_references_are_unique_and_deterministic():
    refs = {reference_for_invoice(n, f"INV-{n:06d}", qr_iban=q) for n in range(1, 500)
            for q in (True, False)}
    assert len(refs) == 998
    same = reference_for_invoice(5, "INV-000005", True)
    assert same == reference_for_invoice(5, "INV-000005", True)


def test_qr_iban_detection():
    assert is_qr_iban("CH44 3199 9123 0008 8901 2")
    assert not is_qr_iban("CH93 0076 2011 6238 5295 7")
    assert not is_qr_iban("DE89 3704 0044 0532 0130 00")
    assert not is_qr_iban("CH44 3199 9123 0008 8901 3")  # bad checksum

