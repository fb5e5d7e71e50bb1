"""Dunning through the portal and the API: the ladder, what is due, sending with a
confirmation, the letters, pausing an account, disputes; bad input answers with the field."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail

from billspree.core.scoping import organization_context
from ledger.models import Account, DunningLevel, DunningNotice, EntryKind, LedgerEntry
from ledger.services import dunning as svc
from tests.billing.builders import make_house
from tests.conftest import api_client, login_client
from tests.ledger.builders import issued

D = Decimal


@pytest.fixture
def setup(world_a, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "statements": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)}}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with organization_context(world_a.org):
        svc.dunning_level_create(position=1, name="Reminder", days_overdue=10)
        svc.dunning_level_create(position=2, name="Final", days_overdue=30,
                                 fee_amount=D("20.00"), fee_tax_rate=D("8.1"),
                                 disconnection_pending=True)
        house = make_house()
        inv = issued(house.tenant, house.bp, "99.00")
        due = LedgerEntry.objects.get(kind=EntryKind.INVOICE, invoice=inv).due_on
        account = Account.objects.get(tenant=house.tenant, currency="EUR")
    return world_a, inv, due, account


def test_api_ladder_preview_run_notices(setup):
    w, inv, due, account = setup
    api = api_client(key=w.write_key)
    got = api.get("/api/v1/dunning-levels/").json()
    assert [lv["days_overdue"] for lv in got["results"]] == [10, 30]
    bad = api.post("/api/v1/dunning-levels/", {"position": 3, "name": "Early",
                                               "days_overdue": 5}, format="json")
    assert bad.status_code == 400
    assert "days_overdue" in bad.json()["error"]["fields"]
    bad = api.post("/api/v1/dunning-levels/", {"position": 3, "name": "Vat", "days_overdue": 40,
                                               "fee_tax_rate": "150"}, format="json")
    assert bad.status_code == 400 and "fee_tax_rate" in bad.json()["error"]["fields"]
    day = due + timedelta(days=31)
    preview = api.get(f"/api/v1/dunning-runs/preview/?date={day}").json()
    assert [(r["invoice_number"], r["level_name"], r["days_overdue"], D(str(r["amount_due"])),
             D(str(r["fee"])), D(str(r["fee_tax"]))) for r in preview["due"]] == \
        [(inv.number, "Final", 31, D("99.00"), D("20.00"), D("1.50"))]
    assert api.get("/api/v1/dunning-runs/preview/?date=nope").status_code == 400
    future = api.post("/api/v1/dunning-runs/", {"date": str(day)}, format="json")
    assert future.status_code == 400 and "date" in future.json()["error"]["fields"]
    today = api.post("/api/v1/dunning-runs/", {}, format="json")  # queued (runs on commit)
    assert today.status_code == 202 and today.json()["planned"] == 0  # nothing late yet
    with organization_context(w.org):
        svc.dunning_run(today=day)
    notices = api.get("/api/v1/dunning-notices/").json()["results"]
    assert [(n["invoice_number"], n["level_name"], n["email_status"]) for n in notices] == \
        [(inv.number, "Final", "sent")]
    letter = api.get(f"/api/v1/dunning-notices/{notices[0]['id']}/letter/")
    assert letter.status_code == 200
    assert b"".join(letter.streaming_content).startswith(b"%PDF")
    read = api_client(key=w.read_key)
    assert read.post("/api/v1/dunning-runs/", {}, format="json").status_code == 403


def test_api_disputes_and_pause(setup):
    w, inv, due, account = setup
    api = api_client(key=w.write_key)
    made = api.post("/api/v1/invoice-disputes/", {"invoice": str(inv.public_id),
                                                  "reason": "Wrong meter"}, format="json")
    assert made.status_code == 201, made.json()
    again = api.post("/api/v1/invoice-disputes/", {"invoice": str(inv.public_id),
                                                   "reason": "Again"}, format="json")
    assert again.status_code == 409
    day = due + timedelta(days=12)
    assert api.get(f"/api/v1/dunning-runs/preview/?date={day}").json()["due"] == []
    resolved = api.post(f"/api/v1/invoice-disputes/{made.json()['id']}/resolve/",
                        {"resolution": "Meter checked"}, format="json")
    assert resolved.status_code == 200 and resolved.json()["is_open"] is False
    paused = api.post(f"/api/v1/accounts/{account.public_id}/dunning-pause/",
                      {"until": str(day), "reason": "Promised"}, format="json")
    assert paused.status_code == 200 and paused.json()["dunning_paused_until"] == str(day)
    assert api.get(f"/api/v1/dunning-runs/preview/?date={day}").json()["due"] == []
    no_reason = api.post(f"/api/v1/accounts/{account.public_id}/dunning-pause/",
                         {"until": str(day)}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]["fields"]
    api.post(f"/api/v1/accounts/{account.public_id}/dunning-pause/", {"until": None},
             format="json")
    assert len(api.get(f"/api/v1/dunning-runs/preview/?date={day}").json()["due"]) == 1


def test_portal_pages(setup):
    w, inv, due, account = setup
    manager = login_client(w.manager, w.org)
    day = due + timedelta(days=11)
    page = manager.get(f"/ledger/reminders/?date={day}")
    assert page.status_code == 200 and inv.number.encode() in page.content
    # today nothing is due; the send button shows a confirmation first, then the run's page
    confirm = manager.post("/ledger/reminders/send/")
    assert confirm.status_code == 200 and b'name="confirm"' in confirm.content
    sent = manager.post("/ledger/reminders/send/", {"confirm": "1"})
    assert sent.status_code == 302 and sent.url.startswith("/ledger/reminders/runs/")
    with organization_context(w.org):
        mail.outbox.clear()
        svc.dunning_run(today=day)
        notice = DunningNotice.objects.get()
    listing = manager.get("/ledger/reminders/sent/")
    assert inv.number.encode() in listing.content
    # the account's page lists its reminders, each linked to the notice
    html = manager.get(f"/ledger/accounts/{account.public_id}/").content.decode()
    card = html.split('data-testid="account-reminders"')[1].split("</section>")[0]
    assert f"/ledger/reminders/sent/{notice.public_id}/" in card
    assert ">Reminder</a>" in card and inv.number in card and "99.00" in card
    pdf = manager.get(f"/ledger/reminders/sent/{notice.public_id}/letter.pdf")
    assert pdf.status_code == 200, (notice.letter.name, pdf.content[:300])
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    # the ladder: a clear error on bad input, nothing written
    bad = manager.post("/ledger/reminders/levels/new/", {
        "position": 3, "name": "Third", "days_overdue": 20, "fee_amount": "0",
        "fee_tax_rate": "0", "letter_title": "T", "letter_text": "Dear {tenat}"})
    assert bad.status_code == 400
    assert b"{tenat}" in bad.content and b"later" in bad.content
    with organization_context(w.org):
        assert DunningLevel.objects.count() == 2
    ok = manager.post("/ledger/reminders/levels/new/", {
        "position": 3, "name": "Third", "days_overdue": 45, "fee_amount": "5",
        "fee_tax_rate": "19", "letter_title": "T {invoice}", "letter_text": "Dear {tenant}",
        "send_email": "on", "active": "on"})
    assert ok.status_code == 302
    # pause and dispute
    assert manager.post(f"/ledger/reminders/accounts/{account.public_id}/pause/",
                        {"until": str(day), "reason": "Promised"}).status_code == 302
    assert manager.post(f"/ledger/reminders/invoices/{inv.public_id}/dispute/",
                        {"reason": "Contested"}).status_code == 302
    assert manager.get("/ledger/reminders/disputes/").content.count(inv.number.encode()) >= 1
    with organization_context(w.org):
        account.refresh_from_db()
        assert account.dunning_paused_until == day
    # a viewer sees the pages but is offered no send button
    viewer = login_client(w.viewer, w.org)
    page = viewer.get(f"/ledger/reminders/?date={day + timedelta(days=30)}")
    assert page.status_code == 200 and b"/ledger/reminders/send/" not in page.content
    assert viewer.post("/ledger/reminders/send/", {"confirm": "1"}).status_code == 403
