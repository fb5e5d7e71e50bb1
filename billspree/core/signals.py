"""Signals core sends so apps above it can react without core importing them."""

from django.dispatch import Signal

#: Sent inside the transaction of ``organization_update`` with ``organization`` and
#: ``changed`` (the set of field names). Billing re-schedules its batches when the time
#: zone changes, since their beat entries run at local times.
organization_changed = Signal()

#: Sent with ``user`` when core needs every organization a login belongs to (to audit a
#: locked login there); each receiver returns an iterable of organizations it knows the
#: user through (the tenant portal: its accesses), core adds the memberships.
login_organizations = Signal()
