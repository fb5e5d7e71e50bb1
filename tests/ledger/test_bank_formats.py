"""ledger.bank_formats: camt.053/.054 and CSV bank files → BankLines (pure, no database).

The fixtures in tests/ledger/files/ are hand-written to look like real bank exports
(ZKB-style camt.053.001.08, PostFinance-style camt.054.001.04 with the QR-IBAN in
NtryRef, a bare camt.053.001.02); every value asserted here can be found in them.
"""

from __future__ import annotations

import pickle
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.bank_formats import (
    MAX_FILE_BYTES,
    BankFileError,
    BankLine,
    RowError,
    parse_bank_file,
    parse_camt,
    parse_csv,
)
from ledger.bank_formats.values import is_iban, parse_amount, parse_date

FILES = Path(__file__).parent / "files"
QRR = "210000000003139471430009017"
SCOR = "RF18539007547034"
ACCOUNT = "CH9300762011623852957"
QR_IBAN = "CH4431999123000889012"


def load(name: str) -> bytes:
    return (FILES / name).read_bytes()


def errors_of(data: bytes, filename: str = "") -> list[RowError]:
    with pytest.raises(BankFileError) as info:
        parse_bank_file(data, filename)
    return info.value.errors


def camt(body: str, version: str = "camt.053.001.08") -> bytes:
    """A one-statement camt document around ``body`` (its Ntry elements)."""
    container = "Ntfctn" if ".054." in version else "Stmt"
    root = "BkToCstmrDbtCdtNtfctn" if ".054." in version else "BkToCstmrStmt"
    return (
        f'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:{version}">'
        f"<{root}><{container}><Acct><Id><IBAN>{ACCOUNT}</IBAN></Id></Acct>{body}"
        f"</{container}></{root}></Document>"
    ).encode()


def entry(amount: str = "10.00", *, status: str = "<Cd>BOOK</Cd>", ind: str = "CRDT",
          details: str = "", ref: str = "<AcctSvcrRef>E1</AcctSvcrRef>") -> str:
    return (
        f'<Ntry><Amt Ccy="CHF">{amount}</Amt><CdtDbtInd>{ind}</CdtDbtInd><Sts>{status}</Sts>'
        f"<BookgDt><Dt>2026-11-03</Dt></BookgDt>{ref}{details}</Ntry>"
    )


# --- camt.053.001.08 -------------------------------------------------------------------

def test_camt053_v08_statement_every_booked_line_with_exact_values():
    lines = parse_bank_file(load("camt053_v08_statement.xml"), "stmt.xml")

    assert [line.row for line in lines] == [1, 2, 3, 4, 5, 6, 7]  # row 8 is pending
    assert lines[0] == BankLine(
        row=1, amount=Decimal("250.00"), currency="CHF",
        booked_on=date(2026, 11, 3), value_on=date(2026, 11, 3),
        reference=QRR, remittance="Nebenkosten Oktober",
        payer_name="Anna Muster", payer_iban="CH5604835012345678009",
        bank_reference="ZKB-T-20261103-0001", account_iban=ACCOUNT, reversal=False,
    )
    scor = lines[1]
    # TxAmt (account currency), not the instructed EUR amount; DtTm keeps the bank's day
    assert (scor.amount, scor.currency) == (Decimal("1234.50"), "CHF")
    assert scor.booked_on == date(2026, 11, 3)
    assert scor.value_on == date(2026, 11, 4)
    assert scor.reference == SCOR  # "rf18 5390 0754 7034" in the file
    assert scor.payer_name == "Müller & Söhne GmbH"
    assert scor.bank_reference == "ZKB-E-20261103-0002"  # entry id, single transaction

    text_only = lines[2]
    assert text_only.reference == ""
    assert text_only.remittance == "Rechnung INV-000042 Wohnung 3.OG links"
    assert "INV-000042" in text_only.remittance
    assert text_only.bank_reference == "PAY-7F3A-20261104"  # EndToEndId, no bank id

    batch = lines[3:5]
    assert [(b.amount, b.payer_name) for b in batch] == [
        (Decimal("120.00"), "Laura Rossi"), (Decimal("180.00"), "Jean Dupont"),
    ]
    assert batch[0].reference == "000000000000000000000000042"
    assert batch[1].remittance == "Facture INV-000043"
    assert [b.bank_reference for b in batch] == [
        "ZKB-E-20261104-B001:1", "ZKB-E-20261104-B001:2",
    ]

    fee, bounced = lines[5], lines[6]
    assert (fee.amount, fee.reversal, fee.bank_reference) == (
        Decimal("-45.00"), False, "ZKB-E-20261104-F001",
    )
    assert (bounced.amount, bounced.reversal, bounced.reference) == (
        Decimal("-250.00"), True, QRR,
    )
    assert bounced.value_on == date(2026, 11, 3)

    assert all(isinstance(line.amount, Decimal) for line in lines)
    assert all(line.account_iban == ACCOUNT for line in lines)
    credits = [line.amount for line in lines if line.amount > 0]
    assert sum(credits) == Decimal("1864.50")  # pending 99.00 not included
    assert sum(line.amount for line in lines) == Decimal("1569.50")


def test_same_bytes_twice_give_the_same_unique_bank_references():
    for name in ("camt053_v08_statement.xml", "camt054_v04_qr.xml",
                 "camt053_v02_minimal.xml", "comma_decimal_point.csv"):
        first = parse_bank_file(load(name), name)
        again = parse_bank_file(load(name), name)
        assert first == again
        refs = [line.bank_reference for line in first]
        assert len(set(refs)) == len(refs), name
        assert all(refs), name


# --- camt.054.001.04 (Swiss QR) ----------------------------------------------------------

def test_camt054_v04_qr_notification_takes_the_qr_iban_from_ntryref():
    lines = parse_camt(load("camt054_v04_qr.xml"))

    assert [(line.row, line.amount, line.reference, line.bank_reference) for line in lines] == [
        (1, Decimal("100.00"), QRR, "PF-20261104-QRR-0001-01"),
        (2, Decimal("200.00"), "000000000000000000000000436", "PF-20261104-QRR-0001-02"),
        (3, Decimal("300.00"), "000000000000000000000000511", "PF-20261104-QRR-0001-03"),
        (4, Decimal("75.35"), "000000000000000000000000620", "PF-20261104-QRR-0002"),
    ]
    assert {line.account_iban for line in lines} == {QR_IBAN}
    assert {line.booked_on for line in lines} == {date(2026, 11, 4)}
    assert {line.value_on for line in lines} == {date(2026, 11, 5)}
    assert [line.payer_name for line in lines] == [
        "Hans Meier", "Sofia Bianchi", "Familie Weber", "Ueli Graf",
    ]
    assert lines[0].payer_iban == "CH5800791123000889012"
    assert lines[1].remittance == "Miete November"
    assert not any(line.reversal for line in lines)
    assert sum(line.amount for line in lines) == Decimal("675.35")


def test_camt053_v02_minimal_entry_without_details_gets_a_hash_reference():
    (line,) = parse_bank_file(load("camt053_v02_minimal.xml"))
    assert (line.amount, line.currency, line.booked_on) == (
        Decimal("512.40"), "EUR", date(2026, 10, 30),
    )
    assert line.account_iban == "DE89370400440532013000"
    assert (line.reference, line.remittance, line.payer_name) == ("", "", "")
    assert line.bank_reference.startswith("sha256:")


def test_v02_debtor_name_without_pty_and_plain_sts():
    details = (
        "<NtryDtls><TxDtls><Refs><TxId>T9</TxId></Refs>"
        "<RltdPties><Dbtr><Nm>Old Style</Nm></Dbtr></RltdPties></TxDtls></NtryDtls>"
    )
    body = entry(status="BOOK", details=details, ref="<NtryRef>N7</NtryRef>")
    (line,) = parse_camt(camt(body, "camt.053.001.02"))
    assert line.payer_name == "Old Style"
    assert line.bank_reference == "N7:T9"


def test_a_repeated_bank_id_is_made_unique_so_no_payment_is_dropped_as_a_duplicate():
    tx = ('<TxDtls><Refs><AcctSvcrRef>SAME</AcctSvcrRef></Refs>'
          '<Amt Ccy="CHF">5.00</Amt></TxDtls>')
    lines = parse_camt(camt(entry("10.00", details=f"<NtryDtls>{tx}{tx}</NtryDtls>")))
    assert [line.bank_reference for line in lines] == ["SAME:1", "SAME:2"]


def test_entries_that_are_not_booked_are_skipped():
    body = (entry("1.00", status="<Cd>PDNG</Cd>") + entry("2.00", status="INFO")
            + entry("3.00", ref="<AcctSvcrRef>E3</AcctSvcrRef>"))
    (line,) = parse_camt(camt(body))
    assert (line.row, line.amount) == (3, Decimal("3.00"))


def test_an_empty_statement_is_no_lines():
    assert parse_camt(camt("")) == []


# --- camt errors ---------------------------------------------------------------------------

def test_camt_problems_are_all_collected_with_entry_and_field():
    body = (
        entry("0.00")                                   # row 1: zero
        + entry("abc", ref="")                         # row 2: not a number
        + entry("5.00", ind="XXXX", ref="")            # row 3: bad indicator
        + entry("5.00", status="<Cd>BOOKED</Cd>")      # row 4: unknown status
        + '<Ntry><Amt Ccy="CHF">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
          "<Sts><Cd>BOOK</Cd></Sts></Ntry>"            # row 5: no booking date
    )
    errors = errors_of(camt(body))
    assert [(e.row, e.field) for e in errors] == [
        (1, "Amt"), (2, "Amt"), (3, "CdtDbtInd"), (4, "Sts"), (5, "BookgDt"),
    ]
    assert errors[0].message == "entry 1: 0.00 is not a positive amount"
    assert "'abc' is not a number" in errors[1].message


def test_a_batch_that_does_not_add_up_is_refused():
    details = (
        '<NtryDtls><TxDtls><Amt Ccy="CHF">100.00</Amt></TxDtls>'
        '<TxDtls><Amt Ccy="CHF">150.00</Amt></TxDtls></NtryDtls>'
    )
    (error,) = errors_of(camt(entry("300.00", details=details)))
    assert (error.row, error.field) == (1, "Amt")
    assert "add up to 250.00 CHF but the entry books 300.00 CHF" in error.message


def test_a_batch_transaction_without_amount_is_an_error_not_a_dropped_line():
    details = ('<NtryDtls><TxDtls><Amt Ccy="CHF">10.00</Amt></TxDtls>'
               "<TxDtls/></NtryDtls>")
    (error,) = errors_of(camt(entry("10.00", details=details)))
    assert (error.row, error.field) == (2, "TxAmt")


@pytest.mark.parametrize(
    ("name", "field", "needle"),
    [
        ("pain001_wrong_namespace.xml", "namespace", "pain.001.001.09"),
        ("not_xml.xml", "file", "not XML"),
        ("broken.xml", "file", "not well-formed XML"),
        ("empty.csv", "file", "empty"),
    ],
)
def test_unreadable_files_are_refused_with_a_clear_message(name, field, needle):
    (error,) = errors_of(load(name), name)
    assert (error.row, error.field) == (0, field)
    assert needle in error.message


def test_camt052_and_no_namespace_are_refused():
    (error,) = errors_of(camt(entry(), "camt.052.001.08"))
    assert "camt.052 is not supported" in error.message
    (error,) = errors_of(b"<Document><BkToCstmrStmt/></Document>")
    assert error.field == "namespace"


def test_doctype_and_entities_are_refused_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><a>&x;</a>'
        "</Document>"
    ).encode()
    (error,) = errors_of(xxe)
    assert "DOCTYPE" in error.message
    assert "TOPSECRET" not in str(error)


def test_too_big_a_file_is_refused_before_parsing():
    data = b"date;amount;currency\n" + b" " * MAX_FILE_BYTES
    (error,) = errors_of(data)
    assert "limit is 50 MB" in error.message


# --- CSV ----------------------------------------------------------------------------------

def test_csv_semicolon_decimal_comma_swiss_dates_and_german_headers():
    lines = parse_bank_file(load("semicolon_decimal_comma.csv"), "ubs.csv")
    assert [(line.row, line.amount, line.currency, line.booked_on, line.value_on)
            for line in lines] == [
        (2, Decimal("1234.50"), "CHF", date(2026, 11, 3), date(2026, 11, 3)),
        (3, Decimal("1080.00"), "CHF", date(2026, 11, 4), None),
        (4, Decimal("-45.00"), "CHF", date(2026, 11, 4), date(2026, 11, 5)),
    ]
    first = lines[0]
    assert (first.reference, first.remittance, first.payer_name, first.payer_iban) == (
        QRR, "Nebenkosten", "Anna Muster", "CH5604835012345678009",
    )
    assert lines[1].reference == SCOR
    assert lines[1].payer_name == "Müller; Söhne"
    assert [line.bank_reference for line in lines] == ["UBS-1", "UBS-2", "UBS-3"]
    assert sum(line.amount for line in lines) == Decimal("2269.50")


def test_csv_comma_decimal_point_and_missing_bank_reference():
    lines = parse_csv(load("comma_decimal_point.csv"))
    assert [(line.row, line.amount, line.currency) for line in lines] == [
        (2, Decimal("250.00"), "CHF"), (3, Decimal("1234.50"), "EUR"),
        (4, Decimal("19.95"), "CHF"),
    ]
    assert lines[0].remittance == "Invoice INV-000042, flat 3"
    assert lines[0].value_on == date(2026, 11, 3)
    assert lines[1].reference == SCOR
    assert lines[2].bank_reference.startswith("sha256:")
    assert lines[2].bank_reference == parse_csv(load("comma_decimal_point.csv"))[2].bank_reference


def test_csv_every_bad_row_is_reported_with_row_field_and_reason():
    errors = errors_of(load("bad_rows.csv"), "bad.csv")
    assert [(e.row, e.field) for e in errors] == [
        (3, "amount"), (4, "date"), (5, "currency"), (6, "date"), (6, "amount"),
        (7, "amount"), (8, "bank_reference"),
    ]
    assert str(errors[0]) == "row 3, amount: 'abc' is not a number"
    assert str(errors[1]) == "row 4, date: is missing"
    assert "'31.02.2026' is not a valid date" in errors[3].message
    assert "zero" in errors[4].message
    assert "more than 2 decimal places" in errors[5].message
    assert "already used in row 2" in errors[6].message
    with pytest.raises(BankFileError) as info:
        parse_csv(load("bad_rows.csv"))
    assert str(info.value).splitlines()[0] == "row 3, amount: 'abc' is not a number"
    assert isinstance(info.value, ValueError)


def test_csv_header_problems():
    errors = errors_of(b"datum;betrag;text\n01.11.2026;5,00;x\n")
    assert [(e.row, e.field) for e in errors] == [(1, "header")]
    assert "no currency column" in errors[0].message
    (error,) = errors_of(b"just one column\n1\n")
    assert error.field == "header"
    (error,) = errors_of(b"date;amount;currency\n")
    assert "no data rows" in error.message


def test_csv_quoted_multiline_cell_keeps_line_numbers_and_extra_fields_are_errors():
    data = (
        b'date,amount,currency,remittance\n'
        b'2026-11-01,5.00,CHF,"two\nlines"\n'
        b'2026-11-02,5,50,CHF,x\n'
    )
    (error,) = errors_of(data)
    assert (error.row, error.field) == (4, "row")
    assert "unquoted decimal comma" in error.message


def test_csv_not_utf8_names_the_line():
    (error,) = errors_of("date;amount;currency\n01.11.2026;5,00;CHF\nMüller\n".encode("latin-1"))
    assert error.field == "encoding"
    assert "line 3" in error.message


# --- values ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.50", "1234.50"), ("1234,50", "1234.50"), ("1'234.50", "1234.50"),
        ("1’234.50", "1234.50"), ("1 234,50", "1234.50"), ("1\u00a0234,50", "1234.50"),
        ("1.234,50", "1234.50"), ("1,234.50", "1234.50"), ("1.234.567", "1234567"),
        ("-45,00", "-45.00"), ("+7", "7"),
    ],
)
def test_parse_amount(text, expected):
    assert parse_amount(text) == Decimal(expected)
    assert str(parse_amount(text)) == expected


@pytest.mark.parametrize("text", ["abc", "1.2.3,4,5", "12 CHF", "1e5", "--5", "."])
def test_parse_amount_refuses(text):
    with pytest.raises(ValueError, match="is not a number"):
        parse_amount(text)


def test_parse_date_and_iban_check():
    assert parse_date("2026-11-03") == parse_date("3.11.2026") == date(2026, 11, 3)
    with pytest.raises(ValueError, match="use YYYY-MM-DD or DD.MM.YYYY"):
        parse_date("11/03/2026")
    assert is_iban(QR_IBAN) and is_iban("CH93 0076 2011 6238 5295 7")
    assert not is_iban("CH9300762011623852958") and not is_iban("12345")


def test_csv_odd_files_get_a_clear_error_not_a_crash():
    (error,) = errors_of(b";;;\n;;\n")
    assert (error.field, error.message) == ("header", "no header row (every line is empty)")
    huge_cell = b'"' + b"x" * 200_000 + b'"'
    (error,) = errors_of(b"date;amount;currency\n01.11.2026;5,00;CHF\n" + huge_cell + b";1;CHF\n")
    assert (error.row, error.field) == (3, "row")
    assert "unreadable CSV (field larger than field limit" in error.message


def test_leading_whitespace_before_the_xml_declaration_is_tolerated():
    (line,) = parse_bank_file(b"\r\n  " + load("camt053_v02_minimal.xml"))
    assert line.amount == Decimal("512.40")


def test_bank_file_error_survives_pickling_with_its_rows():
    with pytest.raises(BankFileError) as info:
        parse_csv(load("bad_rows.csv"))
    copy = pickle.loads(pickle.dumps(info.value))  # noqa: S301 - our own bytes
    assert copy.errors == info.value.errors
    assert str(copy) == str(info.value)
