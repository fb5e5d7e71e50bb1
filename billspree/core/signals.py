"""Signals core sends so apps above it can react without core importing them."""

from django.dispatch import Signal

#: Sent inside the transaction of ``organization_update`` with ``organization`` and
#: ``changed`` (the set of field names). Billing re-schedules its batches when the time
#: zone changes, since their beat entries run at local times.
organization_changed = Signal()
