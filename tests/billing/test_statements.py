"""PDF statements of invoices: what the PDF prints (its text, via pypdf), the rendered page
(PNG via pypdfium2, non-blank, A4), generation after issue, failure and retry, the stored
file (replaced, never under MEDIA), the download, and email deliveries (sent, failed,
resend) through Django's real mail backends."""

from __future__ import annotations

import io
import os
from decimal import Decimal as D
from pathlib import Path

import pypdfium2
import pytest
from django.core import mail
from django.test import override_settings
from pypdf import PdfReader

from billing.models import (
    DeliveryStatus,
    InvoiceStatement,
    StatementDelivery,
    StatementStatus,
    statement_storage,
)
from billing.services import statement_delivery as sending
from billing.services import statements as svc
from tests.billing.factories_statements import billed_house, brand


def pdf_text(pdf: bytes) -> str:
    """The PDF's text with runs of whitespace collapsed (pypdf splits some words)."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return " ".join(text.split())


def has(text: str, needle: str) -> bool:
    """``needle`` in ``text`` ignoring whitespace (text extraction splits kerned pairs such
    as "T otal")."""
    return "".join(needle.split()) in "".join(text.split())


def png_of_page(pdf: bytes, path, page: int = 0, scale: float = 1.5):
    """Page ``page`` of ``pdf`` rendered to a PNG at ``path``; returns the PIL image."""
    doc = pypdfium2.PdfDocument(pdf)
    image = doc[page].render(scale=scale).to_pil()
    image.save(path)
    return image


def statements_location(tmp_path) -> dict:
    return {"BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "statements"), "base_url": None}}


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    """Each test writes its PDFs under its own tmp dir (the real filesystem storage)."""
    settings.STORAGES = {**settings.STORAGES, "statements": statements_location(tmp_path)}


@pytest.fixture
def billed(in_org_a, django_capture_on_commit_callbacks):
    brand(in_org_a.org)
    with django_capture_on_commit_callbacks(execute=True):
        return billed_house()


def stored_pdf(invoice) -> bytes:
    statement = InvoiceStatement.objects.get(invoice=invoice)
    assert statement.status == StatementStatus.READY, statement.error
    with statement_storage().open(statement.file.name, "rb") as fh:
        return fh.read()


def money(value: D) -> str:
    return f"{value:,.2f}"


# --- generation after issue ---------------------------------------------------------------------


def test_issue_generates_the_statement_in_the_background_and_stores_it_privately(
        billed, tmp_path, settings):
    statement = InvoiceStatement.objects.get(invoice=billed.invoice)
    assert statement.status == StatementStatus.READY and statement.attempts == 1
    assert statement.size > 5000 and statement.generated_at is not None
    path = Path(statement_storage().path(statement.file.name))
    assert path.is_file() and path.read_bytes()[:5] == b"%PDF-"
    assert str(path).startswith(str(tmp_path / "statements"))
    assert not str(path).startswith(str(settings.MEDIA_ROOT))
    assert billed.invoice.number.lower() in path.name.lower()
    assert StatementDelivery.objects.count() == 0  # hand-issued: not emailed automatically


def test_pdf_text_holds_number_dates_readings_estimated_marker_and_totals(billed):
    inv = billed.invoice
    text = pdf_text(stored_pdf(inv))
    assert has(text, inv.number)
    assert has(text, "Invoice date") and has(text, "Due date")
    assert has(text, "1–30 Sep 2026")  # the inclusive local days people say
    assert has(text, f"Total due {money(inv.total)} EUR")
    assert has(text, f"Net amount {money(inv.net_total)}")
    assert has(text, f"Total VAT {money(inv.tax_total)}")
    assert has(text, "VAT 19 %") and has(text, "VAT 7 %")
    # electricity: actual readings at both ends
    elec = inv.lines.filter(meter=billed.house.meter).first()
    assert has(text, f"{elec.start_value:,.0f}") and has(text, f"{elec.end_value:,.0f}")
    # water: the end reading is estimated and marked, with the legend
    water = inv.billed_periods.get(meter=billed.water)
    assert water.estimated
    assert has(text, f"{water.start_value:.3f}")
    assert has(text, "E = estimated reading")
    assert has(text, "BILL TO") and has(text, "SUPPLY ADDRESS")
    assert has(text, "IBAN: DE89 3704 0044 0532 0130 00")
    assert has(text, "YOUR CONSUMPTION, LAST 12 MONTHS")


def test_due_date_is_issue_date_plus_payment_terms(billed):
    from billing.selectors.statements import invoice_statement_data

    data = invoice_statement_data(invoice=billed.invoice)
    assert (data.due_on - data.issued_on).days == 14
    assert data.charts and len(data.charts[0].values) == 12
    assert data.charts[0].current[-1] and sum(data.charts[0].current) == 1


def _logo(org, settings, tmp_path) -> None:
    """A small PNG logo (drawn here) in the organization's ``logo`` field."""
    from django.core.files.base import ContentFile
    from PIL import Image, ImageDraw

    settings.MEDIA_ROOT = str(tmp_path / "media")
    image = Image.new("RGB", (360, 120), "white")
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 4, 116, 116), radius=22, fill="#0b6e4f")
    draw.polygon([(70, 18), (34, 66), (58, 66), (48, 104), (86, 52), (62, 52)], fill="white")
    draw.text((132, 44), "ALPHA ESTATES", fill="#0b6e4f")
    buf = io.BytesIO()
    image.save(buf, "PNG")
    org.logo.save("alpha.png", ContentFile(buf.getvalue()), save=True)


def test_page_one_renders_to_a_non_blank_a4_png(billed, tmp_path, settings):
    _logo(billed.invoice.organization, settings, tmp_path)
    pdf = svc.invoice_statement_render(invoice=billed.invoice)
    assert len(pdf) > len(stored_pdf(billed.invoice))  # the logo is embedded
    out = os.environ.get("STATEMENT_PNG_DIR") or tmp_path
    image = png_of_page(pdf, Path(out) / "invoice-p1.png")
    width, height = image.size
    assert (width, height) == (round(595.28 * 1.5), round(841.89 * 1.5))  # A4 portrait
    grey = image.convert("L")
    assert grey.getextrema()[0] < 60  # dark ink
    dark = sum(grey.histogram()[:200])  # pixels darker than light grey
    assert dark > 0.02 * width * height  # more than a stray line: a laid-out bill


def test_long_invoice_breaks_across_pages_with_the_table_header_repeated(
        in_org_a, django_capture_on_commit_callbacks, tmp_path):
    with django_capture_on_commit_callbacks(execute=True):
        b = billed_house(extra_lines=70, estimated=False)
    reader = PdfReader(io.BytesIO(stored_pdf(b.invoice)))
    assert len(reader.pages) >= 2
    second = " ".join(reader.pages[1].extract_text().split())
    assert has(second, "DESCRIPTION") and has(second, "UNIT PRICE")  # the header, repeated
    assert has(second, f"Page 2 of {len(reader.pages)}")
    if os.environ.get("STATEMENT_PNG_DIR"):
        pdf = stored_pdf(b.invoice)
        png_of_page(pdf, Path(os.environ["STATEMENT_PNG_DIR"]) / "long-p2.png", page=1)


# --- failure, retry, idempotency -------------------------------------------------------------


def test_a_failed_render_is_recorded_and_a_retry_succeeds(
        billed, tmp_path, django_capture_on_commit_callbacks):
    inv = billed.invoice
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the storage wants a folder")
    broken = {"BACKEND": "django.core.files.storage.FileSystemStorage",
              "OPTIONS": {"location": str(blocker / "statements"), "base_url": None}}
    from django.conf import settings

    with override_settings(STORAGES={**settings.STORAGES, "statements": broken}):
        st = svc.invoice_statement_generate(invoice=inv)
    assert st.status == StatementStatus.FAILED and st.attempts == 2
    assert "Error" in st.error and "not-a-directory" in st.error
    with django_capture_on_commit_callbacks(execute=True):
        st = svc.invoice_statement_regenerate(invoice=inv)
    st.refresh_from_db()
    assert st.status == StatementStatus.READY and st.error == "" and st.attempts == 3


def test_a_database_error_inside_the_render_is_recorded_and_keeps_the_old_file(
        billed, monkeypatch):
    """The render's queries run in the statement's transaction: a failing one must not take
    the outcome down with it (PostgreSQL refuses every statement after an error until the
    transaction rolls back)."""
    from django.db import connection

    import billing.selectors.statements as selectors

    inv = billed.invoice
    good = svc.invoice_statement_generate(invoice=inv)
    assert good.status == StatementStatus.READY

    def failing_query(*, invoice):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")  # a real error from the real database

    monkeypatch.setattr(selectors, "invoice_statement_data", failing_query)
    st = svc.invoice_statement_generate(invoice=inv)
    assert st.status == StatementStatus.FAILED and "division by zero" in st.error
    st.refresh_from_db()
    assert (st.status, st.attempts, st.file.name) == (StatementStatus.FAILED, 3,
                                                      good.file.name)
    assert statement_storage().exists(good.file.name)


def test_regenerating_replaces_the_file_instead_of_adding_copies(billed, tmp_path):
    for _ in range(3):
        again = svc.invoice_statement_generate(invoice=billed.invoice)
    files = list((tmp_path / "statements").rglob("*.pdf"))
    assert [str(f) for f in files] == [statement_storage().path(again.file.name)]
    assert again.attempts == 4 and billed.invoice.number.lower() in files[0].name.lower()


def test_bulk_issue_hook_creates_statements_set_based_and_is_idempotent(
        billed, django_capture_on_commit_callbacks, django_assert_max_num_queries):
    InvoiceStatement.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=False) as callbacks, \
            django_assert_max_num_queries(2):
        svc.statements_after_issue(invoices=[billed.invoice], send=False)
    assert InvoiceStatement.objects.get().status == StatementStatus.PENDING
    assert len(callbacks) == 1
    svc.statements_after_issue(invoices=[billed.invoice], send=False)
    assert InvoiceStatement.objects.count() == 1


# --- email ------------------------------------------------------------------------------------


def test_send_emails_the_tenant_with_the_pdf_attached(billed, django_capture_on_commit_callbacks):
    inv = billed.invoice
    with django_capture_on_commit_callbacks(execute=True):
        delivery = sending.invoice_statement_send(invoice=inv)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.sent_at and not delivery.error
    [message] = mail.outbox
    assert message.to == ["tenant@example.com"] and inv.number in message.subject
    assert f"{money(inv.total)} EUR" in message.body
    html, kind = message.alternatives[0]
    assert kind == "text/html" and inv.number in html
    [(name, content, mimetype)] = message.attachments
    assert mimetype == "application/pdf" and name.endswith(".pdf") and content[:5] == b"%PDF-"
    text = pdf_text(content)
    assert has(text, inv.number) and has(text, f"Total due {money(inv.total)} EUR")


def test_tenant_without_email_gets_a_failed_delivery_and_no_mail(
        in_org_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        b = billed_house(tenant_email="")
        delivery = sending.invoice_statement_send(invoice=b.invoice)
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error == "the tenant has no email address"
    assert mail.outbox == []


def test_smtp_refusal_is_recorded_and_resend_creates_a_new_sent_delivery(
        billed, settings, django_capture_on_commit_callbacks):
    """A real SMTP backend against a closed port: the failure is the real one."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    with django_capture_on_commit_callbacks(execute=True):
        failed = sending.invoice_statement_send(invoice=billed.invoice)
    failed.refresh_from_db()
    assert failed.status == DeliveryStatus.FAILED and "refused" in failed.error.lower()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        resent = sending.invoice_statement_send(invoice=billed.invoice)
    resent.refresh_from_db()
    assert resent.status == DeliveryStatus.SENT and resent.pk != failed.pk
    assert len(mail.outbox) == 1
    assert StatementDelivery.objects.filter(invoice=billed.invoice).count() == 2


def test_issue_with_send_generates_then_emails(billed, django_capture_on_commit_callbacks):
    InvoiceStatement.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        svc.statements_after_issue(invoices=[billed.invoice], send=True)
    assert InvoiceStatement.objects.get().status == StatementStatus.READY
    assert StatementDelivery.objects.get().status == DeliveryStatus.SENT
    assert len(mail.outbox) == 1 and mail.outbox[0].attachments


def test_a_draft_cannot_be_sent(in_org_a):
    from billing import services
    from billspree.core.errors import Conflict
    from tests.billing.builders import at, make_house, read
    from tests.billing.factories_statements import OCT, SEP

    h = make_house()
    read(h.meter, (at(SEP), "1100"), (at(OCT), "1400"))
    [draft] = services.invoice_create_draft(subscriptions=[h.subscription], start=SEP, end=OCT)
    with pytest.raises(Conflict):
        sending.invoice_statement_send(invoice=draft)
    assert StatementDelivery.objects.count() == 0


def test_a_group_task_delivered_twice_emails_once(billed, django_capture_on_commit_callbacks):
    for _ in range(2):
        sending.invoice_statements_generate(invoice_ids=[billed.invoice.pk], send=True)
    assert len(mail.outbox) == 1
    assert StatementDelivery.objects.filter(status=DeliveryStatus.SENT).count() == 1


def test_a_credited_invoice_is_printed_as_cancelled(billed):
    from billing import services

    note = services.credit_note_create(invoice=billed.invoice, reason="Wrong reading")
    billed.invoice.refresh_from_db()
    text = pdf_text(svc.invoice_statement_render(invoice=billed.invoice))
    assert has(text, f"CANCELLED BY CREDIT NOTE {note.number}")


def test_a_credit_note_has_its_own_pdf_for_the_manager_the_api_and_the_tenant(
    billed, in_org_a, world_b
):
    from billing import services
    from tests.conftest import api_client, login_client
    from tests.tenants.factories_portal import portal_login

    note = services.credit_note_create(invoice=billed.invoice, reason="Wrong meter reading")
    manager = login_client(in_org_a.manager, in_org_a.org)
    r = manager.get(f"/billing/credit-notes/{note.public_id}/pdf/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert f'filename="credit-note-{note.number}.pdf"' in r["Content-Disposition"]
    text = pdf_text(r.getvalue())
    assert has(text, "Credit note") and has(text, note.number)
    assert has(text, f"For invoice {billed.invoice.number}")
    assert has(text, "Wrong meter reading") and has(text, "Lindenstraße 12")
    assert has(text, "AMOUNT CREDITED") and has(text, f" {money(billed.invoice.total)} EUR")
    assert has(text, f"Total -{money(billed.invoice.total)} EUR")
    detail = manager.get(f"/billing/credit-notes/{note.public_id}/").content.decode()
    assert "Download PDF" in detail

    api = api_client(key=in_org_a.read_key)
    r = api.get(f"/api/v1/credit-notes/{note.public_id}/pdf/")
    assert r.status_code == 200 and r.getvalue().startswith(b"%PDF")
    assert api_client(key=world_b.read_key).get(
        f"/api/v1/credit-notes/{note.public_id}/pdf/").status_code == 404

    user, _ = portal_login(billed.invoice.tenant, "credited@example.test", in_org_a.admin)
    tenant = login_client(user)
    page = tenant.get(f"/my/invoices/{billed.invoice.public_id}/").content.decode()
    url = f"/my/credit-notes/{note.public_id}/credit-note.pdf"
    assert url in page
    r = tenant.get(url)
    assert r.status_code == 200 and has(pdf_text(r.getvalue()), note.number)


def test_a_credit_note_keeps_its_pdf_as_issued(
    billed, in_org_a, django_capture_on_commit_callbacks
):
    """The PDF is stored when the note is committed; a later change of the organization's
    address changes what a render would print, not the document the tenant was sent."""
    from billing import services
    from billing.models import CreditNote
    from billing.statements.render import credit_note_pdf
    from tests.conftest import login_client

    with django_capture_on_commit_callbacks(execute=True):
        note = services.credit_note_create(invoice=billed.invoice, reason="Wrong meter reading")
    note.refresh_from_db()
    assert note.pdf.name.startswith(f"credit-notes/{in_org_a.org.public_id}/")
    assert note.pdf_generated_at is not None
    with statement_storage().open(note.pdf.name, "rb") as fh:
        assert has(pdf_text(fh.read()), "Lindenstraße 12")

    org = in_org_a.org
    org.address = "Alpha Estates GmbH\nNeue Allee 99\n10115 Berlin"
    org.save(update_fields=["address"])
    fresh = CreditNote.objects.select_related("organization").get(pk=note.pk)
    assert has(pdf_text(credit_note_pdf(fresh)), "Neue Allee 99")  # a render would differ

    manager = login_client(in_org_a.manager, in_org_a.org)
    r = manager.get(f"/billing/credit-notes/{note.public_id}/pdf/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert f'filename="credit-note-{note.number}.pdf"' in r["Content-Disposition"]
    text = pdf_text(r.getvalue())
    assert has(text, "Lindenstraße 12") and not has(text, "Neue Allee 99")
    assert has(text, note.number)

    services.credit_note_pdf_store(credit_note=fresh)  # a task delivered twice: no new file
    fresh.refresh_from_db()
    assert fresh.pdf.name == note.pdf.name and fresh.pdf_generated_at == note.pdf_generated_at
    assert len(list((Path(statement_storage().location) / "credit-notes").rglob("*.pdf"))) == 1


def test_a_credit_note_without_a_stored_pdf_stores_it_at_its_first_download(billed, in_org_a):
    """The worker was down (no commit callback ran here): the first download renders and
    keeps the PDF, and the next one serves that file."""
    from billing import services
    from billing.models import CreditNote
    from tests.conftest import login_client

    note = services.credit_note_create(invoice=billed.invoice, reason="Wrong meter reading")
    assert not CreditNote.objects.get(pk=note.pk).pdf
    manager = login_client(in_org_a.manager, in_org_a.org)
    first = manager.get(f"/billing/credit-notes/{note.public_id}/pdf/").getvalue()
    stored = CreditNote.objects.get(pk=note.pk)
    assert stored.pdf and stored.pdf_generated_at is not None
    second = manager.get(f"/billing/credit-notes/{note.public_id}/pdf/").getvalue()
    assert first == second and has(pdf_text(first), note.number)


def test_an_issued_credit_note_cannot_change(billed):
    """The database refuses changes to a credit note (its PDF may be stored once) and to
    its lines, and refuses deleting either, whatever code asks."""
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    from billing import services
    from billing.models import CreditNote, CreditNoteLine

    note = services.credit_note_create(invoice=billed.invoice, reason="Wrong meter reading")
    attempts = [
        lambda: CreditNote.objects.filter(pk=note.pk).update(total=D("0.00")),
        lambda: CreditNote.objects.filter(pk=note.pk).update(reason="Something else"),
        lambda: CreditNote.objects.filter(pk=note.pk).delete(),
        lambda: CreditNoteLine.objects.filter(credit_note=note).update(amount=D("1.00")),
        lambda: CreditNoteLine.objects.filter(credit_note=note).delete(),
    ]
    for attempt in attempts:
        with pytest.raises(IntegrityError), transaction.atomic():
            attempt()
    CreditNote.objects.filter(pk=note.pk).update(pdf="credit-notes/x.pdf",
                                                 pdf_generated_at=timezone.now())
    with pytest.raises(IntegrityError, match="only its PDF may be stored, once"), \
            transaction.atomic():
        CreditNote.objects.filter(pk=note.pk).update(pdf="credit-notes/y.pdf")
    kept = CreditNote.objects.get(pk=note.pk)
    assert (kept.total, kept.reason, kept.pdf.name) == (
        note.total, "Wrong meter reading", "credit-notes/x.pdf")
    assert kept.lines.count() == billed.invoice.lines.count()


# --- credit notes by email ----------------------------------------------------------------


def test_a_tenant_emailed_the_invoice_is_emailed_its_credit_note(
    billed, in_org_a, django_capture_on_commit_callbacks
):
    """They were asked to pay: the credit note that cancels the invoice follows by itself,
    its stored PDF attached; the invoice's own "Resend" logic is not confused by it."""
    from billing import services
    from tests.conftest import login_client

    inv = billed.invoice
    with django_capture_on_commit_callbacks(execute=True):
        sending.invoice_statement_send(invoice=inv)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        note = services.credit_note_create(invoice=inv, reason="Wrong meter reading",
                                           actor=in_org_a.manager)
    [message] = mail.outbox
    assert message.to == ["tenant@example.com"]
    assert message.subject.startswith(f"Credit note {note.number} for your invoice {inv.number}")
    assert "Wrong meter reading" in message.body and f"{money(inv.total)} EUR" in message.body
    assert "You do not need to pay" in message.alternatives[0][0]
    [(name, content, mimetype)] = message.attachments
    assert name == f"credit-note-{note.number.lower()}.pdf" and mimetype == "application/pdf"
    note.refresh_from_db()
    with statement_storage().open(note.pdf.name, "rb") as fh:
        assert content == fh.read()  # the stored document, not a new render
    delivery = note.deliveries.get()
    assert delivery.status == DeliveryStatus.SENT and delivery.invoice == inv
    assert delivery.requested_by == in_org_a.manager

    manager = login_client(in_org_a.manager, in_org_a.org)
    page = manager.get(f"/billing/credit-notes/{note.public_id}/").content.decode()
    assert "tenant@example.com" in page and "Email again…" in page
    panel = manager.get(f"/billing/invoices/{inv.public_id}/statement/").content.decode()
    assert f"Credit note {note.number}" in panel
    # the invoice's statement was sent once: its own action still reads "Resend"
    assert StatementDelivery.objects.filter(invoice=inv, credit_note__isnull=True).count() == 1


def test_a_credit_note_of_an_invoice_never_emailed_is_sent_only_when_asked(
    billed, in_org_a, world_b, django_capture_on_commit_callbacks
):
    from billing import services
    from tests.conftest import api_client, login_client

    with django_capture_on_commit_callbacks(execute=True):
        note = services.credit_note_create(invoice=billed.invoice, reason="Moved out early")
    assert mail.outbox == [] and not note.deliveries.exists()

    manager = login_client(in_org_a.manager, in_org_a.org)
    url = f"/billing/credit-notes/{note.public_id}/send/"
    confirm = manager.get(url).content.decode()
    assert "tenant@example.com" in confirm and money(billed.invoice.total) in confirm
    with django_capture_on_commit_callbacks(execute=True):
        r = manager.post(url, follow=True)
    assert "being sent to tenant@example.com" in r.content.decode()
    assert len(mail.outbox) == 1 and note.deliveries.get().status == DeliveryStatus.SENT

    viewer = login_client(in_org_a.viewer, in_org_a.org)
    assert viewer.post(url).status_code == 403  # reading is not sending
    assert api_client(key=world_b.write_key).post(
        f"/api/v1/credit-notes/{note.public_id}/send/").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        r = api_client(key=in_org_a.write_key).post(
            f"/api/v1/credit-notes/{note.public_id}/send/")
    assert r.status_code == 202 and r.json()["recipient"] == "tenant@example.com"
    assert len(mail.outbox) == 2 and note.deliveries.filter(status="sent").count() == 2


def test_a_credit_note_for_a_tenant_without_email_is_a_failed_delivery_saying_why(
    in_org_a, django_capture_on_commit_callbacks
):
    from billing import services
    from tests.conftest import login_client

    with django_capture_on_commit_callbacks(execute=True):
        b = billed_house(tenant_email="")
        note = services.credit_note_create(invoice=b.invoice, reason="Wrong meter reading")
    manager = login_client(in_org_a.manager, in_org_a.org)
    url = f"/billing/credit-notes/{note.public_id}/send/"
    assert "has no email address" in manager.get(url).content.decode()
    r = manager.post(url, follow=True)
    assert "Not sent: the tenant has no email address." in r.content.decode()
    assert note.deliveries.get().status == DeliveryStatus.FAILED and mail.outbox == []


def test_an_invoice_email_still_queued_when_the_invoice_is_credited_is_not_sent(
    billed, django_capture_on_commit_callbacks
):
    """The email of the invoice waits for a worker while a manager credits it: the tenant
    gets the credit note, not a bill for a cancelled invoice (review finding)."""
    from billing import services
    from billing.tasks.statements import statement_delivery_send_task

    inv = billed.invoice
    queued = sending.invoice_statement_send(invoice=inv)  # its task has not run yet
    with django_capture_on_commit_callbacks(execute=True):
        note = services.credit_note_create(invoice=inv, reason="Wrong meter reading")
    statement_delivery_send_task(inv.organization_id, queued.pk)  # the worker gets to it
    queued.refresh_from_db()
    assert queued.status == DeliveryStatus.FAILED
    assert queued.error == (f"the invoice was cancelled before the email went out "
                            f"(credit note {note.number}, emailed instead)")
    [message] = mail.outbox
    assert message.subject.startswith(f"Credit note {note.number}")
    assert note.deliveries.get().status == DeliveryStatus.SENT


def test_statements_rendered_from_several_threads_at_once_are_all_whole(billed):
    """`make demo` runs its worker with a thread pool; WeasyPrint is not thread-safe, so
    PDFs laid out at the same moment must not corrupt each other (they crashed the worker
    with "realloc(): invalid next size")."""
    from concurrent.futures import ThreadPoolExecutor

    from billing.selectors.statements import invoice_statement_data
    from billing.statements.render import html_to_pdf, invoice_statement_html

    html = invoice_statement_html(invoice_statement_data(invoice=billed.invoice))
    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(lambda _: html_to_pdf(html), range(12)))
    texts = {pdf_text(pdf) for pdf in pdfs}
    assert len(texts) == 1 and has(texts.pop(), billed.invoice.number)
