"""CSV import: separators, decimal comma, local dates, all-or-nothing with a full report."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from readings.models import Reading, Upload
from readings.services import upload_create, upload_error_csv
from tests.readings.helpers import make_meter

pytestmark = pytest.mark.django_db


def upload(world, content: bytes, django_capture_on_commit_callbacks, **kwargs) -> Upload:
    with django_capture_on_commit_callbacks(execute=True):
        created = upload_create(
            file=SimpleUploadedFile("readings.csv", content), actor=world.operator, **kwargs
        )
    created.refresh_from_db()
    return created


@pytest.fixture
def meters(in_org_a):
    make_meter("W-1", tz="Europe/Berlin", connected_at=datetime(2024, 1, 1, tzinfo=UTC))
    make_meter("W-2", tz="Europe/Berlin", connected_at=datetime(2024, 1, 1, tzinfo=UTC))


def values() -> list[tuple]:
    return list(
        Reading.objects.order_by("meter__serial_number", "read_at").values_list(
            "meter__serial_number", "read_at", "value"
        )
    )


def test_semicolon_and_decimal_comma_with_local_dates(
    in_org_a, meters, django_capture_on_commit_callbacks
):
    content = (
        b"meterNumber;readAt;value;quality\nW-1;2025-03-01;12,5;actual\nW-1;2025-04-01;20,25;\n"
    )
    result = upload(in_org_a, content, django_capture_on_commit_callbacks)
    assert result.status == "done" and result.created_count == 2
    assert values() == [
        ("W-1", datetime(2025, 2, 28, 23, tzinfo=UTC), Decimal("12.5")),
        ("W-1", datetime(2025, 3, 31, 22, tzinfo=UTC), Decimal("20.25")),  # CEST from 30 March
    ]


def test_comma_separated_iso_timestamps_and_bom(
    in_org_a, meters, django_capture_on_commit_callbacks
):
    content = "\ufeffmeterNumber,readAt,value\nW-2,2025-03-01T10:00:00+01:00,7.5\n".encode()
    result = upload(in_org_a, content, django_capture_on_commit_callbacks)
    assert result.status == "done"
    assert values() == [("W-2", datetime(2025, 3, 1, 9, tzinfo=UTC), Decimal("7.5"))]


def test_one_bad_row_rejects_the_file_and_reports_every_bad_row(
    in_org_a, meters, django_capture_on_commit_callbacks
):
    content = (
        b"meterNumber;readAt;value\n"
        b"W-1;2025-03-01;10\n"
        b"W-9;2025-03-01;10\n"
        b"W-1;2025-03-02;abc\n"
        b"W-2;01.03.25;5\n"
        b"W-2;2025-03-03;5\n"
    )
    before = Reading.objects.count()
    result = upload(in_org_a, content, django_capture_on_commit_callbacks)
    assert result.status == "rejected"
    assert Reading.objects.count() == before == 0
    assert result.created_count == 0 and result.error_count == 3
    assert [(e["line"], e["errors"][0][0]) for e in result.errors] == [
        (3, "meterNumber"),
        (4, "value"),
        (5, "readAt"),
    ]
    report = upload_error_csv(upload=result).decode().splitlines()
    assert report[0] == "line,meterNumber,column,reason"
    assert report[1].startswith("3,W-9,meterNumber,No meter with number 'W-9'")
    assert len(report) == 4


def test_partial_import_when_asked(in_org_a, meters, django_capture_on_commit_callbacks):
    content = b"meterNumber,readAt,value\nW-1,2025-03-01,10\nW-1,2025-03-02,-3\n"
    result = upload(in_org_a, content, django_capture_on_commit_callbacks, all_or_nothing=False)
    assert result.status == "done" and result.created_count == 1 and result.error_count == 1


def test_missing_column_is_a_clear_file_error(in_org_a, meters, django_capture_on_commit_callbacks):
    result = upload(
        in_org_a, b"meter,when,value\nW-1,2025-03-01,1\n", django_capture_on_commit_callbacks
    )
    assert result.status == "rejected"
    assert "missing column(s) meterNumber, readAt" in result.failure
    assert Reading.objects.count() == 0


def test_reupload_of_the_same_file_creates_nothing(
    in_org_a, meters, django_capture_on_commit_callbacks
):
    content = b"meterNumber,readAt,value\nW-1,2025-03-01,10\nW-1,2025-03-02,11\n"
    upload(in_org_a, content, django_capture_on_commit_callbacks)
    again = upload(in_org_a, content, django_capture_on_commit_callbacks)
    assert again.status == "done" and again.created_count == 0 and again.unchanged_count == 2
    assert Reading.objects.count() == 2


def test_not_a_csv_file(in_org_a):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        upload_create(file=SimpleUploadedFile("r.xlsx", b"PK"), actor=in_org_a.operator)
    assert "file" in exc.value.message_dict


def test_many_bad_rows_are_all_in_the_report_and_the_first_on_the_page(
    in_org_a, meters, django_capture_on_commit_callbacks
):
    lines = ["meterNumber,readAt,value"] + [
        f"W-1,2025-03-01T00:{m:02d}:00Z,x{m}" for m in range(60)
    ]
    lines += [f"NOPE-{i},2025-03-02,1" for i in range(390)]
    result = upload(in_org_a, "\n".join(lines).encode(), django_capture_on_commit_callbacks)
    assert result.status == "rejected" and result.error_count == 450
    assert len(result.errors) == 200 and result.errors[0]["line"] == 2
    report = upload_error_csv(upload=result).decode().splitlines()
    assert len(report) == 451 and report[-1].startswith("451,NOPE-389,meterNumber")
    assert Reading.objects.count() == 0
