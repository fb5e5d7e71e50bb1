"""Exports of report pages (CSV, XLSX, PDF), background export jobs and scheduled reports,
on a small hand-computed dataset: a Zurich house read every hour around the autumn DST day.

Flat 1 has E-1 (2 kWh an hour), Flat 2 has W-1 (1 m³ an hour), both read from 24 Oct
00:00 local to 27 Oct 12:00 local. Complete local days: 24 Oct (24 h), 25 Oct (25 h: the
clocks go back), 26 Oct (24 h) → E-1 48, 50, 48 kWh; W-1 24, 25, 24 m³.
"""

from __future__ import annotations

import io
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from django.core import mail
from django.db import connection
from pypdf import PdfReader

from billspree.core.scoping import organization_context
from billspree.core.timefmt import local_midnight
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from monitoring.exports.csv import csv_lines
from monitoring.exports.jobs import (
    export_job_create,
    export_job_run,
    export_jobs_expire,
    stuck_reason,
)
from monitoring.exports.schedules import next_run, scheduled_report_save, scheduled_reports_send
from monitoring.exports.xlsx import sheet_names, write_xlsx
from monitoring.models import ExportJob, ScheduledReport
from monitoring.tables import DATETIME, NUMBER, PERCENT, Column, Table
from tests.conftest import login_client, redis_up, require_service
from tests.readings.helpers import ingest

ZURICH = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 12, 31, tzinfo=UTC)
H = timedelta(hours=1)
START = local_midnight(date(2026, 10, 24), ZURICH).astimezone(UTC)  # 23 Oct 22:00 UTC
HOURS = 24 + 25 + 24 + 13  # 24 Oct 00:00 local → 27 Oct 12:00 local
PAGE = "/monitoring/reports/energy/"
BY_POINT_DAY = {"from": "2026-10-24", "to": "2026-10-26", "group_by": "billing_point,day"}
#: (billing point, day, quantity, unit) of BY_POINT_DAY, computed in the module docstring
EXPECTED = [("Flat 1", date(2026, 10, 24), 48, "kWh"), ("Flat 1", date(2026, 10, 25), 50, "kWh"),
            ("Flat 1", date(2026, 10, 26), 48, "kWh"), ("Flat 2", date(2026, 10, 24), 24, "m³"),
            ("Flat 2", date(2026, 10, 25), 25, "m³"), ("Flat 2", date(2026, 10, 26), 24, "m³")]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def naive(*args: int) -> datetime:
    """A wall-clock time as Excel holds it (no zone)."""
    return datetime(*args, tzinfo=UTC).replace(tzinfo=None)


def build_house(world) -> Property:
    world.org.time_zone = "Europe/Zurich"
    world.org.save()
    prop = Property.objects.create(name="Seehaus", time_zone="Europe/Zurich")
    for serial, name, type_, unit in (("E-1", "Flat 1", MeterType.ELECTRICITY, "kWh"),
                                      ("W-1", "Flat 2", MeterType.COLD_WATER, "m³")):
        bp = BillingPoint.objects.create(property=prop, connection_id=serial, name=name)
        meter = Meter.objects.create(serial_number=serial, type=type_, unit=unit,
                                     register_digits=6)
        MeterAssignment.objects.create(meter=meter, billing_point=bp, connected_at=START,
                                       initial_reading=Decimal(0))
    rows = []
    for k in range(1, HOURS + 1):
        t = (START + k * H).isoformat()
        rows += [("E-1", t, str(2 * k)), ("W-1", t, str(k))]
    ingest(*rows, now=NOW)
    return prop


@pytest.fixture
def house(in_org_a):
    return build_house(in_org_a)


@pytest.fixture
def client_a(world_a):
    return login_client(world_a.viewer, world_a.org)


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _sheet_rows(content: bytes, sheet: int = 0) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return list(book.worksheets[sheet].iter_rows(values_only=True))


# --- the three formats of the energy report -------------------------------------------------


def test_xlsx_numbers_and_days_are_typed_and_equal_the_page(house, client_a):
    response = client_a.get(PAGE, {**BY_POINT_DAY, "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_TYPE
    assert 'filename="energy-report.xlsx"' in response["Content-Disposition"]
    content = _body(response)
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["Consumption"]  # grouped by day: no cost table
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Billing point", "Day", "Quantity", "Unit")
    # days are Excel dates (openpyxl reads them as midnight datetimes), numbers are numbers
    assert rows[1:] == [(bp, naive(d.year, d.month, d.day), q, u)
                        for bp, d, q, u in EXPECTED]
    assert sheet["C2"].number_format == "#,##0.0000"
    assert sheet["B2"].number_format == "yyyy-mm-dd"
    assert sheet["A1"].font.b and sheet.freeze_panes == "A2"
    page = client_a.get(PAGE, BY_POINT_DAY).content.decode()
    assert "50.0000" in page and "25.0000" in page  # the page shows what the sheet holds


def test_xlsx_hours_are_local_times_across_the_dst_change(house, client_a):
    response = client_a.get(PAGE, {"from": "2026-10-25", "to": "2026-10-25", "group_by": "hour",
                                   "meter_type": "cold_water", "format": "xlsx"})
    rows = _sheet_rows(_body(response))
    assert len(rows) == 1 + 25  # 25 hours on the day the clocks go back
    # 23:00Z → 01:00 CEST, 00:00Z → 02:00 CEST, 01:00Z → 02:00 CET (again), 02:00Z → 03:00 CET
    assert [r[0] for r in rows[1:6]] == [naive(2026, 10, 25, h) for h in (0, 1, 2, 2, 3)]
    assert {r[1] for r in rows[1:]} == {1} and sum(r[1] for r in rows[1:]) == 25


def test_xlsx_has_every_table_of_the_page(house, client_a):
    response = client_a.get(PAGE, {"from": "2026-10-01", "to": "2026-10-31",
                                   "group_by": "property,month", "format": "xlsx"})
    book = openpyxl.load_workbook(io.BytesIO(_body(response)))
    assert book.sheetnames == ["Consumption", "Cost (net, issued invoices)"]
    # 73 complete hours in October: E-1 146 kWh, W-1 73 m³; the month is an Excel date
    assert list(book.worksheets[0].iter_rows(values_only=True))[1:] == [
        ("Seehaus", naive(2026, 10, 1), 146, "kWh"),
        ("Seehaus", naive(2026, 10, 1), 73, "m³")]
    assert book.worksheets[0]["B2"].number_format == "yyyy-mm"
    assert list(book.worksheets[1].iter_rows(values_only=True)) == [
        ("Property", "Month", "Amount", "Currency")]  # no issued invoice
    only_cost = client_a.get(PAGE, {"from": "2026-10-01", "to": "2026-10-31",
                                    "group_by": "property,month", "format": "xlsx",
                                    "table": "cost"})
    assert openpyxl.load_workbook(io.BytesIO(_body(only_cost))).sheetnames == [
        "Cost (net, issued invoices)"]


def test_pdf_has_title_period_rows_and_page_numbers(house, client_a):
    response = client_a.get(PAGE, {**BY_POINT_DAY, "format": "pdf"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    content = _body(response)
    assert content.startswith(b"%PDF")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert "Energy report" in text and "24–26 Oct 2026" in text
    assert "Flat 1" in text and "50.0000" in text and "25 Oct 2026" in text
    assert "Page 1 of 1" in text


def test_csv_is_the_first_table_as_plain_text(house, client_a):
    response = client_a.get(PAGE, {**BY_POINT_DAY, "format": "csv"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    lines = _body(response).decode().splitlines()
    assert lines[0] == "Billing point,Day,Quantity,Unit"
    assert lines[1:] == [f"{bp},{d.isoformat()},{q}.0000,{u}" for bp, d, q, u in EXPECTED]


def test_the_page_links_the_three_formats(house, client_a):
    html = client_a.get(PAGE, BY_POINT_DAY).content.decode()
    for fmt in ("csv", "xlsx", "pdf"):
        assert f"group_by=billing_point%2Cday&amp;format={fmt}" in html


@pytest.mark.parametrize(("query", "status", "words"), [
    ({"format": "docx"}, 400, "format: unknown format 'docx'"),
    ({"format": "xlsx", "from": "2026-10-31", "to": "2026-10-01"}, 400, "to: "),
    ({"format": "pdf", "from": "2026-13-01", "to": "2026-10-31"}, 400, "from: "),
    ({"format": "csv", "table": "nope"}, 404, ""),
])
def test_bad_export_requests_get_a_clear_answer(house, client_a, query, status, words):
    client_a.raise_request_exception = False
    response = client_a.get(PAGE, {"from": "2026-10-01", "to": "2026-10-31", **query})
    assert response.status_code == status
    assert words in response.content.decode()
    assert not ExportJob.objects.exists()


# --- the XLSX writer on its own -------------------------------------------------------------


def test_xlsx_writer_percent_datetime_and_text_cells(tmp_path):
    zone = ZoneInfo("Europe/Zurich")
    table = Table(
        name="losses", title="Losses per main meter and hour: a very long title indeed",
        zone=zone, columns=[Column("meter", "Meter"), Column("hour", "Hour", DATETIME),
                            Column("loss", "Loss", PERCENT, digits=1),
                            Column("kwh", "Loss", NUMBER, "kWh", digits=0),
                            Column("x", "Raw", NUMBER)],
        rows=iter([["=HYPERLINK(\"x\")", datetime(2026, 3, 29, 1, tzinfo=UTC),
                    Decimal("2.5"), Decimal("1234.4"), 7],
                   ["M-2", None, None, None, None]]))
    path = tmp_path / "t.xlsx"
    write_xlsx([table, table], path)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Losses per main meter and hour", "Losses per main meter and h (2)"]
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == ["Meter", "Hour", "Loss", "Loss (kWh)", "Raw"]
    # 01:00Z on 29 Mar 2026 is 03:00 CEST (the clocks went forward at 02:00 CET)
    assert [c.value for c in sheet[2]] == ["=HYPERLINK(\"x\")", naive(2026, 3, 29, 3),
                                           0.025, 1234.4, 7]
    assert sheet["A2"].data_type == "s"  # text, not a formula
    assert sheet["C2"].number_format == "0.0%" and sheet["D2"].number_format == "#,##0"
    assert [c.value for c in sheet[3]] == ["M-2", None, None, None, None]


def test_csv_writer_neutralises_formulas_and_keeps_negative_numbers():
    table = Table(name="t", title="T", zone=UTC,
                  columns=[Column("bp", "Billing point"), Column("kwh", "kWh", NUMBER)],
                  rows=iter([["=HYPERLINK(\"http://x\")", Decimal("-12.5")],
                             ["@SUM(A1)", Decimal("3")], ["-2+3", None], ["Flat 1", 4]]))
    assert "".join(csv_lines(table)).splitlines() == [
        "Billing point,kWh", '"\'=HYPERLINK(""http://x"")",-12.5', "'@SUM(A1),3", "'-2+3,",
        "Flat 1,4"]


def test_sheet_names_are_excel_safe():
    def t(title):
        return Table(name="n", title=title, columns=[], rows=[], zone=UTC)
    names = sheet_names([t("Cost [CHF]: a/b?"), t("x" * 40), t("X" * 40)])
    assert names == ["Cost  CHF   a b", "x" * 31, "X" * 27 + " (2)"]


# --- background jobs ------------------------------------------------------------------------


def test_a_large_export_runs_as_a_job_with_progress_and_a_download(
        house, client_a, world_a, world_b, settings, django_capture_on_commit_callbacks):
    settings.EXPORT_BACKGROUND_ROWS = 5  # the report has 6 rows
    with django_capture_on_commit_callbacks(execute=True):  # the task runs eagerly
        response = client_a.get(PAGE, {**BY_POINT_DAY, "format": "xlsx"})
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert response["Location"] == f"/monitoring/exports/{job.public_id}/"
    assert (job.status, job.rows_done, job.rows_total, job.created_by) == (
        "done", 6, 6, world_a.viewer)
    assert job.query == "from=2026-10-24&to=2026-10-26&group_by=billing_point%2Cday"
    detail = client_a.get(response["Location"]).content.decode()
    assert 'data-testid="export-download"' in detail and "6 of 6 rows" in detail
    partial = client_a.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="export-progress"') and "hx-get" not in partial  # done
    download = client_a.get(f"/monitoring/exports/{job.public_id}/download/")
    assert download["Content-Type"] == XLSX_TYPE
    assert _sheet_rows(_body(download))[1:] == [
        (bp, naive(d.year, d.month, d.day), q, u) for bp, d, q, u in EXPECTED]
    listing = client_a.get("/monitoring/exports/").content.decode()
    assert f"/monitoring/exports/{job.public_id}/download/" in listing
    other = login_client(world_b.admin, world_b.org)
    assert other.get(f"/monitoring/exports/{job.public_id}/download/").status_code == 404
    assert export_job_run(job_id=job.pk) is False  # a second delivery writes nothing


def test_finished_exports_and_their_files_are_removed_after_the_retention(
        house, client_a, world_a, world_b, settings, django_capture_on_commit_callbacks):
    settings.EXPORT_BACKGROUND_ROWS, settings.EXPORT_RETENTION_DAYS = 5, 7
    with django_capture_on_commit_callbacks(execute=True):
        client_a.get(PAGE, {**BY_POINT_DAY, "format": "xlsx"})
        client_a.get(PAGE, {**BY_POINT_DAY, "format": "pdf"})
    old, new = ExportJob.objects.order_by("pk")
    storage = ExportJob.file.field.storage
    assert old.status == new.status == "done" and storage.exists(old.file.name)
    finished = old.finished_at
    local = finished.astimezone(ZoneInfo(str(world_a.org.time_zone))) + timedelta(days=7)
    detail = client_a.get(f"/monitoring/exports/{old.public_id}/").content.decode()
    assert "Available until" in detail and str(local.day) in detail
    assert "for 7 days after they finish" in client_a.get("/monitoring/exports/").content.decode()
    with organization_context(world_b.org):  # another organization's running job stays
        running = export_job_create(page=PAGE, query="", fmt="pdf", title="B", actor=None)
    ExportJob.objects.unscoped().filter(pk=running.pk).update(status="running")
    ExportJob.objects.filter(pk=old.pk).update(finished_at=finished - timedelta(days=7, hours=1))
    assert export_jobs_expire() == 1
    assert not storage.exists(old.file.name) and storage.exists(new.file.name)
    assert list(ExportJob.objects.unscoped().order_by("pk")) == [new, running]
    assert client_a.get(f"/monitoring/exports/{old.public_id}/download/").status_code == 404
    assert export_jobs_expire() == 0  # nothing left to remove: a second beat changes nothing


def test_a_job_says_why_it_failed_or_is_stuck(house, world_a):
    job = export_job_create(page=PAGE, query="from=2026-10-31&to=2026-10-01", fmt="xlsx",
                            title="Energy report", actor=world_a.viewer)
    assert export_job_run(job_id=job.pk) is True
    job.refresh_from_db()
    assert job.status == "failed" and not job.file
    assert "no longer valid" in job.error and "before it begins" in job.error
    queued = export_job_create(page=PAGE, query="", fmt="pdf", title="Energy report",
                               actor=world_a.viewer)
    assert stuck_reason(queued) == ""
    ExportJob.objects.filter(pk=queued.pk).update(created_at=queued.created_at
                                                  - timedelta(minutes=3))
    queued.refresh_from_db()
    assert "worker" in stuck_reason(queued)
    unknown = export_job_create(page="/monitoring/nowhere/", query="", fmt="csv", title="x",
                                actor=None)
    export_job_run(job_id=unknown.pk)
    unknown.refresh_from_db()
    assert unknown.status == "failed" and "No page at '/monitoring/nowhere/'" in unknown.error


@pytest.mark.redis
def test_a_real_worker_writes_the_job(transactional_db, settings):
    require_service(redis_up(), "Redis (set REDIS_URL)")
    from celery.contrib.testing.worker import start_worker

    from billspree.celery import app
    from tests.factories import make_org_world

    world = make_org_world("Worker Estates", "WORKER")
    with organization_context(world.org):
        build_house(world)
    settings.EXPORT_BACKGROUND_ROWS = 1
    client = login_client(world.viewer, world.org)
    app.conf.task_always_eager = False
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20):
        response = client.get(PAGE, {**BY_POINT_DAY, "format": "pdf"})
        assert response.status_code == 302
        job = ExportJob.objects.unscoped().get()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not job.is_finished:
            time.sleep(0.2)
            job.refresh_from_db()
    assert job.status == "done", job.error
    download = client.get(f"/monitoring/exports/{job.public_id}/download/")
    content = _body(download)
    assert content.startswith(b"%PDF")
    assert "Flat 2" in PdfReader(io.BytesIO(content)).pages[0].extract_text()


# --- scheduled reports ----------------------------------------------------------------------


def _report(**extra) -> ScheduledReport:
    data = {"name": "Monthly energy", "page": PAGE, "query": "group_by=billing_point,day",
            "format": "xlsx", "recipients": "owner@example.test", "frequency": "monthly",
            "day_of_month": 1, "hour": 7, **extra}
    return ScheduledReport(**data)


def test_next_run_is_local_and_advances_by_the_calendar(in_org_a):
    report = _report(day_of_month=31)
    # 31st at 07:00 Zurich; November has 30 days → its last day; 07:00 CET = 06:00Z
    assert next_run(report, datetime(2026, 10, 31, 5, tzinfo=UTC), ZURICH) == datetime(
        2026, 10, 31, 6, tzinfo=UTC)  # 07:00 CET on the first day after the DST change
    assert next_run(report, datetime(2026, 10, 31, 6, tzinfo=UTC), ZURICH) == datetime(
        2026, 11, 30, 6, tzinfo=UTC)
    weekly = _report(frequency="weekly", weekday=0, day_of_month=None)
    # Tuesday 20 Oct 2026 → Monday 26 Oct 07:00 CET
    assert next_run(weekly, datetime(2026, 10, 20, 12, tzinfo=UTC), ZURICH) == datetime(
        2026, 10, 26, 6, tzinfo=UTC)


def test_a_due_report_is_emailed_once_with_its_file_and_advances(house, world_a):
    report = scheduled_report_save(report=_report(), actor=world_a.manager,
                                   now=datetime(2026, 10, 20, 12, tzinfo=UTC))
    assert report.next_run_at == datetime(2026, 11, 1, 6, tzinfo=UTC)  # 07:00 CET
    assert scheduled_reports_send(now=datetime(2026, 11, 1, 5, 59, tzinfo=UTC)) == 0
    assert scheduled_reports_send(now=datetime(2026, 11, 1, 6, 2, tzinfo=UTC)) == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@example.test"]
    assert message.subject == "Monthly energy — 1–31 Oct 2026"
    (filename, content, mimetype), = message.attachments
    assert (filename, mimetype) == ("energy-report.xlsx", XLSX_TYPE)
    # the previous month, by billing point and day: the six days of the dataset
    assert _sheet_rows(content)[1:] == [
        (bp, naive(d.year, d.month, d.day), q, u) for bp, d, q, u in EXPECTED]
    report.refresh_from_db()
    assert report.last_run_at == datetime(2026, 11, 1, 6, 2, tzinfo=UTC)
    assert report.next_run_at == datetime(2026, 12, 1, 6, tzinfo=UTC)
    assert scheduled_reports_send(now=datetime(2026, 11, 1, 6, 7, tzinfo=UTC)) == 0  # once
    assert len(mail.outbox) == 1


def test_two_beats_at_once_send_once(transactional_db):
    from tests.factories import make_org_world

    world = make_org_world("Beat Estates", "BEAT")
    with organization_context(world.org):
        report = scheduled_report_save(report=_report(format="csv"), actor=world.manager,
                                       now=datetime(2026, 10, 20, 12, tzinfo=UTC))
    due = datetime(2026, 11, 1, 7, 1, tzinfo=UTC)  # this organization works in UTC
    barrier, results = threading.Barrier(2), []

    def beat():
        try:
            barrier.wait()
            results.append(scheduled_reports_send(now=due))
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == [0, 1]
    assert len(mail.outbox) == 1
    report.refresh_from_db()
    assert report.next_run_at == datetime(2026, 12, 1, 7, tzinfo=UTC)


def test_schedule_form_creates_and_refuses_bad_input(house, world_a):
    client = login_client(world_a.manager, world_a.org)
    form = client.get("/monitoring/schedules/new/", {"page": PAGE, "query": "group_by=day"})
    assert form.status_code == 200 and "Energy report" in form.content.decode()
    base = {"name": "Weekly water", "page": PAGE, "query": "group_by=billing_point",
            "format": "pdf", "period": "previous", "frequency": "weekly", "weekday": "0",
            "day_of_month": "", "hour": "6", "recipients": "a@example.test\nb@example.test",
            "active": "on"}
    for change, field, words in (
            ({"recipients": "a@example.test, not-an-email"}, "recipients", "'not-an-email'"),
            ({"frequency": "daily"}, "frequency", "daily"),
            ({"weekday": ""}, "weekday", "weekday it is sent on"),
            ({"hour": "24"}, "hour", "less than or equal to 23"),
            ({"query": "group_by=week"}, "query", "'week'"),
            ({"page": "/monitoring/exports/"}, "page", "not one of the available choices")):
        response = client.post("/monitoring/schedules/new/", {**base, **change})
        assert response.status_code == 400, change
        html = unescape(response.content.decode())
        assert f'data-field="{field}"' in html and words in html, (change, html[-2000:])
    assert not ScheduledReport.objects.exists()
    response = client.post("/monitoring/schedules/new/", base)
    assert response.status_code == 302
    report = ScheduledReport.objects.get()
    assert report.recipients == "a@example.test, b@example.test"
    assert (report.weekday, report.day_of_month, report.created_by) == (0, None, world_a.manager)
    listing = client.get("/monitoring/schedules/").content.decode()
    assert "Weekly water" in listing and "Every Monday, 06:00" in listing
    viewer = login_client(world_a.viewer, world_a.org)
    viewer.raise_request_exception = False
    assert viewer.post(f"/monitoring/schedules/{report.public_id}/delete/").status_code == 403
    assert client.post(f"/monitoring/schedules/{report.public_id}/delete/").status_code == 302
    assert not ScheduledReport.objects.exists()
