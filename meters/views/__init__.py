"""Portal pages of the meter registry (thin: forms parse, services write, selectors read)."""

from meters.views.flows import (
    AssignMeterView,
    BillingPointDeleteView,
    MeterDeleteView,
    MeterImportView,
    NewConnectionView,
    PropertyDeleteView,
    RemoveMeterView,
    ReplaceMeterView,
)
from meters.views.registry import (
    BillingPointDetailView,
    BillingPointEditView,
    MeterCreateView,
    MeterDetailView,
    MeterEditView,
    MeterListView,
    PropertyCreateView,
    PropertyDetailView,
    PropertyEditView,
    PropertyListView,
)

__all__ = [
    "BillingPointDeleteView",
    "MeterDeleteView",
    "PropertyDeleteView",
    "AssignMeterView",
    "BillingPointDetailView",
    "BillingPointEditView",
    "MeterCreateView",
    "MeterDetailView",
    "MeterEditView",
    "MeterImportView",
    "MeterListView",
    "NewConnectionView",
    "PropertyCreateView",
    "PropertyDetailView",
    "PropertyEditView",
    "PropertyListView",
    "RemoveMeterView",
    "ReplaceMeterView",
]
