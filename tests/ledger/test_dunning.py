"""Dunning, by hand-computed ladders: a 10/20/30-day ladder, an invoice due on D, runs on
fixed days; fees with their own VAT on the ledger; what is never dunned; letters, emails,
two runs at once."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection

from billspree.core.errors import Conflict
from billspree.core.scoping import organization_context
from ledger.models import (
    Account,
    DunningLevel,
    DunningNotice,
    EmailStatus,
    EntryKind,
    InvoiceDispute,
    LedgerEntry,
)
from ledger.services import dunning as svc
from ledger.services.accounts import dunning_pause
from ledger.services.payments import payment_record
from tests.billing.builders import make_house
from tests.ledger.builders import issued

D = Decimal


def ladder(**fees):
    svc.dunning_level_create(position=1, name="Reminder", days_overdue=10)
    svc.dunning_level_create(position=2, name="Second reminder", days_overdue=20,
                             fee_amount=fees.get("fee", D("20.00")),
                             fee_tax_rate=fees.get("rate", D("8.1")))
    svc.dunning_level_create(position=3, name="Final notice", days_overdue=30,
                             disconnection_pending=True,
                             letter_title="Final notice {invoice}")


@pytest.fixture
def case(in_org_a, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "statements": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)}}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ladder()
    house = make_house()
    inv = issued(house.tenant, house.bp, "250.00")
    entry = LedgerEntry.objects.get(kind=EntryKind.INVOICE, invoice=inv)
    account = Account.objects.get(pk=entry.account_id)
    return inv, entry.due_on, account


def sent_levels(inv) -> list[int]:
    return sorted(DunningNotice.objects.filter(invoice=inv).values_list("level__position",
                                                                        flat=True))


def real_today():
    from django.utils import timezone

    from billspree.core.scoping import require_organization
    from billspree.core.timefmt import local_date

    return local_date(timezone.now(), require_organization())


def run(day):
    return svc.dunning_run(today=day)


def test_the_ladder_day_by_day(case):
    inv, due, account = case
    assert run(due + timedelta(days=9)).sent == []
    first = run(due + timedelta(days=10))
    assert [(n.invoice_id, n.level.position, n.days_overdue) for n in first.sent] == \
        [(inv.pk, 1, 10)]
    assert first.sent[0].amount_due == D("250.00")
    assert run(due + timedelta(days=10)).sent == []
    assert run(due + timedelta(days=19)).sent == []
    assert [n.level.position for n in run(due + timedelta(days=25)).sent] == [2]
    assert run(due + timedelta(days=26)).sent == []
    assert sent_levels(inv) == [1, 2]
    assert [n.level.position for n in run(due + timedelta(days=31)).sent] == [3]
    assert run(due + timedelta(days=60)).sent == []
    assert sent_levels(inv) == [1, 2, 3]


def test_a_first_run_31_days_late_sends_only_the_final_notice(case):
    inv, due, account = case
    preview = svc.dunning_preview(due + timedelta(days=31))
    assert [(p.invoice.pk, p.level.position, p.days_overdue, p.amount_due) for p in preview] == \
        [(inv.pk, 3, 31, D("250.00"))]
    assert [n.level.position for n in run(due + timedelta(days=31)).sent] == [3]
    assert run(due + timedelta(days=32)).sent == []
    assert sent_levels(inv) == [3]  # level 1 and 2 never go out after the final notice
    account.refresh_from_db()
    assert account.disconnection_pending_since is not None


def test_preview_writes_nothing(case):
    inv, due, _ = case
    assert len(svc.dunning_preview(due + timedelta(days=10))) == 1
    assert DunningNotice.objects.count() == 0


def test_fee_with_its_own_vat_is_a_ledger_entry_that_raises_the_balance(case):
    inv, due, account = case
    account.refresh_from_db()
    before = account.balance
    day = due + timedelta(days=20)
    notice = run(day).sent[0]
    assert notice.level.position == 2
    fee = LedgerEntry.objects.get(pk=notice.fee_entry_id)
    # 20.00 − 20.00 / 1.081 = 1.4986… → 1.50
    assert (fee.kind, fee.amount, fee.tax_rate, fee.tax_amount) == \
        (EntryKind.FEE, D("20.00"), D("8.10"), D("1.50"))
    assert fee.due_on == day + timedelta(days=account.organization.payment_terms_days)
    account.refresh_from_db()
    assert account.balance == before + D("20.00")
    # a retry of the same day posts no second fee
    assert run(day).sent == []
    assert LedgerEntry.objects.filter(account=account, kind=EntryKind.FEE).count() == 1


def test_fee_tax_rounding():
    assert svc.fee_tax(D("20.00"), D("8.1"), "CHF") == D("1.50")
    assert svc.fee_tax(D("5.00"), D("19"), "EUR") == D("0.80")  # 5 − 5/1.19 = 0.798…
    assert svc.fee_tax(D("10.00"), D("0"), "EUR") == D("0")
    assert svc.fee_tax(D("1000"), D("7.7"), "JPY") == D("71")  # 71.49… in yen


def test_paid_invoice_is_never_dunned_and_a_payment_stops_further_levels(case):
    inv, due, account = case
    assert len(run(due + timedelta(days=10)).sent) == 1
    payment_record(account=account, amount=D("250.00"), received_on=real_today(),
                   invoices=[(inv.pk, None)])
    assert run(due + timedelta(days=25)).sent == []
    assert run(due + timedelta(days=40)).sent == []
    assert sent_levels(inv) == [1]  # the first notice stays in the history


def test_part_paid_invoice_is_dunned_for_what_is_open(case):
    inv, due, account = case
    payment_record(account=account, amount=D("100.00"), received_on=real_today(),
                   invoices=[(inv.pk, None)])
    notice = run(due + timedelta(days=10)).sent[0]
    assert notice.amount_due == D("150.00")


def test_disputed_invoice_is_not_dunned_until_resolved(case):
    inv, due, account = case
    dispute = svc.dispute_open(invoice=inv, reason="Meter reading contested")
    with pytest.raises(Conflict):
        svc.dispute_open(invoice=inv, reason="again")
    assert run(due + timedelta(days=25)).sent == []
    assert svc.dunning_preview(due + timedelta(days=25)) == []
    svc.dispute_resolve(dispute=dispute, resolution="Reading confirmed")
    assert not InvoiceDispute.objects.get(pk=dispute.pk).is_open
    # anchored to the due date: the level due now, not the first one
    assert [n.level.position for n in run(due + timedelta(days=25)).sent] == [2]
    with pytest.raises(ValidationError) as err:
        svc.dispute_open(invoice=inv, reason="  ")
    assert "reason" in err.value.message_dict


def test_paused_account_is_not_dunned_until_the_promise_date_passes(case):
    inv, due, account = case
    dunning_pause(account=account, until=due + timedelta(days=15), reason="Promised payment")
    assert run(due + timedelta(days=10)).sent == []
    assert run(due + timedelta(days=15)).sent == []  # paused through that day
    assert [n.level.position for n in run(due + timedelta(days=16)).sent] == [1]


def test_letter_pdf_and_email(case):
    from pypdf import PdfReader

    inv, due, account = case
    mail.outbox.clear()
    notice = run(due + timedelta(days=31)).sent[0]
    notice.refresh_from_db()
    assert notice.letter.name.endswith(".pdf")
    with notice.letter.open("rb") as fh:
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(fh.read())).pages)
    assert inv.number in text
    assert "250.00" in text
    assert f"Final notice {inv.number}" in text  # placeholders filled in the title
    assert notice.email_status == EmailStatus.SENT
    assert len(mail.outbox) == 1
    msg = mail.outbox[0]
    assert msg.to == [account.tenant.email]
    assert inv.number in msg.subject
    assert msg.attachments[0][0].endswith(".pdf")


def test_tenant_without_email_gets_a_letter_to_print(in_org_a, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "statements": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)}}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ladder()
    house = make_house(tenant_email="")
    inv = issued(house.tenant, house.bp, "80.00")
    due = LedgerEntry.objects.get(kind=EntryKind.INVOICE, invoice=inv).due_on
    mail.outbox.clear()
    notice = run(due + timedelta(days=10)).sent[0]
    assert notice.email_status == EmailStatus.PRINT
    assert notice.letter.name
    assert mail.outbox == []


def test_bad_level_config_is_refused_with_clear_errors(in_org_a):
    svc.dunning_level_create(position=1, name="Reminder", days_overdue=10)
    svc.dunning_level_create(position=2, name="Second", days_overdue=20)
    cases = [
        ({"position": 3, "name": "Early", "days_overdue": 15}, "days_overdue", "later"),
        ({"position": 3, "name": "Same", "days_overdue": 20}, "days_overdue", "already"),
        ({"position": 2, "name": "Dup", "days_overdue": 40}, "position", "taken"),
        ({"position": 3, "name": "Neg", "days_overdue": 30, "fee_amount": D("-1")},
         "fee_amount", "negative"),
        ({"position": 3, "name": "VAT", "days_overdue": 30, "fee_tax_rate": D("120")},
         "fee_tax_rate", "between 0 and 100"),
        ({"position": 3, "name": "Tpl", "days_overdue": 30, "letter_text": "Hi {tenat}"},
         "letter_text", "{tenat}"),
        ({"position": 3, "name": " ", "days_overdue": 30}, "name", "name"),
    ]
    for fields, field_name, words in cases:
        with pytest.raises(ValidationError) as err:
            svc.dunning_level_create(**fields)
        assert field_name in err.value.message_dict, fields
        assert words in " ".join(err.value.message_dict[field_name]), fields
    assert DunningLevel.objects.count() == 2
    second = DunningLevel.objects.get(position=2)
    with pytest.raises(ValidationError):
        svc.dunning_level_update(level=second, days_overdue=5)
    svc.dunning_level_update(level=second, days_overdue=25, fee_amount=D("5.00"))
    assert DunningLevel.objects.get(position=2).days_overdue == 25


def test_a_sent_level_cannot_be_deleted(case):
    inv, due, _ = case
    run(due + timedelta(days=10))
    with pytest.raises(Conflict):
        svc.dunning_level_delete(level=DunningLevel.objects.get(position=1))
    svc.dunning_level_delete(level=DunningLevel.objects.get(position=3))
    assert DunningLevel.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_send_each_notice_once(world_a, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "statements": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)}}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    org = world_a.org
    with organization_context(org):
        ladder()
        house = make_house()
        invoices = [issued(house.tenant, house.bp, D("40.00") + n) for n in range(3)]
        due = max(LedgerEntry.objects.filter(kind=EntryKind.INVOICE, invoice__in=invoices)
                  .values_list("due_on", flat=True))
    day = due + timedelta(days=22)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def work():
        try:
            barrier.wait()
            with organization_context(org):
                results.append(len(svc.dunning_run(today=day).sent))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sum(results) == 3
    with organization_context(org):
        assert DunningNotice.objects.count() == 3
        assert LedgerEntry.objects.filter(kind=EntryKind.FEE).count() == 3
        assert sorted(DunningNotice.objects.values_list("level__position", flat=True)) == \
            [2, 2, 2]


def test_beat_runs_each_organization_on_its_local_day(case, settings):
    from ledger import tasks

    inv, due, account = case
    assert "ledger.tasks.dunning_sweep" in {
        e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    # today nothing is late yet: the organization's run sends nothing
    assert tasks.dunning_organization.run(account.organization_id) == 0
    assert tasks.dunning_organization.run(999999999) == 0
