"""The REST API of background exports and scheduled reports (``/api/v1/exports/``,
``/api/v1/scheduled-reports/``), on the hand-computed Zurich house of ``test_exports``:
E-1 48, 50, 48 kWh and W-1 24, 25, 24 m³ on 24–26 Oct 2026 (25 Oct has 25 hours).

Jobs are created through the API; their task runs eagerly when the request's transaction
commits (``django_capture_on_commit_callbacks(execute=True)``) or is run by hand with
``export_job_run``; the file is downloaded through the API and read back.
"""

from __future__ import annotations

import calendar
import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from monitoring.exports.jobs import export_job_run, export_jobs_expire
from monitoring.models import ExportJob, ScheduledReport
from tests.conftest import api_client, login_client
from tests.monitoring.test_exports import BY_POINT_DAY, EXPECTED, PAGE, XLSX_TYPE, build_house

pytestmark = pytest.mark.django_db

EXPORTS = "/api/v1/exports/"
SCHEDULES = "/api/v1/scheduled-reports/"


@pytest.fixture
def house(in_org_a):
    """The house of org A; the test runs in A's scope (its own queries are A's)."""
    return build_house(in_org_a)


@pytest.fixture
def writer(world_a):
    return api_client(key=world_a.write_key)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def jobs(world) -> int:
    return ExportJob.objects.unscoped().filter(organization=world.org).count()


def post_export(client, key: str | None = None, **body):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(EXPORTS, {"page": PAGE, "query": BY_POINT_DAY, **body}, format="json",
                       **headers)


def error_fields(response) -> dict[str, list[str]]:
    return response.json()["error"]["fields"]


# --- create, run, poll, download ------------------------------------------------------------


def test_an_xlsx_export_is_created_polled_and_downloaded(
        house, writer, django_capture_on_commit_callbacks, settings):
    with django_capture_on_commit_callbacks(execute=True):  # the task runs at the commit
        created = post_export(writer, format="xlsx")
        assert created.status_code == 202, created.content
        data = created.json()
        # answered before the worker ran: queued, nothing to download yet
        assert (data["status"], data["progress"], data["rows_done"]) == ("queued", 0, 0)
        assert data["rows_total"] == 6 and data["title"] == "Energy report"
        assert data["query"] == "from=2026-10-24&to=2026-10-26&group_by=billing_point%2Cday"
        assert data["links"]["download"] is None and data["available_until"] is None
        assert created["Location"] == data["links"]["self"]
        assert data["links"]["self"].endswith(f"{EXPORTS}{data['id']}/")
    detail = writer.get(f"{EXPORTS}{data['id']}/").json()
    assert (detail["status"], detail["progress"], detail["rows_done"], detail["rows_total"],
            detail["error"]) == ("done", 100, 6, 6, "")
    finished = parse_datetime(detail["finished_at"])
    assert detail["finished_at"].endswith("Z")  # the API speaks UTC
    assert parse_datetime(detail["available_until"]) == finished + timedelta(
        days=settings.EXPORT_RETENTION_DAYS)
    assert detail["links"]["download"].endswith(f"{EXPORTS}{data['id']}/download/")
    download = writer.get(detail["links"]["download"])
    assert download.status_code == 200 and download["Content-Type"] == XLSX_TYPE
    assert 'filename="energy-report.xlsx"' in download["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(body_of(download))).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Billing point", "Day", "Quantity", "Unit")
    assert [(bp, day.date(), q, u) for bp, day, q, u in rows[1:]] == EXPECTED


def test_a_csv_export_of_one_table_from_a_query_string_reads_back(
        house, writer, django_capture_on_commit_callbacks):
    query = "?from=2026-10-24&to=2026-10-26&group_by=billing_point,day&format=pdf"
    with django_capture_on_commit_callbacks(execute=True):
        created = post_export(writer, query=query, format="csv", table="consumption")
    assert created.status_code == 202, created.content
    job = ExportJob.objects.get(public_id=created.json()["id"])
    assert (job.format, job.table, job.status) == ("csv", "consumption", "done")
    assert "format" not in job.query  # the file's parameters are the body's
    download = writer.get(f"{EXPORTS}{job.public_id}/download/", HTTP_ACCEPT="text/csv")
    assert download.status_code == 200
    assert download["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(body_of(download).decode())))
    assert [(r["Billing point"], r["Day"], Decimal(r["Quantity"]), r["Unit"]) for r in rows] == [
        (bp, day.isoformat(), Decimal(q), u) for bp, day, q, u in EXPECTED]
    assert sum(Decimal(r["Quantity"]) for r in rows if r["Unit"] == "kWh") == 146


def test_a_queued_job_is_polled_until_a_worker_runs_it(house, world_a, writer):
    created = post_export(writer, format="pdf")  # no commit in this test: no task sent
    job_id = created.json()["id"]
    poll = writer.get(f"{EXPORTS}{job_id}/").json()
    assert (poll["status"], poll["notice"], poll["links"]["download"]) == ("queued", "", None)
    early = writer.get(f"{EXPORTS}{job_id}/download/")
    assert early.status_code == 404
    error = early.json()["error"]
    assert error["code"] == "export_not_ready" and "queued (0 of 6 rows" in error["message"]
    job = ExportJob.objects.get(public_id=job_id)
    assert export_job_run(job_id=job.pk) is True
    done = writer.get(f"{EXPORTS}{job_id}/").json()
    assert (done["status"], done["rows_done"], done["progress"]) == ("done", 6, 100)
    pdf = writer.get(f"{EXPORTS}{job_id}/download/")
    assert pdf["Content-Type"] == "application/pdf" and body_of(pdf).startswith(b"%PDF")
    assert export_job_run(job_id=job.pk) is False  # a second delivery writes nothing


# --- bad input: 400 naming the field, nothing created ---------------------------------------


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"page": "/monitoring/nowhere/"}, "page", "No report page '/monitoring/nowhere/'"),
    ({"page": "/monitoring/exports/"}, "page", "exports"),
    ({"format": "docx"}, "format", "docx"),
    ({"format": None}, "format", ""),
    ({"query": {"from": "2026-10-31", "to": "2026-10-01"}}, "query", "to: "),
    ({"query": "from=2026-13-01&to=2026-10-31"}, "query", "from: "),
    ({"query": "group_by=week"}, "query", "'week'"),
    ({"query": ["from", "2026-10-01"]}, "query", "query string"),
    ({"query": {"from": {"day": 1}}}, "query", "Parameter 'from'"),
    ({"query": "x=" + "9" * 2000}, "query", "At most 2000 characters"),
    ({"table": "nope"}, "table", "No table 'nope'"),
])
def test_bad_input_is_a_400_naming_the_field_and_creates_nothing(
        house, world_a, writer, change, field, words):
    response = post_export(writer, **{"format": "xlsx", **change})
    assert response.status_code == 400, response.content
    fields = error_fields(response)
    assert list(fields) == [field], fields
    assert words in " ".join(fields[field])
    assert jobs(world_a) == 0


def test_a_missing_page_or_format_is_named(world_a, writer):
    response = writer.post(EXPORTS, {}, format="json")
    assert response.status_code == 400
    assert set(error_fields(response)) == {"page", "format"}
    assert jobs(world_a) == 0


# --- roles and organizations ----------------------------------------------------------------


def test_only_operators_and_write_keys_create_exports_and_everyone_reads_them(
        house, world_a, writer):
    read_key = api_client(key=world_a.read_key)
    viewer = api_client(user=world_a.viewer)
    for client in (read_key, viewer):
        response = post_export(client, format="csv")
        assert response.status_code == 403, response.content
    assert post_export(api_client(), format="csv").status_code == 401
    assert jobs(world_a) == 0
    operator = api_client(user=world_a.operator)
    created = post_export(operator, format="csv")
    assert created.status_code == 202
    job = ExportJob.objects.get()
    assert job.created_by == world_a.operator
    for client in (read_key, viewer):
        assert client.get(f"{EXPORTS}{job.public_id}/").status_code == 200
        assert client.get(EXPORTS).json()["count"] == 1


def test_another_organizations_job_is_a_404(house, world_a, world_b, writer,
                                            django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job_id = post_export(writer, format="csv").json()["id"]
    other = api_client(key=world_b.write_key)
    for url in (f"{EXPORTS}{job_id}/", f"{EXPORTS}{job_id}/download/"):
        response = other.get(url)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert other.get(EXPORTS).json()["count"] == 0
    assert writer.get(f"{EXPORTS}{job_id}/download/").status_code == 200


# --- idempotency ----------------------------------------------------------------------------


def test_the_same_idempotency_key_creates_one_job(house, world_a, writer):
    first = post_export(writer, key="exp-1", format="xlsx")
    assert first.status_code == 202
    # the same request (the query as a string this time: the same query) replays
    again = post_export(writer, key="exp-1", format="xlsx",
                        query="from=2026-10-24&to=2026-10-26&group_by=billing_point,day")
    assert again.status_code == 200 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert jobs(world_a) == 1
    other = post_export(writer, key="exp-1", format="pdf")
    assert other.status_code == 409
    error = other.json()["error"]
    assert error["code"] == "idempotency_key_reused" and "Idempotency-Key" in error["fields"]
    assert jobs(world_a) == 1
    too_long = post_export(writer, key="k" * 201, format="xlsx")
    assert too_long.status_code == 400 and "Idempotency-Key" in error_fields(too_long)
    assert post_export(writer, format="xlsx").status_code == 202  # no key: a new job
    assert jobs(world_a) == 2


def test_an_export_request_is_audited_with_the_api_key_or_the_member(house, world_a, writer):
    """Exports take data out: each request names who asked (the replay and the refusals
    above add nothing)."""
    from billspree.core.models import ApiKey, AuditEvent

    key = ApiKey.objects.get(prefix=world_a.write_key.split("_")[1])
    job = post_export(writer, key="exp-a", format="xlsx").json()
    assert post_export(writer, key="exp-a", format="xlsx").status_code == 200  # replay
    assert post_export(writer, format="docx").status_code == 400
    events = list(AuditEvent.objects.filter(action="export.request"))
    assert len(events) == 1
    event = events[0]
    assert event.api_key_id == key.pk and event.actor_id is None
    assert event.detail["export"] == job["id"] and event.detail["format"] == "xlsx"
    assert event.detail["page"] == PAGE and event.target == job["title"]
    member = api_client(user=world_a.admin)
    assert post_export(member, format="csv").status_code == 202
    by_member = AuditEvent.objects.filter(action="export.request").exclude(pk=event.pk).get()
    assert by_member.actor_id == world_a.admin.pk and by_member.api_key_id is None


# --- list ------------------------------------------------------------------------------------


def test_the_list_is_paginated_newest_first_and_filtered(house, world_a, writer):
    ids = [post_export(writer, format=fmt).json()["id"] for fmt in ("csv", "xlsx", "pdf")]
    ExportJob.objects.filter(public_id=ids[0]).update(status="failed", error="Broken.")
    page = writer.get(EXPORTS, {"page_size": 2}).json()
    assert page["count"] == 3 and page["next"]
    assert [j["id"] for j in page["results"]] == [ids[2], ids[1]]
    assert [j["id"] for j in writer.get(EXPORTS, {"status": "failed"}).json()["results"]] == [
        ids[0]]
    assert [j["id"] for j in writer.get(EXPORTS, {"file_format": "pdf"}).json()["results"]] == [
        ids[2]]
    assert writer.get(EXPORTS, {"status": "lost"}).status_code == 400
    assert writer.get(EXPORTS, {"ordering": "created_at"}).json()["results"][0]["id"] == ids[0]


# --- failed and expired jobs -----------------------------------------------------------------


def test_a_failed_or_expired_job_says_why_there_is_no_file(
        house, world_a, writer, django_capture_on_commit_callbacks, settings):
    settings.EXPORT_RETENTION_DAYS = 7
    with django_capture_on_commit_callbacks(execute=True):
        done_id = post_export(writer, format="csv").json()["id"]
    failed = ExportJob.objects.get(public_id=done_id)
    ExportJob.objects.filter(pk=failed.pk).update(status="failed", error="The disk is full.")
    response = writer.get(f"{EXPORTS}{done_id}/download/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "export_failed"
    assert "The disk is full." in response.json()["error"]["message"]
    assert writer.get(f"{EXPORTS}{done_id}/").json()["links"]["download"] is None

    ExportJob.objects.filter(pk=failed.pk).update(status="done", error="")
    assert writer.get(f"{EXPORTS}{done_id}/download/").status_code == 200
    # past available_until (the beat has not removed it yet): refused, with the reason
    old = timezone.now() - timedelta(days=7, hours=1)
    ExportJob.objects.filter(pk=failed.pk).update(finished_at=old)
    response = writer.get(f"{EXPORTS}{done_id}/download/")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "export_expired" and "kept 7 days" in error["message"]
    # the beat removes it and its file: a plain 404, like any unknown id
    assert export_jobs_expire() == 1
    for url in (f"{EXPORTS}{done_id}/", f"{EXPORTS}{done_id}/download/"):
        assert writer.get(url).status_code == 404


# --- scheduled reports -----------------------------------------------------------------------


def schedule(**extra) -> dict:
    return {"name": "Weekly water", "page": PAGE, "query": {"group_by": "billing_point"},
            "format": "pdf", "period": "previous", "frequency": "weekly", "weekday": 0,
            "hour": 6, "recipients": ["a@example.test", "b@example.test"], **extra}


def test_scheduled_report_crud_with_next_run(house, world_a):
    manager = api_client(user=world_a.manager)
    created = manager.post(SCHEDULES, schedule(), format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["recipients"] == ["a@example.test", "b@example.test"]
    assert (data["weekday"], data["day_of_month"], data["hour"]) == (0, None, 6)
    assert data["page_title"] == "Energy report" and data["query"] == "group_by=billing_point"
    next_run = parse_datetime(data["next_run_at"])
    # a Monday, 06:00 in Zurich, after now
    local = next_run.astimezone(world_a.org.time_zone)
    assert (local.weekday(), local.hour, local.minute) == (0, 6, 0)
    assert next_run > timezone.now() and data["next_run_at"].endswith("Z")
    report = ScheduledReport.objects.get()
    assert (report.created_by, report.recipients) == (
        world_a.manager, "a@example.test, b@example.test")

    url = f"{SCHEDULES}{data['id']}/"
    assert manager.get(url).json() == data
    assert manager.get(SCHEDULES).json()["results"] == [data]
    # monthly on the 31st: the month's last day when shorter; the rest stays as it was
    changed = manager.patch(url, {"frequency": "monthly", "day_of_month": 31}, format="json")
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert (body["frequency"], body["day_of_month"], body["weekday"], body["name"]) == (
        "monthly", 31, None, "Weekly water")
    local = parse_datetime(body["next_run_at"]).astimezone(world_a.org.time_zone)
    # the 31st, or the month's last day when it is shorter: always the last day
    assert local.hour == 6 and local.day == calendar.monthrange(local.year, local.month)[1]
    paused = manager.patch(url, {"active": False}, format="json").json()
    assert paused["active"] is False and paused["day_of_month"] == 31
    assert manager.get(SCHEDULES, {"active": "false"}).json()["count"] == 1
    assert manager.get(SCHEDULES, {"file_format": "xlsx"}).json()["count"] == 0
    assert manager.delete(url).status_code == 204
    assert not ScheduledReport.objects.exists()
    assert manager.get(url).status_code == 404


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"recipients": ["a@example.test", "not-an-email"]}, "recipients", "'not-an-email'"),
    ({"recipients": []}, "recipients", ""),
    ({"recipients": [f"r{n}@example.test" for n in range(21)]}, "recipients", "At most 20"),
    ({"frequency": "daily"}, "frequency", "daily"),
    ({"weekday": None}, "weekday", "weekday it is sent on"),
    ({"frequency": "monthly"}, "day_of_month", "day it is sent on"),
    ({"frequency": "monthly", "day_of_month": 32}, "day_of_month", "less than or equal to 31"),
    ({"hour": 24}, "hour", "less than or equal to 23"),
    ({"query": "group_by=week"}, "query", "'week'"),
    ({"query": {"from": "2026-10-31", "to": "2026-10-01"}, "period": "saved"}, "query", "to: "),
    ({"page": "/monitoring/exports/"}, "page", "No report page"),
    ({"format": "docx"}, "format", "docx"),
    ({"name": ""}, "name", ""),
])
def test_scheduled_reports_refuse_what_the_portal_form_refuses(
        house, world_a, change, field, words):
    response = api_client(user=world_a.manager).post(SCHEDULES, schedule(**change),
                                                     format="json")
    assert response.status_code == 400, response.content
    fields = error_fields(response)
    assert field in fields, fields
    assert words in " ".join(fields[field]), fields
    assert not ScheduledReport.objects.exists()


def test_a_bad_patch_changes_nothing(house, world_a):
    manager = api_client(key=world_a.write_key)
    data = manager.post(SCHEDULES, schedule(), format="json").json()
    url = f"{SCHEDULES}{data['id']}/"
    response = manager.patch(url, {"frequency": "monthly", "hour": 3}, format="json")
    assert response.status_code == 400
    assert "day_of_month" in error_fields(response)
    assert manager.get(url).json() == data
    assert manager.put(url, schedule(), format="json").status_code == 405


def test_scheduled_report_roles_and_organizations(house, world_a, world_b):
    manager = api_client(user=world_a.manager)
    data = manager.post(SCHEDULES, schedule(), format="json").json()
    url = f"{SCHEDULES}{data['id']}/"
    for client in (api_client(key=world_a.read_key), api_client(user=world_a.viewer),
                   api_client(user=world_a.operator)):
        assert client.get(url).status_code == 200
        assert client.post(SCHEDULES, schedule(name="Other"), format="json").status_code == 403
        assert client.patch(url, {"hour": 9}, format="json").status_code == 403
        assert client.delete(url).status_code == 403
    other = api_client(key=world_b.write_key)
    assert other.get(url).status_code == 404
    assert other.patch(url, {"hour": 9}, format="json").status_code == 404
    assert other.delete(url).status_code == 404
    assert other.get(SCHEDULES).json()["count"] == 0
    assert ScheduledReport.objects.get().hour == 6


def test_the_portal_form_and_the_api_store_the_same_report(house, world_a):
    """One rule set: what the portal stores from its form, the API stores from JSON."""
    portal = login_client(world_a.manager, world_a.org)
    response = portal.post("/monitoring/schedules/new/", {
        "name": "Weekly water", "page": PAGE, "query": "group_by=billing_point",
        "format": "pdf", "period": "previous", "frequency": "weekly", "weekday": "0",
        "day_of_month": "", "hour": "6", "recipients": "a@example.test\nb@example.test",
        "active": "on"})
    assert response.status_code == 302
    api = api_client(user=world_a.manager).post(SCHEDULES, schedule(), format="json")
    assert api.status_code == 201
    fields = ("name", "page", "query", "format", "period", "frequency", "weekday",
              "day_of_month", "hour", "recipients", "active", "next_run_at")
    first, second = ScheduledReport.objects.order_by("pk").values(*fields)
    assert first == second
    assert second["next_run_at"] > datetime(2026, 1, 1, tzinfo=UTC)


def test_the_lists_cost_the_same_queries_for_one_row_or_many(house, world_a, writer):
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert writer.get(url).status_code == 200
        return len(captured)

    post_export(writer, format="csv")
    writer.post(SCHEDULES, schedule(), format="json")
    one = queries(EXPORTS), queries(SCHEDULES)
    for n in range(4):
        post_export(writer, format="xlsx")
        writer.post(SCHEDULES, schedule(name=f"Report {n}"), format="json")
    assert (queries(EXPORTS), queries(SCHEDULES)) == one
