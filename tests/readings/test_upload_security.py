"""Readings uploads (issue 14): private storage with random names, scoped downloads, the
size limit, imports that always end (never "pending" for ever), the stuck-upload sweeper,
and formula-safe error reports."""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from billspree.core.files import move_field_files, uploads_storage
from billspree.core.scoping import organization_context
from readings import services
from readings.models import Reading, Upload
from readings.tasks import upload_process_task
from tests.conftest import api_client, login_client
from tests.readings.helpers import make_meter

pytestmark = pytest.mark.django_db

GOOD = b"meterNumber;readAt;value\nS-1;2025-03-01;10\nS-1;2025-04-01;20\n"
RANDOM_NAME = re.compile(r"readings/uploads/\d{4}/\d{2}/[0-9a-f]{32}\.csv")


@pytest.fixture
def meter(world_a):
    with organization_context(world_a.org):
        return make_meter("S-1", connected_at=datetime(2025, 1, 1, tzinfo=UTC))


def _files() -> set[str]:
    """Every file in the uploads storage (a folder on disk in tests)."""
    root = Path(uploads_storage().location)
    return {str(p) for p in root.rglob("*") if p.is_file()}


def _portal_upload(client, content: bytes, name: str, capture, **data):
    with capture(execute=True):
        return client.post(
            "/readings/upload/",
            {"file": SimpleUploadedFile(name, content), "all_or_nothing": "on", **data},
        )


def _api_upload(client, content: bytes, name: str, capture):
    with capture(execute=True):
        return client.post(
            "/api/v1/readings/uploads/", {"file": SimpleUploadedFile(name, content)},
            format="multipart",
        )


def _readings(world) -> int:
    return Reading.objects.unscoped().filter(organization=world.org).count()


# --- private storage, random names, scoped downloads ---------------------------------------


def test_upload_is_private_with_a_random_name_and_served_only_to_its_organization(
    world_a, world_b, meter, django_capture_on_commit_callbacks
):
    client = login_client(world_a.operator, world_a.org)
    response = _portal_upload(client, GOOD, "meter-export-march.csv",
                              django_capture_on_commit_callbacks)
    assert response.status_code == 302
    upload = Upload.objects.unscoped().get(filename="meter-export-march.csv")
    assert upload.status == "done"
    # stored under a random name in the private storage, nowhere under MEDIA_ROOT
    assert RANDOM_NAME.fullmatch(upload.file.name), upload.file.name
    path = Path(uploads_storage().path(upload.file.name))
    assert path.read_bytes() == GOOD
    assert not str(path).startswith(str(settings.MEDIA_ROOT))
    assert Upload._meta.get_field("file")._storage_callable is uploads_storage

    # the portal page links the file through the scoped view, which streams it
    detail = client.get(f"/readings/uploads/{upload.public_id}/")
    link = f"/readings/uploads/{upload.public_id}/file"
    assert link.encode() in detail.content
    sent = client.get(link)
    assert sent.status_code == 200 and sent["Content-Type"] == "text/csv"
    assert b"".join(sent.streaming_content) == GOOD
    assert "meter-export-march.csv" in sent["Content-Disposition"]
    assert sent["X-Content-Type-Options"] == "nosniff"

    # another organization: 404, exactly like a random id, in the portal and the API
    other = login_client(world_b.admin, world_b.org)
    assert other.get(link).status_code == 404
    assert other.get(f"/readings/uploads/{upload.public_id}/errors.csv").status_code == 404
    api_path = f"/api/v1/readings/uploads/{upload.public_id}/file/"
    mine = api_client(key=world_a.read_key).get(api_path)
    assert mine.status_code == 200 and b"".join(mine.streaming_content) == GOOD
    assert api_client(key=world_b.read_key).get(api_path).status_code == 404
    # and there is no public route to the storage at all
    assert client.get(f"/media/{upload.file.name}").status_code == 404


def test_error_report_is_private_and_random(world_a, meter, django_capture_on_commit_callbacks):
    client = login_client(world_a.operator, world_a.org)
    content = b"meterNumber;readAt;value\nS-1;2025-03-01;oops\n"
    _portal_upload(client, content, "bad.csv", django_capture_on_commit_callbacks)
    upload = Upload.objects.unscoped().get(filename="bad.csv")
    assert upload.status == "rejected" and upload.error_report
    assert re.fullmatch(r"readings/reports/\d{4}/\d{2}/[0-9a-f]{32}\.csv", upload.error_report.name)
    assert Upload._meta.get_field("error_report")._storage_callable is uploads_storage
    report = client.get(f"/readings/uploads/{upload.public_id}/errors.csv")
    assert report.status_code == 200 and b"Not a number" in report.content


def test_files_of_older_releases_are_moved_into_the_private_storage(
    world_a, meter, django_capture_on_commit_callbacks
):
    """What migration readings 0005 does: a CSV and report kept in MEDIA_ROOT under their
    original names move to the private storage under random names and keep working."""
    client = login_client(world_a.operator, world_a.org)
    _portal_upload(client, GOOD, "old.csv", django_capture_on_commit_callbacks)
    upload = Upload.objects.unscoped().get(filename="old.csv")
    legacy = storages["default"]
    old_file = legacy.save("readings/uploads/2024/05/old.csv", ContentFile(GOOD))
    old_report = legacy.save("readings/reports/2024/05/errors-x.csv",
                             ContentFile(b"line,meterNumber,column,reason\n2,S-1,value,=bad\n"))
    Upload.objects.unscoped().filter(pk=upload.pk).update(file=old_file, error_report=old_report)

    rows = Upload.objects.unscoped().filter(pk=upload.pk)
    assert move_field_files(rows, "file", "readings/uploads", extensions=(".csv",)) == 1
    assert move_field_files(rows, "error_report", "readings/reports", extensions=(".csv",)) == 1
    assert move_field_files(rows, "file", "readings/uploads", extensions=(".csv",)) == 0  # again
    upload.refresh_from_db()
    assert RANDOM_NAME.fullmatch(upload.file.name)
    assert not legacy.exists(old_file) and not legacy.exists(old_report)
    sent = client.get(f"/readings/uploads/{upload.public_id}/file")
    assert b"".join(sent.streaming_content) == GOOD
    report = client.get(f"/readings/uploads/{upload.public_id}/errors.csv").content.decode()
    assert "'=bad" in report  # an old report is neutralised on the way out


# --- size limit ------------------------------------------------------------------------------


def test_portal_upload_over_the_limit_is_refused_and_leaves_nothing(
    world_a, meter, settings, django_capture_on_commit_callbacks
):
    settings.UPLOAD_MAX_BYTES = 1000
    client = login_client(world_a.operator, world_a.org)
    big = b"meterNumber;readAt;value\n" + b"S-1;2025-03-01;10\n" * 200  # 3,625 bytes
    uploads, files = Upload.objects.unscoped().count(), _files()
    response = _portal_upload(client, big, "big.csv", django_capture_on_commit_callbacks)
    assert response.status_code == 400
    text = response.content.decode()
    assert "the largest file accepted is 1 kB" in text and "3.6 kB" in text
    assert Upload.objects.unscoped().count() == uploads and _files() == files
    assert _readings(world_a) == 0


def test_api_upload_over_the_limit_is_refused_and_leaves_nothing(
    world_a, meter, settings, django_capture_on_commit_callbacks
):
    settings.UPLOAD_MAX_BYTES = 1000
    big = b"meterNumber;readAt;value\n" + b"S-1;2025-03-01;10\n" * 200
    uploads, files = Upload.objects.unscoped().count(), _files()
    response = _api_upload(api_client(key=world_a.write_key), big, "big.csv",
                           django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"] == [
        "The file is 3.6 kB; the largest file accepted is 1 kB."
    ]
    assert Upload.objects.unscoped().count() == uploads and _files() == files
    # a file within the limit still goes through
    small = _api_upload(api_client(key=world_a.write_key), GOOD, "ok.csv",
                        django_capture_on_commit_callbacks)
    assert small.status_code == 202 and _readings(world_a) == 2


def test_upload_limit_defaults_to_50_mb():
    assert settings.UPLOAD_MAX_BYTES == 50_000_000
    from billspree.core.files import upload_limit_message

    assert upload_limit_message(60_000_000) == (
        "The file is 60 MB; the largest file accepted is 50 MB."
    )
    assert settings.FILE_UPLOAD_HANDLERS[0] == "billspree.core.files.SizeLimitUploadHandler"


# --- imports always end; row-level problems are row errors -----------------------------------


def _import(world, content: bytes, capture, **kwargs) -> Upload:
    with organization_context(world.org), capture(execute=True):
        upload = services.upload_create(
            file=SimpleUploadedFile("r.csv", content), actor=world.operator, **kwargs
        )
    upload.refresh_from_db()
    return upload


def test_nul_in_a_cell_is_a_row_error_not_a_stuck_upload(
    world_a, meter, django_capture_on_commit_callbacks
):
    content = (b"meterNumber;readAt;value\nS-1;2025-03-01;10\n"
               b"S-\x001;2025-03-02;11\nS-1;2025-03-03;1\x002\n")
    upload = _import(world_a, content, django_capture_on_commit_callbacks)
    assert upload.status == "rejected", upload.failure
    assert [(e["line"], e["errors"][0][0]) for e in upload.errors] == [
        (3, "meterNumber"), (4, "value"),
    ]
    assert "NUL character" in upload.errors[0]["errors"][0][1]
    assert _readings(world_a) == 0  # all or nothing
    report = services.upload_error_csv(upload=upload).decode()
    assert "3,S-\u24001,meterNumber,Contains a NUL character" in report
    # without all-or-nothing the good row is imported and the bad ones reported
    partial = _import(world_a, content, django_capture_on_commit_callbacks,
                      all_or_nothing=False)
    assert partial.status == "done" and partial.created_count == 1
    assert partial.error_count == 2


def test_year_1_date_is_a_row_error_with_the_allowed_range(
    world_a, meter, django_capture_on_commit_callbacks
):
    content = (b"meterNumber;readAt;value\nS-1;2025-03-01;10\nS-1;0001-01-01;11\n"
               b"S-1;9999-12-31T23:00:00+00:00;12\n")
    upload = _import(world_a, content, django_capture_on_commit_callbacks)
    assert upload.status == "rejected", upload.failure
    assert [(e["line"], e["errors"]) for e in upload.errors] == [
        (3, [["readAt", "0001-01-01 is out of range. "
                        "Dates must be between 1900-01-01 and 2199-12-31."]]),
        (4, [["readAt", "9999-12-31 is out of range. "
                        "Dates must be between 1900-01-01 and 2199-12-31."]]),
    ]
    assert _readings(world_a) == 0


def test_cell_over_the_csv_field_limit_ends_the_upload_with_the_line(
    world_a, meter, django_capture_on_commit_callbacks
):
    huge = b"x" * (csv.field_size_limit() + 10)
    content = b"meterNumber;readAt;value\nS-1;2025-03-01;10\nS-1;2025-03-02;" + huge + b"\n"
    upload = _import(world_a, content, django_capture_on_commit_callbacks,
                     all_or_nothing=False)
    assert upload.status == "rejected" and upload.finished_at is not None
    assert upload.failure.startswith("Line 3: a cell is longer than 131,072 characters")
    assert _readings(world_a) == 0  # not half-imported, even without all-or-nothing


def test_any_crash_ends_the_upload_as_failed_with_nothing_stored(
    world_a, meter, django_capture_on_commit_callbacks
):
    """The stored file disappeared (or anything else broke the task): the upload is failed
    with the reason at once, not handed back as "pending" for ever."""
    with organization_context(world_a.org):
        upload = services.upload_create(file=SimpleUploadedFile("r.csv", GOOD),
                                        actor=world_a.operator)  # task not run yet
    os.remove(uploads_storage().path(upload.file.name))
    assert upload_process_task.apply(args=[upload.pk]).get() == "failed"
    upload.refresh_from_db()
    assert upload.status == "failed" and upload.finished_at is not None
    assert "unexpected error (FileNotFoundError)" in upload.failure
    assert upload.errors[0]["errors"][0][0] == "file"
    assert _readings(world_a) == 0


# --- the sweeper -----------------------------------------------------------------------------


def test_sweeper_fails_uploads_stuck_longer_than_the_setting(world_a, world_b, settings):
    from readings.tasks import uploads_sweep

    settings.UPLOAD_STUCK_AFTER_MINUTES = 30
    now = timezone.now()

    def make(world, status, minutes_ago):
        with organization_context(world.org):
            u = Upload.objects.create(source="upload", status=status, filename=f"{status}.csv")
        Upload.objects.unscoped().filter(pk=u.pk).update(
            created_at=now - timedelta(minutes=minutes_ago))
        return u

    stuck_pending = make(world_a, "pending", 45)
    stuck_processing = make(world_b, "processing", 31)
    recent = make(world_a, "pending", 5)
    done = make(world_a, "done", 600)
    assert uploads_sweep.apply().get() == 2
    states = dict(Upload.objects.unscoped().values_list("pk", "status"))
    assert states[stuck_pending.pk] == states[stuck_processing.pk] == "failed"
    assert states[recent.pk] == "pending" and states[done.pk] == "done"
    swept = Upload.objects.unscoped().get(pk=stuck_pending.pk)
    assert "did not finish within 30 minutes" in swept.failure and swept.finished_at
    assert uploads_sweep.apply().get() == 0


def test_sweeper_is_scheduled_with_beat():
    from readings.tasks import uploads_sweep

    entry = settings.CELERY_BEAT_SCHEDULE["readings-uploads-sweep"]
    assert entry["task"] == "readings.tasks.uploads_sweep" == uploads_sweep.name
    assert entry["schedule"] <= 600
    assert settings.UPLOAD_STUCK_AFTER_MINUTES == 30


# --- formula injection ----------------------------------------------------------------------


def test_error_report_neutralises_formulas(world_a, meter, django_capture_on_commit_callbacks):
    content = (
        b"meterNumber;readAt;value\n"
        b"=HYPERLINK(\"http://evil.test\");2025-03-01;10\n"
        b"+cmd|' /C calc'!A0;2025-03-01;10\n"
        b"@SUM(A1);2025-03-01;10\n"
        b"-2+3;2025-03-01;10\n"
        b"S-1;2025-03-01;=1+2\n"
    )
    upload = _import(world_a, content, django_capture_on_commit_callbacks)
    client = login_client(world_a.operator, world_a.org)
    for url in (f"/readings/uploads/{upload.public_id}/errors.csv",):
        rows = list(csv.reader(io.StringIO(client.get(url).content.decode())))
        cells = [c for row in rows[1:] for c in row]
        assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
        assert "'=HYPERLINK(\"http://evil.test\")" in cells and "'-2+3" in cells
        assert "'+cmd|' /C calc'!A0" in cells and "'@SUM(A1)" in cells
        assert "2" in cells  # line numbers stay numbers
    api = api_client(key=world_a.read_key).get(
        f"/api/v1/readings/uploads/{upload.public_id}/errors.csv/")
    assert "'=HYPERLINK" in api.content.decode()


def test_the_upload_handler_keeps_an_oversize_file_off_the_disk(settings):
    """Over the limit, the bytes stop at the first handler: the request carries a stand-in
    with the size received and no content (no temporary file of gigabytes)."""
    from django.test import RequestFactory

    from billspree.core.files import OversizeUploadedFile

    settings.UPLOAD_MAX_BYTES = 100_000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10_000  # beyond it Django would write a temp file
    big = b"x" * 300_000
    request = RequestFactory().post("/readings/upload/",
                                    {"file": SimpleUploadedFile("big.csv", big), "note": "n"})
    received = request.FILES["file"]
    assert isinstance(received, OversizeUploadedFile)
    assert received.size == len(big) and received.read() == b""
    assert request.POST["note"] == "n"  # the rest of the form is still read
    small = RequestFactory().post("/readings/upload/",
                                  {"file": SimpleUploadedFile("s.csv", b"a" * 50_000)})
    assert small.FILES["file"].read() == b"a" * 50_000


def test_control_characters_in_the_sent_file_name_are_dropped(
    world_a, meter, django_capture_on_commit_callbacks
):
    with organization_context(world_a.org), django_capture_on_commit_callbacks(execute=True):
        upload = services.upload_create(
            file=SimpleUploadedFile("march\x00\r\n.csv", GOOD), actor=world_a.operator
        )
    upload.refresh_from_db()
    assert upload.filename == "march.csv" and upload.status == "done"
