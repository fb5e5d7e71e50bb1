"""Bulk import of an installer's meter list: all rows or none."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from meters.imports import MeterRow, RowError, parse_meter_csv
from meters.models import Meter
from meters.services.common import Actor

# --- CSV import of an installer's meter list -------------------------------------------


class MeterImportRejected(ValidationError):
    """The whole file was refused; ``errors`` lists every bad row (line, column, reason)."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__({"file": [str(e) for e in errors]})


def _cross_row_errors(rows: list[MeterRow]) -> list[RowError]:
    """Duplicates in the file or in the organization, and unknown or mismatched parents."""
    errors: list[RowError] = []
    serials = [r.values["serial_number"] for r in rows if r.values["serial_number"]]
    existing = {
        m.serial_number: m.type
        for m in Meter.objects.filter(
            serial_number__in={*serials, *(r.parent_serial for r in rows)}
        )
    }
    first_line: dict[str, int] = {}
    for row in rows:
        serial = row.values["serial_number"]
        if serial in existing:
            errors.append(RowError(row.line, "serial_number", f"meter {serial} exists already"))
        elif serial and serial in first_line:
            errors.append(
                RowError(
                    row.line, "serial_number", f"{serial} is also on line {first_line[serial]}"
                )
            )
        first_line.setdefault(serial, row.line)
    types = {**existing, **{r.values["serial_number"]: r.values["type"] for r in rows}}
    for row in rows:
        errors += _parent_errors(row, types)
    return errors


def _parent_errors(row: MeterRow, types: dict[str, str | None]) -> list[RowError]:
    parent = row.parent_serial
    if not parent:
        return []
    if parent == row.values["serial_number"]:
        return [RowError(row.line, "parent", "a meter cannot be its own parent")]
    if parent not in types:
        return [RowError(row.line, "parent", f"no meter {parent} in the file or the organization")]
    if row.values["type"] and types[parent] and types[parent] != row.values["type"]:
        return [RowError(row.line, "parent", f"main meter {parent} measures another type")]
    return []


@transaction.atomic
def meter_import_csv(*, content: bytes | str, actor: Actor = None) -> list[Meter]:
    """Create every meter of the file, or none: a bad row rejects the whole file, and the
    report names each bad row so the installer can fix the list in one go."""
    rows, errors = parse_meter_csv(content)
    if rows:  # header fine: duplicates and parents are reported alongside row errors
        errors += _cross_row_errors(rows)
    if errors:
        raise MeterImportRejected(sorted(errors, key=lambda e: (e.line, e.column)))
    org = require_organization()
    try:
        with transaction.atomic():
            created = Meter.objects.bulk_create([Meter(organization=org, **r.values) for r in rows])
    except IntegrityError as exc:  # a concurrent import of the same serials
        raise MeterImportRejected(
            [
                RowError(
                    0, "serial_number", "a meter of this file was created meanwhile; import again"
                )
            ]
        ) from exc
    _link_parents(rows, created)
    audit_record(
        action="meters.meter.import",
        actor=actor,
        target=f"{len(created)} meters",
        detail={"serials": [m.serial_number for m in created][:50]},
    )
    return created


def _link_parents(rows: list[MeterRow], created: list[Meter]) -> None:
    wanted = {r.parent_serial for r in rows if r.parent_serial}
    if not wanted:
        return
    by_serial = {m.serial_number: m for m in Meter.objects.filter(serial_number__in=wanted)}
    linked = []
    for row, meter in zip(rows, created, strict=True):
        if row.parent_serial:
            meter.parent = by_serial[row.parent_serial]
            linked.append(meter)
    Meter.objects.bulk_update(linked, ["parent"])
