"""The bank pages: a manager uploads a file, reads the row report and matches the rest by
hand; a viewer sees the report but no upload or match."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import InvoiceStatus
from ledger.models import BankImportLine, BankLineStatus
from tests.conftest import login_client
from tests.ledger.test_bank_imports import setting, the_file  # noqa: F401 - the fixture


def test_manager_uploads_reads_the_report_and_matches_by_hand(setting):  # noqa: F811
    w, a, b, today, invs = setting
    client = login_client(w.manager, w.org)
    res = client.post("/ledger/bank/", {"file": SimpleUploadedFile(
        "camt054.xml", the_file(today, invs))})
    assert res.status_code == 302
    page = client.get(res["Location"]).content.decode()
    assert "4 paid in, 1 to match" in page.replace("\n", " ")
    assert invs["full"].number in page and "Match by hand" in page
    line = BankImportLine.objects.get(status=BankLineStatus.UNMATCHED)
    match = client.get(f"/ledger/bank/lines/{line.public_id}/match/").content.decode()
    assert invs["by_hand"].number in match  # the invoice of exactly that amount is offered
    bad = client.post(f"/ledger/bank/lines/{line.public_id}/match/", {"action": "match"})
    assert bad.status_code == 400 and "Choose the invoice" in bad.content.decode()
    done = client.post(f"/ledger/bank/lines/{line.public_id}/match/",
                       {"action": "match", "invoice": str(invs["by_hand"].public_id)})
    assert done.status_code == 302
    invs["by_hand"].refresh_from_db()
    assert invs["by_hand"].status == InvoiceStatus.PAID
    assert "Nothing to match" in client.get("/ledger/bank/review/").content.decode()
    again = client.post("/ledger/bank/", {"file": SimpleUploadedFile(
        "again.xml", the_file(today, invs))}, follow=True)
    assert "imported already" in again.content.decode()


def test_a_bad_file_is_refused_with_its_rows_and_a_viewer_cannot_upload(setting):  # noqa: F811
    w, a, b, today, invs = setting
    client = login_client(w.manager, w.org)
    res = client.post("/ledger/bank/", {"file": SimpleUploadedFile(
        "bad.csv", b"date;amount;currency\n2026-01-01;abc;CHF\n")})
    assert res.status_code == 400 and "row 2" in res.content.decode()
    viewer = login_client(w.viewer, w.org)
    page = viewer.get("/ledger/bank/").content.decode()
    assert 'data-testid="bank-upload"' not in page
    assert viewer.post("/ledger/bank/", {"file": SimpleUploadedFile("x.csv", b"x")}
                       ).status_code == 403


def test_the_rest_of_a_part_paid_invoice_is_offered_by_what_is_left(setting):  # noqa: F811
    from tests.ledger.test_bank_imports import camt054

    w, a, b, today, invs = setting
    client = login_client(w.manager, w.org)
    client.post("/ledger/bank/", {"file": SimpleUploadedFile(
        "camt054.xml", the_file(today, invs))})  # pays 50.00 of the 150.00: 100.00 left
    rest = camt054(today.isoformat(), [{"bank_ref": "R1", "amount": "100.00", "payer": "Anna",
                                        "rmt": "<Ustrd>Rest of the bill</Ustrd>"}])
    client.post("/ledger/bank/", {"file": SimpleUploadedFile("rest.xml", rest)})
    line = BankImportLine.objects.get(status=BankLineStatus.UNMATCHED, amount="100.00")
    page = client.get(f"/ledger/bank/lines/{line.public_id}/match/").content.decode()
    # "full" (100.00 in total) is paid already; "part" has exactly 100.00 left
    assert invs["part"].number in page and invs["full"].number not in page
    assert "50.00 paid, <strong>100.00 left</strong>" in page
    client.post(f"/ledger/bank/lines/{line.public_id}/match/",
                {"action": "match", "invoice": str(invs["part"].public_id)})
    invs["part"].refresh_from_db()
    assert invs["part"].status == InvoiceStatus.PAID
