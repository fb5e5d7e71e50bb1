"""State changes of the meter registry (the only place that writes its tables).

Split by subject: :mod:`.registry` (properties, billing points, meters),
:mod:`.assignments` (assign, remove, replace, new connection; checked in Python for
clear messages and by the database's constraints under concurrency), :mod:`.csv_import`
(the installer's meter list, all or nothing). Callers use ``from meters import services``.
"""

from meters.services.assignments import (
    NewMeter,
    billing_point_create_with_meters,
    meter_assign,
    meter_assignment_record,
    meter_remove,
    meter_replace,
)
from meters.services.common import to_instant, to_register
from meters.services.csv_import import MeterImportRejected, meter_import_csv
from meters.services.registry import (
    billing_point_create,
    billing_point_delete,
    billing_point_update,
    check_unit,
    meter_create,
    meter_delete,
    meter_rename,
    meter_update,
    property_create,
    property_delete,
    property_update,
)
from meters.services.sensors import sensor_create, sensor_delete, sensor_update

__all__ = [
    "MeterImportRejected",
    "NewMeter",
    "billing_point_create",
    "billing_point_create_with_meters",
    "billing_point_delete",
    "billing_point_update",
    "check_unit",
    "meter_assign",
    "meter_assignment_record",
    "meter_create",
    "meter_delete",
    "meter_import_csv",
    "meter_remove",
    "meter_rename",
    "meter_replace",
    "meter_update",
    "property_create",
    "property_delete",
    "property_update",
    "sensor_create",
    "sensor_delete",
    "sensor_update",
    "to_instant",
    "to_register",
]
