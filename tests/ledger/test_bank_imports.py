"""A bank file pays invoices: by the slip's reference, by the invoice number in the text,
or by the manager's hand; the same file (or line) twice pays nothing twice."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.models import InvoiceStatus
from billspree.core.timefmt import local_date
from ledger.models import BankImport, BankImportLine, BankLineStatus, LedgerEntry, Payment
from ledger.selectors.invoices import PayState, invoices_money
from ledger.services.accounts import account_for_tenant
from ledger.services.bank_imports import bank_import_create, bank_line_ignore, bank_line_match
from tests.billing.builders import make_house
from tests.ledger.builders import issued

D = Decimal

TX = """<TxDtls><Refs><AcctSvcrRef>{bank_ref}</AcctSvcrRef></Refs>
<Amt Ccy="CHF">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<RltdPties><Dbtr><Nm>{payer}</Nm></Dbtr></RltdPties>
<RmtInf>{rmt}</RmtInf></TxDtls>"""


def camt054(day, txs) -> bytes:
    """A Swiss camt.054 notification: one booked batch entry with a TxDtls per payment."""
    total = sum(D(t["amount"]) for t in txs)
    body = "".join(TX.format(**t) for t in txs)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.04"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>T-{day}</MsgId><CreDtTm>{day}T06:00:00</CreDtTm></GrpHdr>
<Ntfctn><Id>N-{day}</Id><CreDtTm>{day}T06:00:00</CreDtTm>
<Acct><Id><IBAN>CH9300762011623852957</IBAN></Id><Ccy>CHF</Ccy></Acct>
<Ntry><Amt Ccy="CHF">{total:.2f}</Amt><CdtDbtInd>CRDT</CdtDbtInd><RvslInd>false</RvslInd>
<Sts>BOOK</Sts><BookgDt><Dt>{day}</Dt></BookgDt><AcctSvcrRef>E-{day}</AcctSvcrRef>
<NtryDtls><Btch><NbOfTxs>{len(txs)}</NbOfTxs></Btch>{body}</NtryDtls></Ntry>
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>""".encode()


def strd(ref: str) -> str:
    return f"<Strd><CdtrRefInf><Ref>{ref}</Ref></CdtrRefInf></Strd>"


@pytest.fixture
def setting(in_org_a):
    a, b = make_house(), make_house()
    today = local_date(timezone.now(), in_org_a.org)
    invs = {
        "full": issued(a.tenant, a.bp, "100.00", currency="CHF"),
        "full2": issued(b.tenant, b.bp, "200.00", currency="CHF"),
        "part": issued(a.tenant, a.bp, "150.00", currency="CHF"),
        "by_number": issued(b.tenant, b.bp, "80.00", currency="CHF"),
        "by_hand": issued(b.tenant, b.bp, "99.00", currency="CHF"),
    }
    for inv in invs.values():
        assert inv.payment_reference  # printed on the slip at issue
    return in_org_a, a, b, today, invs


def the_file(today, invs) -> bytes:
    number = invs["by_number"].number
    return camt054(today.isoformat(), [
        {"bank_ref": "L1", "amount": "100.00", "payer": "Anna", "rmt": strd(
            " ".join(invs["full"].payment_reference[i:i + 4]
                     for i in range(0, len(invs["full"].payment_reference), 4)).lower())},
        {"bank_ref": "L2", "amount": "200.00", "payer": "Ben",
         "rmt": strd(invs["full2"].payment_reference)},
        {"bank_ref": "L3", "amount": "50.00", "payer": "Anna",
         "rmt": strd(invs["part"].payment_reference)},
        {"bank_ref": "L4", "amount": "80.00", "payer": "Ben",
         "rmt": f"<Ustrd>Rechnung {number.replace('-', '').lower()} danke</Ustrd>"},
        {"bank_ref": "L5", "amount": "99.00", "payer": "Ben",
         "rmt": strd("RF18539007547034")},
    ])


def test_the_file_pays_in_full_in_part_by_number_and_leaves_one_for_review(setting):
    w, a, b, today, invs = setting
    imp = bank_import_create(data=the_file(today, invs), filename="camt054.xml")
    assert (imp.lines_count, imp.matched_count, imp.unmatched_count) == (5, 4, 1)
    assert imp.totals == {"CHF": "529.00"}
    money = invoices_money([i.pk for i in invs.values()], today)
    assert money[invs["full"].pk].state == PayState.PAID
    assert money[invs["full2"].pk].state == PayState.PAID
    assert (money[invs["part"].pk].paid, money[invs["part"].pk].open) == (D("50.00"),
                                                                          D("100.00"))
    assert money[invs["by_number"].pk].state == PayState.PAID
    assert money[invs["by_hand"].pk].paid == D("0")
    lines = {x.row: x for x in BankImportLine.objects.filter(bank_import=imp)}
    unknown = next(x for x in lines.values() if x.status == BankLineStatus.UNMATCHED)
    assert "RF18539007547034" in unknown.reason
    # the manager matches it by hand
    bank_line_match(line=unknown, invoice=invs["by_hand"], actor=w.manager)
    bank_line_match(line=unknown, invoice=invs["by_hand"], actor=w.manager)  # again: nothing
    invs["by_hand"].refresh_from_db()
    assert invs["by_hand"].status == InvoiceStatus.PAID
    imp.refresh_from_db()
    assert (imp.matched_count, imp.unmatched_count) == (5, 0)
    assert Payment.objects.count() == 5


def test_the_same_file_twice_or_a_line_in_another_file_adds_nothing(setting):
    w, a, b, today, invs = setting
    data = the_file(today, invs)
    first = bank_import_create(data=data, filename="a.xml")
    state = (Payment.objects.count(), LedgerEntry.objects.count(),
             account_for_tenant(a.tenant, "CHF").balance)
    again = bank_import_create(data=data, filename="a-copy.xml")
    assert again.pk == first.pk and again.repeat
    other = camt054(today.isoformat(), [{"bank_ref": "L2", "amount": "200.00", "payer": "Ben",
                                         "rmt": strd(invs["full2"].payment_reference)},
                                        {"bank_ref": "L5", "amount": "99.00", "payer": "Ben",
                                         "rmt": strd("RF18539007547034")}])
    second = bank_import_create(data=other, filename="b.xml")
    assert (second.duplicate_count, second.matched_count) == (2, 0)
    assert (Payment.objects.count(), LedgerEntry.objects.count(),
            account_for_tenant(a.tenant, "CHF").balance) == state


def test_a_bad_file_says_which_row_and_changes_nothing(setting):
    w, a, b, today, invs = setting
    future = (today + timedelta(days=3)).isoformat()
    data = camt054(future, [{"bank_ref": "F1", "amount": "100.00", "payer": "Anna",
                             "rmt": strd(invs["full"].payment_reference)}])
    with pytest.raises(ValidationError) as err:
        bank_import_create(data=data, filename="future.xml")
    assert "row 1" in err.value.message_dict["file"][0]
    assert "future" in err.value.message_dict["file"][0]
    with pytest.raises(ValidationError) as err:
        bank_import_create(data=b"date;amount\nxx;yy\n", filename="bad.csv")
    assert err.value.message_dict["file"]
    assert BankImport.objects.count() == 0 and Payment.objects.count() == 0


def test_a_line_set_aside_needs_a_reason(setting):
    w, a, b, today, invs = setting
    imp = bank_import_create(data=the_file(today, invs), filename="c.xml")
    line = imp.lines.get(status=BankLineStatus.UNMATCHED)
    with pytest.raises(ValidationError):
        bank_line_ignore(line=line, reason=" ")
    bank_line_ignore(line=line, reason="Paid back to the sender")
    imp.refresh_from_db()
    assert imp.unmatched_count == 0 and imp.status == "done"


def test_1000_reference_payments_match_with_no_false_match(setting, django_assert_max_num_queries):
    w, a, b, today, invs = setting
    many = [issued(a.tenant, a.bp, f"{10 + n % 7}.{n % 100:02d}", currency="CHF")
            for n in range(1000)]
    data = camt054(today.isoformat(), [
        {"bank_ref": f"M{n}", "amount": f"{inv.total:.2f}", "payer": "Anna",
         "rmt": strd(inv.payment_reference)} for n, inv in enumerate(many)])
    with django_assert_max_num_queries(60):
        imp = bank_import_create(data=data, filename="many.xml")
    assert imp.matched_count == 1000
    got = dict(BankImportLine.objects.filter(bank_import=imp).values_list("bank_reference",
                                                                          "invoice_id"))
    assert all(got[f"M{n}"] == inv.pk for n, inv in enumerate(many))
    money = invoices_money([i.pk for i in many], today)
    assert all(m.state == PayState.PAID for m in money.values())


# --- through the API --------------------------------------------------------------------


def upload(client, data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/api/v1/bank-imports/", {"file": SimpleUploadedFile(name, data)},
                       format="multipart")


def test_api_import_report_repeat_bad_file_and_match_by_hand(setting):
    from tests.conftest import api_client

    w, a, b, today, invs = setting
    client = api_client(w.write_key)
    res = upload(client, the_file(today, invs), "camt054.xml")
    assert res.status_code == 201, res.json()
    body = res.json()
    assert (body["matched_count"], body["unmatched_count"]) == (4, 1)
    waiting = [x for x in body["lines"] if x["status"] == "unmatched"]
    assert len(waiting) == 1 and waiting[0]["amount"] == "99.0000"
    again = upload(client, the_file(today, invs), "same.xml")
    assert again.status_code == 200 and "imported already" in again.json()["detail"]
    bad = upload(client, b"date;amount;currency\n2026-01-01;abc;CHF\n", "bad.csv")
    assert bad.status_code == 400, bad.json()
    assert "row 2" in str(bad.json()) and "file" in str(bad.json())
    queue = client.get("/api/v1/bank-lines/?status=unmatched").json()
    assert [x["id"] for x in queue["results"]] == [waiting[0]["id"]]
    done = client.post(f"/api/v1/bank-lines/{waiting[0]['id']}/match/",
                       {"invoice": str(invs["by_hand"].public_id)}, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "matched" and done.json()["matched_how"] == "hand"
    invs["by_hand"].refresh_from_db()
    assert invs["by_hand"].status == InvoiceStatus.PAID
    readonly = api_client(w.read_key)
    assert upload(readonly, b"x", "x.csv").status_code == 403
