"""Dunning runs as tasks and resends, by hand-computed cases: the portal's confirmation
(count, fees, emails), the queued run and its progress page, the task sending (Celery eager,
as the project runs tasks in tests, queued after commit), a second start answering the
same run, a failure recorded with its error and shown, the beat's recorded runs, the API's
runs, a resend as a new delivery (one email, no fee, no level), tenants' letters, roles."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from billspree.core.scoping import organization_context
from ledger.models import (
    DunningDelivery,
    DunningDeliveryKind,
    DunningDeliveryStatus,
    DunningNotice,
    DunningRun,
    DunningRunStatus,
    DunningRunTrigger,
    EmailStatus,
    EntryKind,
    LedgerEntry,
)
from ledger.services import dunning as svc
from ledger.services.dunning_runs import dunning_run_start
from tests.billing.builders import make_house
from tests.conftest import api_client, login_client
from tests.ledger.factories_dunning import org_today, overdue

D = Decimal


@pytest.fixture
def storage(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "statements": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "letters")}}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return tmp_path


@pytest.fixture
def late(world_a, storage):
    """A 10/30-day ladder (the 30-day level: fee 20.00 with 8.1 % VAT); invoice A 31 days
    late (tenant with email → final notice, fee 20.00, emailed), invoice B 12 days late
    (tenant without email → first reminder, no fee, print and post)."""
    with organization_context(world_a.org):
        svc.dunning_level_create(position=1, name="Reminder", days_overdue=10)
        svc.dunning_level_create(position=2, name="Final", days_overdue=30,
                                 fee_amount=D("20.00"), fee_tax_rate=D("8.1"))
        a = make_house(tenant_email="anna@example.com")
        b = make_house(tenant_email="")
        inv_a = overdue(a, "99.00", 31, world_a.org)
        inv_b = overdue(b, "45.50", 12, world_a.org)
    mail.outbox.clear()
    return world_a, inv_a, inv_b, a


def run_callbacks(callbacks) -> None:
    for cb in callbacks:
        cb()


def test_portal_send_confirms_queues_a_run_and_the_task_sends_it(
        late, django_capture_on_commit_callbacks):
    w, inv_a, inv_b, _ = late
    manager = login_client(w.manager, w.org)
    confirm = manager.post("/ledger/reminders/send/")
    text = confirm.content.decode()
    assert confirm.status_code == 200 and 'name="confirm"' in text
    assert "<strong>2</strong> reminders" in text
    assert "<strong>20.00 EUR</strong>" in text
    assert "<strong>1</strong> email will go out" in text and "1 letter to print" in text
    with organization_context(w.org):
        assert DunningRun.objects.count() == 0 and DunningNotice.objects.count() == 0

    with django_capture_on_commit_callbacks() as queued:
        started = manager.post("/ledger/reminders/send/", {"confirm": "1"})
        again = manager.post("/ledger/reminders/send/", {"confirm": "1"})
    with organization_context(w.org):
        run = DunningRun.objects.get()
    assert started.status_code == 302 and started.url == f"/ledger/reminders/runs/{run.public_id}/"
    assert again.url == started.url  # the same run, not a second one
    assert len(queued) == 1  # one task queued
    assert (run.status, run.trigger, run.planned, run.sent, run.run_on, run.started_by) == \
        (DunningRunStatus.QUEUED, DunningRunTrigger.PORTAL, 2, 0, org_today(w.org), w.manager)
    page = manager.get(started.url).content.decode()
    assert "Queued" in page and 'hx-trigger="every 2s"' in page
    assert f"/ledger/reminders/runs/{run.public_id}/progress/?was=live" in page
    assert mail.outbox == []  # nothing was sent in the web request
    due_page = manager.get("/ledger/reminders/").content.decode()
    assert f"/ledger/reminders/runs/{run.public_id}/" in due_page  # "being sent now"

    run_callbacks(queued)  # the worker: the task's body, eagerly
    with organization_context(w.org):
        run.refresh_from_db()
        notices = {n.invoice_id: n for n in DunningNotice.objects.filter(run=run)}
        fee = LedgerEntry.objects.get(kind=EntryKind.FEE)
    assert (run.status, run.planned, run.sent, run.skipped, run.failed, run.error) == \
        (DunningRunStatus.DONE, 2, 2, 0, 0, "")
    assert run.started_at <= run.finished_at
    assert notices[inv_a.pk].level.name == "Final" and notices[inv_b.pk].level.name == "Reminder"
    assert notices[inv_b.pk].email_status == EmailStatus.PRINT
    assert fee.amount == D("20.00") and fee.tax_amount == D("1.50")
    assert [m.to for m in mail.outbox] == [["anna@example.com"]]

    fragment = manager.get(f"/ledger/reminders/runs/{run.public_id}/progress/?was=live",
                           HTTP_HX_REQUEST="true")
    assert fragment["HX-Refresh"] == "true" and b"hx-trigger" not in fragment.content
    assert b'data-testid="dunning-run-sent">2<' in fragment.content
    page = manager.get(started.url).content.decode()
    assert "Done" in page and inv_a.number in page and inv_b.number in page
    for n in notices.values():
        assert f"/ledger/reminders/sent/{n.public_id}/letter.pdf" in page
    listing = manager.get("/ledger/reminders/runs/").content.decode()
    assert f"/ledger/reminders/runs/{run.public_id}/" in listing

    # the day again: a new run (the first is finished) that finds nothing left to send
    with django_capture_on_commit_callbacks(execute=True):
        second = manager.post("/ledger/reminders/send/", {"confirm": "1"})
    assert second.url != started.url
    with organization_context(w.org):
        last = DunningRun.objects.order_by("-pk").first()
        assert (last.status, last.planned, last.sent) == (DunningRunStatus.DONE, 0, 0)
        assert DunningNotice.objects.count() == 2
    assert len(mail.outbox) == 1


def test_a_failure_is_recorded_with_its_error_and_shown_and_a_new_run_finishes(
        late, storage, monkeypatch, django_capture_on_commit_callbacks):
    from django.core.files.storage import FileSystemStorage

    w, inv_a, inv_b, _ = late
    blocker = storage / "not-a-folder"
    blocker.write_text("a file where the letters folder should be")
    # the letters' storage is misconfigured: its folder is a file (a real disk error)
    letter_field = DunningNotice._meta.get_field("letter")
    monkeypatch.setattr(letter_field, "storage", FileSystemStorage(location=str(blocker)))
    manager = login_client(w.manager, w.org)
    with django_capture_on_commit_callbacks(execute=True):
        started = manager.post("/ledger/reminders/send/", {"confirm": "1"})
    with organization_context(w.org):
        run = DunningRun.objects.get()
        assert DunningNotice.objects.count() == 0  # each letter's notice was rolled back
        assert LedgerEntry.objects.filter(kind=EntryKind.FEE).count() == 0
    assert (run.status, run.planned, run.sent, run.failed) == (DunningRunStatus.FAILED, 2, 0, 2)
    assert sorted(line.split(":")[0] for line in run.error.splitlines()) == \
        sorted([inv_a.number, inv_b.number])
    assert "not-a-folder" in run.error
    page = manager.get(started.url).content.decode()
    assert "Failed" in page and 'data-testid="dunning-run-error"' in page
    assert inv_a.number in page and "not-a-folder" in page
    assert 'hx-trigger="every 2s"' not in page
    assert mail.outbox == []

    monkeypatch.setattr(letter_field, "storage",
                        FileSystemStorage(location=str(storage / "letters")))
    with django_capture_on_commit_callbacks(execute=True):
        manager.post("/ledger/reminders/send/", {"confirm": "1"})
    with organization_context(w.org):
        rerun = DunningRun.objects.order_by("-pk").first()
        assert rerun.pk != run.pk
        assert (rerun.status, rerun.sent, rerun.failed) == (DunningRunStatus.DONE, 2, 0)
        assert DunningNotice.objects.filter(run=rerun).count() == 2


def test_a_redelivered_task_does_nothing(late, django_capture_on_commit_callbacks):
    from ledger import tasks

    w, *_ = late
    with organization_context(w.org), django_capture_on_commit_callbacks() as queued:
        run = dunning_run_start(actor=w.manager)
    run_callbacks(queued)
    assert tasks.dunning_run_task.run(run.pk) == DunningRunStatus.DONE
    with organization_context(w.org):
        run.refresh_from_db()
        assert (run.sent, DunningNotice.objects.count()) == (2, 2)
    assert len(mail.outbox) == 1
    assert tasks.dunning_run_task.run(999999999) == "gone"


def test_beat_records_one_scheduled_run_a_day(late):
    from ledger import tasks

    w, *_ = late
    assert tasks.dunning_organization.run(w.org.pk) == 2
    assert tasks.dunning_organization.run(w.org.pk) == 0  # the hourly sweep repeats
    with organization_context(w.org):
        run = DunningRun.objects.get()
        assert (run.trigger, run.status, run.sent, run.started_by) == \
            (DunningRunTrigger.SCHEDULE, DunningRunStatus.DONE, 2, None)
        assert DunningNotice.objects.filter(run=run).count() == 2


def test_api_runs(late, django_capture_on_commit_callbacks):
    w, inv_a, inv_b, _ = late
    api = api_client(key=w.write_key)
    today = org_today(w.org)
    future = api.post("/api/v1/dunning-runs/", {"date": str(today + timedelta(days=1))},
                      format="json")
    assert future.status_code == 400 and "date" in future.json()["error"]["fields"]
    with django_capture_on_commit_callbacks() as queued:
        first = api.post("/api/v1/dunning-runs/", {}, format="json")
        second = api.post("/api/v1/dunning-runs/", {"date": str(today)}, format="json")
    assert first.status_code == 202, first.json()
    body = first.json()
    with organization_context(w.org):
        key_name = DunningRun.objects.get().started_by_key.name
    assert (body["status"], body["trigger"], body["planned"], body["date"], body["started_by"]) \
        == ("queued", "api", 2, str(today), key_name)  # the key that started it
    assert second.status_code == 200 and second.json()["id"] == body["id"]
    read = api_client(key=w.read_key)
    assert read.post("/api/v1/dunning-runs/", {}, format="json").status_code == 403
    run_callbacks(queued)
    got = api.get(f"/api/v1/dunning-runs/{body['id']}/").json()
    assert (got["status"], got["sent"], got["skipped"], got["failed"]) == ("done", 2, 0, 0)
    assert sorted((n["invoice_number"], n["level_name"], n["email_status"])
                  for n in got["notices"]) == sorted(
        [(inv_a.number, "Final", "sent"), (inv_b.number, "Reminder", "print")])
    listed = read.get("/api/v1/dunning-runs/").json()["results"]
    assert [r["id"] for r in listed] == [body["id"]]
    assert "notices" not in listed[0]


def test_resend_is_a_new_delivery_with_one_email_and_no_fee(
        late, django_capture_on_commit_callbacks):
    w, inv_a, inv_b, house_a = late
    with organization_context(w.org):
        svc.dunning_run(today=org_today(w.org))
        notice = DunningNotice.objects.get(invoice=inv_a)
        no_email = DunningNotice.objects.get(invoice=inv_b)
        fees = LedgerEntry.objects.filter(kind=EntryKind.FEE).count()
        house_a.tenant.email = "anna.new@example.com"
        house_a.tenant.save(update_fields=["email"])
    assert fees == 1 and len(mail.outbox) == 1
    mail.outbox.clear()
    manager = login_client(w.manager, w.org)
    page = manager.get(f"/ledger/reminders/sent/{notice.public_id}/").content.decode()
    assert f"/ledger/reminders/sent/{notice.public_id}/resend/" in page
    assert f"/ledger/reminders/sent/{notice.public_id}/letter.pdf" in page
    asked = manager.post(f"/ledger/reminders/sent/{notice.public_id}/resend/")
    assert asked.status_code == 200 and b"anna.new@example.com" in asked.content
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        done = manager.post(f"/ledger/reminders/sent/{notice.public_id}/resend/",
                            {"confirm": "1"})
    assert done.status_code == 302
    assert len(mail.outbox) == 1
    msg = mail.outbox[0]
    assert msg.to == ["anna.new@example.com"] and inv_a.number in msg.attachments[0][0]
    assert msg.attachments[0][1].startswith(b"%PDF")
    with organization_context(w.org):
        notice.refresh_from_db()
        deliveries = list(notice.deliveries.order_by("pk").values_list(
            "kind", "recipient", "status", "requested_by"))
        assert deliveries == [
            (DunningDeliveryKind.RUN, "anna@example.com", DunningDeliveryStatus.SENT, None),
            (DunningDeliveryKind.RESEND, "anna.new@example.com", DunningDeliveryStatus.SENT,
             w.manager.pk)]
        # the original stands; no fee, no level, no notice more
        assert (notice.recipient, notice.email_status) == ("anna@example.com", EmailStatus.SENT)
        assert LedgerEntry.objects.filter(kind=EntryKind.FEE).count() == 1
        assert DunningNotice.objects.count() == 2
    page = manager.get(f"/ledger/reminders/sent/{notice.public_id}/").content.decode()
    assert "anna.new@example.com" in page and "Resent" in page

    # no email address: a clear refusal, nothing recorded
    refused = manager.post(f"/ledger/reminders/sent/{no_email.public_id}/resend/",
                           {"confirm": "1"}, follow=True)
    assert b"has no email address" in refused.content
    with organization_context(w.org):
        assert not DunningDelivery.objects.filter(notice=no_email).exists()

    # the API: 202 with the queued delivery; a read key and a viewer may not
    api = api_client(key=w.write_key)
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"/api/v1/dunning-notices/{notice.public_id}/resend/")
    assert sent.status_code == 202 and sent.json()["recipient"] == "anna.new@example.com"
    assert len(mail.outbox) == 2
    got = api.get(f"/api/v1/dunning-notices/{notice.public_id}/").json()
    assert [d["status"] for d in got["deliveries"]] == ["sent", "sent", "sent"]
    bad = api.post(f"/api/v1/dunning-notices/{no_email.public_id}/resend/")
    assert bad.status_code == 400 and "recipient" in bad.json()["error"]["fields"]
    assert api_client(key=w.read_key).post(
        f"/api/v1/dunning-notices/{notice.public_id}/resend/").status_code == 403

    viewer = login_client(w.viewer, w.org)
    page = viewer.get(f"/ledger/reminders/sent/{notice.public_id}/")
    assert page.status_code == 200 and b"/resend/" not in page.content
    assert viewer.post(f"/ledger/reminders/sent/{notice.public_id}/resend/",
                       {"confirm": "1"}).status_code == 403
    assert viewer.post("/ledger/reminders/send/", {"confirm": "1"}).status_code == 403
    assert len(mail.outbox) == 2
    with organization_context(w.org):
        assert DunningDelivery.objects.count() == 3
        assert DunningRun.objects.count() == 0


def test_a_tenant_sees_their_reminders_and_letters(world_a, storage):
    from tests.tenants.factories_portal import make_portal_tenant

    with organization_context(world_a.org):
        svc.dunning_level_create(position=1, name="Friendly reminder", days_overdue=10)
        koala = make_portal_tenant(world_a, "KOALA")
        wombat = make_portal_tenant(world_a, "WOMBAT")
        due = LedgerEntry.objects.get(kind=EntryKind.INVOICE, invoice=koala.invoice).due_on
        svc.dunning_run(today=due + timedelta(days=10))
        mine = DunningNotice.objects.get(invoice=koala.invoice)
        theirs = DunningNotice.objects.get(invoice=wombat.invoice)
    client = login_client(koala.user)
    page = client.get("/my/account/").content.decode()
    assert 'data-testid="my-reminders"' in page and "Friendly reminder" in page
    assert f"/my/account/reminders/{mine.public_id}/letter.pdf" in page
    assert str(theirs.public_id) not in page
    pdf = client.get(f"/my/account/reminders/{mine.public_id}/letter.pdf")
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert client.get(f"/my/account/reminders/{theirs.public_id}/letter.pdf").status_code == 404


def test_the_sweep_closes_runs_whose_worker_died_and_requeues_forgotten_ones(
        late, django_capture_on_commit_callbacks):
    from ledger import tasks

    w, *_ = late
    now = timezone.now()
    today = org_today(w.org)
    with organization_context(w.org):
        dead = DunningRun.objects.create(run_on=today - timedelta(days=1),
                                         status=DunningRunStatus.RUNNING,
                                         started_at=now - timedelta(hours=2))
        forgotten = DunningRun.objects.create(run_on=today)
        DunningRun.objects.filter(pk=forgotten.pk).update(
            created_at=now - timedelta(minutes=10))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.dunning_sweep.run()
    with organization_context(w.org):
        dead.refresh_from_db()
        forgotten.refresh_from_db()
        assert dead.status == DunningRunStatus.FAILED and "worker was lost" in dead.error
        assert (forgotten.status, forgotten.sent) == (DunningRunStatus.DONE, 2)
        # the organization's scheduled run found today's run going and started none
        assert not DunningRun.objects.filter(trigger=DunningRunTrigger.SCHEDULE).exists()
        assert DunningNotice.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_four_starts_at_once_make_one_run(world_a):
    import threading

    from django.db import connection

    org = world_a.org
    barrier = threading.Barrier(4)
    ids, errors = [], []

    def work():
        try:
            barrier.wait()
            with organization_context(org):
                ids.append(dunning_run_start(enqueue=False).pk)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(ids) == 4 and len(set(ids)) == 1
    with organization_context(org):
        assert DunningRun.objects.count() == 1
