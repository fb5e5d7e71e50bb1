"""The services that own an upload row for other apps: ``upload_open`` and ``upload_close``
(a gateway poll's upload, a move's readings), against the real database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from billspree.core.models import ApiKey
from billspree.core.scoping import organization_context
from readings.models import Reading, Source, Upload
from readings.services import reading_ingest_snapshot, upload_close, upload_open
from tests.readings.helpers import T0, make_meter

pytestmark = pytest.mark.django_db

LATER = datetime(2025, 6, 1, tzinfo=UTC)


def test_open_records_the_delivery_as_processing(in_org_a):
    upload = upload_open(
        source=Source.GATEWAY, note="Poll of Main at 2025-01-01 00:00:00 UTC",
        all_or_nothing=False,
    )
    row = Upload.objects.get(pk=upload.pk)
    assert row.organization_id == in_org_a.org.pk
    assert (row.source, row.status, row.all_or_nothing, row.rows_total) == (
        "gateway", "processing", False, 0
    )
    assert row.note == "Poll of Main at 2025-01-01 00:00:00 UTC"
    assert row.created_by is None and row.api_key is None and row.finished_at is None


def test_open_keeps_the_person_but_not_with_an_api_key(in_org_a):
    by_person = upload_open(source=Source.MANUAL, actor=in_org_a.manager, rows_total=2)
    assert (by_person.created_by, by_person.rows_total) == (in_org_a.manager, 2)
    key = ApiKey.objects.first()
    by_key = upload_open(source=Source.MANUAL, actor=in_org_a.manager, api_key=key)
    assert (by_key.created_by, by_key.api_key) == (None, key)


def test_open_cuts_a_long_note_to_the_column(in_org_a):
    upload = upload_open(source=Source.GATEWAY, note="x" * 500)
    assert len(Upload.objects.get(pk=upload.pk).note) == 200


def test_open_refuses_an_unknown_source_or_negative_rows_and_writes_nothing(in_org_a):
    with pytest.raises(ValidationError) as caught:
        upload_open(source="telepathy")
    assert "source" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        upload_open(source=Source.MANUAL, rows_total=-1)
    assert "rows_total" in caught.value.message_dict
    assert not Upload.objects.exists()


def test_close_records_the_counts_and_repeating_it_changes_nothing(in_org_a):
    meter = make_meter()
    upload = upload_open(source=Source.GATEWAY, all_or_nothing=False)
    result = reading_ingest_snapshot(
        rows=[(meter.pk, meter.serial_number, "10")], read_at=T0.replace(day=2),
        source=Source.GATEWAY, upload=upload, now=LATER,
    )
    assert Reading.objects.get().upload_id == upload.pk
    assert upload_close(upload=upload, rows=result.rows, created=1, unchanged=0) == 1
    row = Upload.objects.get(pk=upload.pk)
    first = (row.status, row.rows_total, row.rows_done, row.created_count, row.unchanged_count,
             row.anomaly_count, row.error_count)
    assert first == ("done", 1, 1, 1, 0, 0, 0)
    finished = row.finished_at
    assert finished is not None
    assert upload_close(upload=upload, rows=1, created=1, now=finished) == 1
    row.refresh_from_db()
    assert (row.status, row.rows_total, row.rows_done, row.created_count, row.unchanged_count,
            row.anomaly_count, row.error_count) == first
    assert row.finished_at == finished
    assert Upload.objects.count() == 1


def test_close_refuses_negative_counts_and_changes_nothing(in_org_a):
    upload = upload_open(source=Source.GATEWAY)
    with pytest.raises(ValidationError) as caught:
        upload_close(upload=upload, rows=3, created=-1, errors=-2)
    assert set(caught.value.message_dict) == {"created", "errors"}
    row = Upload.objects.get(pk=upload.pk)
    assert (row.status, row.rows_total, row.finished_at) == ("processing", 0, None)


def test_close_of_an_upload_that_is_gone_or_of_another_organization_changes_nothing(
    in_org_a, world_b
):
    upload = upload_open(source=Source.GATEWAY)
    with organization_context(world_b.org):
        assert upload_close(upload=upload, rows=5, created=5) == 0
    assert Upload.objects.get(pk=upload.pk).status == "processing"
    Upload.objects.filter(pk=upload.pk).delete()
    assert upload_close(upload=upload, rows=5, created=5) == 0  # rolled back: nothing to close


def _csv_upload(world) -> Upload:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from readings.services import upload_create

    file = SimpleUploadedFile("r.csv", b"meterNumber,readAt,value\nE-1,2025-01-02T00:00:00Z,1\n")
    return upload_create(file=file, actor=world.manager)


def test_claim_then_release_hands_the_upload_back_for_the_retry(
    in_org_a, django_capture_on_commit_callbacks
):
    from readings.services import upload_claim, upload_release

    with django_capture_on_commit_callbacks(execute=False):  # no worker: the test claims
        upload = _csv_upload(in_org_a)
    assert upload_claim(upload_id=upload.pk) is True
    assert upload_claim(upload_id=upload.pk) is False  # a second worker gets nothing
    assert Upload.objects.get(pk=upload.pk).status == "processing"
    assert upload_release(upload_id=upload.pk) is True
    assert upload_release(upload_id=upload.pk) is True  # again: still pending, nothing else
    row = Upload.objects.get(pk=upload.pk)
    assert (row.status, row.created_count, row.finished_at) == ("pending", 0, None)
    assert upload_claim(upload_id=upload.pk) is True  # the retry claims it again


def test_release_of_an_unknown_or_foreign_upload_changes_nothing(
    in_org_a, world_b, django_capture_on_commit_callbacks
):
    from readings.services import upload_claim, upload_release

    with django_capture_on_commit_callbacks(execute=False):
        upload = _csv_upload(in_org_a)
    upload_claim(upload_id=upload.pk)
    assert upload_release(upload_id=upload.pk + 10_000) is False
    with organization_context(world_b.org):
        assert upload_release(upload_id=upload.pk) is False
    assert Upload.objects.get(pk=upload.pk).status == "processing"
