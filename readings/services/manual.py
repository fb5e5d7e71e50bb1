"""Readings typed in the portal, and the review of anomalous readings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billspree.core.errors import Conflict
from billspree.core.services import audit_record
from meters.models import Meter
from readings.ingest_state import RowResult
from readings.models import Reading, ReadingAnomaly, Source
from readings.parsing import RowIn
from readings.services.ingestion import reading_ingest
from readings.services.uploads import upload_finish, upload_open


def reading_enter(
    *,
    meter: Meter,
    read_at: datetime,
    value: Decimal | str,
    actor: AbstractBaseUser,
    replace: bool = False,
) -> RowResult:
    """One reading typed in the portal; the same rules as every other path."""
    with transaction.atomic():
        upload = upload_open(
            source=Source.MANUAL, actor=actor, replace=replace, all_or_nothing=True, rows_total=1
        )
        row = RowIn(line=1, meter_number=meter.serial_number, read_at=read_at, value=value)
        outcome = reading_ingest(
            rows=[row], source=Source.MANUAL, upload=upload, replace=replace, all_or_nothing=True
        )
        upload_finish(upload, outcome)
    result = outcome.results[0]
    if result.status == "rejected":
        raise ValidationError({_FORM_FIELDS.get(c, c): [m] for c, m in result.errors})
    result.impacts = outcome.impacts
    return result


_FORM_FIELDS = {"readAt": "read_at", "value": "value", "meterNumber": "meter"}


@transaction.atomic
def anomaly_review(
    *,
    anomaly: ReadingAnomaly,
    action: str,
    actor: AbstractBaseUser,
    value: Decimal | str | None = None,
    note: str = "",
) -> ReadingAnomaly:
    """Confirm an anomalous reading as real, or correct its value (a replace, audited)."""
    if anomaly.status != ReadingAnomaly.Status.OPEN:
        raise Conflict("This anomaly was already reviewed.")
    if action == "correct":
        if value in (None, ""):
            raise ValidationError({"value": ["Give the corrected register value."]})
        meter = Meter.objects.get(pk=anomaly.meter_id)
        reading_enter(meter=meter, read_at=anomaly.read_at, value=value, actor=actor, replace=True)
        anomaly.status = ReadingAnomaly.Status.CORRECTED
    elif action == "confirm":
        anomaly.status = ReadingAnomaly.Status.CONFIRMED
    else:
        raise ValidationError({"action": ["Use confirm or correct."]})
    Reading.objects.filter(meter_id=anomaly.meter_id, read_at=anomaly.read_at).update(
        is_anomaly=False
    )
    anomaly.reviewed_by, anomaly.reviewed_at, anomaly.note = actor, timezone.now(), note[:200]
    anomaly.save()
    audit_record(action=f"readings.anomaly.{action}", actor=actor, target=str(anomaly)[:200])
    return anomaly
