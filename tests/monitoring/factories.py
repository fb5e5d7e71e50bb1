"""Rows of monitoring for the isolation walk: an export job (done, with a file) and a
scheduled report, each carrying the organization's marker."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.files.base import ContentFile

from monitoring.models import ExportJob, ScheduledReport
from tests.factories import OrgWorld


def populate(world: OrgWorld) -> None:
    marker = world.marker
    job = ExportJob(title=f"Energy report {marker}", page="/monitoring/reports/energy/",
                    query="from=2026-01-01&to=2026-01-31", format="csv",
                    status=ExportJob.Status.DONE, rows_done=1, rows_total=1,
                    filename=f"energy-{marker.lower()}.csv", created_by=world.admin)
    job.file.save("export.csv", ContentFile(f"Property\n{marker}\n".encode()), save=False)
    job.save()
    world.objects["export_job"] = job
    world.objects["scheduled_report"] = ScheduledReport.objects.create(
        name=f"Monthly energy {marker}", page="/monitoring/reports/energy/",
        query="group_by=property,month", format="xlsx",
        recipients=f"owner-{marker.lower()}@example.test", frequency="monthly",
        day_of_month=1, next_run_at=datetime(2027, 1, 1, 6, tzinfo=UTC),
        created_by=world.admin)
