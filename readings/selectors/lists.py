"""Lists of readings, anomalies and uploads, the previous and last readings, and the
upload template.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import datetime, time, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from billspree.core import csv_export
from meters.models import Meter, MeterAssignment
from readings.models import (
    Reading,
    ReadingAnomaly,
    Upload,
)
from readings.parsing import COLUMNS, local_example


def previous_reading(*, meter: Meter, before: datetime) -> Reading | None:
    return Reading.objects.filter(meter=meter, read_at__lt=before).order_by("-read_at").first()


def last_readings(*, meters: Iterable[Meter], at: datetime) -> dict[int, Reading]:
    """Each meter's latest reading at or before ``at`` (meter id → reading), for the few
    meters of one billing point: one index lookup each (primary key (meter, read_at))."""
    found = {}
    for meter in meters:
        reading = (
            Reading.objects.filter(meter=meter, read_at__lte=at).order_by("-read_at").first()
        )
        if reading is not None:
            found[meter.pk] = reading
    return found


def upload_template_csv(*, default_tz: tzinfo, now: datetime) -> str:
    """The CSV template of uploads: the header and one example row, with the organization's
    first installed meter (by serial number), today's local midnight in its property's date
    form, and its latest value (so importing the example as is changes no consumption)."""
    assignment = (
        MeterAssignment.objects.filter(removed_at__isnull=True)
        .select_related("meter", "billing_point__property")
        .order_by("meter__serial_number").first()
    )
    serial, tz, value = "E-1001", default_tz, None
    if assignment is not None:
        serial = assignment.meter.serial_number
        tz = ZoneInfo(str(assignment.billing_point.property.time_zone))
        value = (
            Reading.objects.filter(meter=assignment.meter).order_by("-read_at")
            .values_list("value", flat=True).first()
        )
    midnight = datetime.combine(now.astimezone(tz).date(), time(), tzinfo=tz)
    buffer = io.StringIO()
    writer = csv_export.writer(buffer)
    writer.writerow(COLUMNS)
    writer.writerow([serial, local_example(midnight), value or Decimal("12345.6"), "actual"])
    return buffer.getvalue()


def readings_for_meter(*, meter: Meter, start: datetime | None = None, end: datetime | None = None):
    """Readings of a meter, newest first, in [start, end): the primary key's range scan."""
    qs = Reading.objects.filter(meter=meter)
    if start is not None:
        qs = qs.filter(read_at__gte=start)
    if end is not None:
        qs = qs.filter(read_at__lt=end)
    return qs.order_by("-read_at")


def open_anomalies() -> QuerySet[ReadingAnomaly]:
    return ReadingAnomaly.objects.filter(status=ReadingAnomaly.Status.OPEN).select_related("meter")


def recent_uploads(*, source: str | None = None) -> QuerySet[Upload]:
    """Newest first; gateway polls create one every cycle, so pages usually pick a source."""
    qs = Upload.objects.select_related("created_by", "api_key").order_by("-created_at")
    return qs.filter(source=source) if source else qs
