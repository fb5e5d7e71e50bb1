"""REST endpoints of the meter registry (thin: parse, call a service, shape the output).

The Meter Assignment API keeps the field names integrators know from the seed
(``connectionID``, ``meterNumber``, ``connectionDate``, ``status``, ``initialReading``);
errors a service raises under its own argument names are renamed to those fields, so a
400 or 409 names the field the client actually sent.

Querysets with subquery annotations (a meter's status, a billing point's active meters)
are built per request in ``get_queryset``: the scoping filter inside a ``Subquery`` is
added when first compiled and would otherwise stick to the first request's organization.
"""

from meters.api.assignments import (
    MeterAssignmentCloseView,
    MeterAssignmentReplaceView,
    MeterAssignmentViewSet,
)
from meters.api.registry import (
    BillingPointViewSet,
    MeterImportView,
    MeterViewSet,
    PropertyViewSet,
)
from meters.api.sensors import SensorSerializer, SensorViewSet

__all__ = [
    "BillingPointViewSet",
    "MeterAssignmentCloseView",
    "MeterAssignmentReplaceView",
    "MeterAssignmentViewSet",
    "MeterImportView",
    "MeterViewSet",
    "PropertyViewSet",
    "SensorSerializer",
    "SensorViewSet",
]
