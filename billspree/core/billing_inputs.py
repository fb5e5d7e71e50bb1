"""Late data: the apps below billing say that something billing reads has changed.

Readings, occupancies (moves, vacancy) and meter assignments (replacements) live below
billing, yet a change to them may touch a period that is already drafted or issued. The
rule (``DESIGN.md``: "Issued is final; late data becomes an adjustment") needs billing to
react **in the same transaction** as the change, and the person or integrator making it to
be told at once what it affects. Core cannot import billing and neither can readings,
meters or tenants, so the lower app describes the change as an :class:`InputChange` and
calls :func:`billing_inputs_notify`; billing connects a receiver to
:data:`billing_inputs_changed` (``billing.apps``) that marks drafts stale or records
adjustments, and answers with :class:`Impact` rows the caller shows in its message, its
API response and its audit event. With no receiver connected (billing not installed)
nothing is affected.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.dispatch import Signal

#: Sent with ``changes`` (a list of :class:`InputChange`), ``actor`` and ``api_key``;
#: receivers return a list of :class:`Impact`. Sent with ``send`` (not ``send_robust``):
#: a receiver's error rolls the change back instead of losing the reaction.
billing_inputs_changed = Signal()

READING = "reading"
OCCUPANCY = "occupancy"
ASSIGNMENT = "assignment"


@dataclass(frozen=True)
class InputChange:
    """What changed: the readings of ``meter_ids`` between ``start`` and ``end`` (the
    earliest and latest instant written), or the occupancy / meter assignments of
    ``billing_point_ids`` from ``start`` (to ``end``; None: open)."""

    kind: str
    description: str
    start: datetime
    end: datetime | None = None
    meter_ids: frozenset[int] = field(default_factory=frozenset)
    billing_point_ids: frozenset[int] = field(default_factory=frozenset)
    #: readings: each meter's own (meter id, earliest, latest) instant written, when a
    #: batch spans many meters (tighter than one window for all of them)
    meter_windows: tuple[tuple[int, datetime, datetime], ...] = ()


@dataclass(frozen=True)
class Impact:
    """One document the change affects, and what happens to it."""

    code: str  # "draft_stale" | "adjustment"
    invoice: str  # the invoice's number, or "draft …"
    invoice_id: str  # its public id
    message: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "invoice": self.invoice, "invoice_id": self.invoice_id,
                "message": self.message, **({"detail": self.detail} if self.detail else {})}


def billing_inputs_notify(
    *, changes: Iterable[InputChange], actor: Any = None, api_key: Any = None
) -> list[Impact]:
    """Tell billing about ``changes`` (inside the caller's transaction); returns what they
    affect (drafts marked stale, adjustments recorded)."""
    changes = [c for c in changes if c is not None]
    if not changes:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Notify billing inside the transaction that changes its inputs.")
    impacts: list[Impact] = []
    for _receiver, answer in billing_inputs_changed.send(
        sender=InputChange, changes=changes, actor=actor, api_key=api_key
    ):
        impacts.extend(answer or ())
    return impacts


def impact_messages(impacts: Iterable[Impact]) -> list[str]:
    return [i.message for i in impacts]


def impacts_payload(obj: Any) -> list[dict[str, Any]]:
    """The ``affects_invoices`` of an API answer: what the write just done affects (a
    service leaves its impacts on the object it returns; a plain read has none)."""
    return [i.as_dict() for i in getattr(obj, "impacts", None) or ()]


#: The OpenAPI shape of ``affects_invoices``.
IMPACTS_SCHEMA = {"type": "array", "items": {"type": "object", "properties": {
    "code": {"type": "string", "enum": ["draft_stale", "adjustment", "adjustment_blocked"]},
    "invoice": {"type": "string"}, "invoice_id": {"type": "string", "format": "uuid"},
    "message": {"type": "string"}, "detail": {"type": "object"},
}}}


def impacts_warn(request: Any, impacts: Iterable[Impact] | None) -> None:
    """Tell the person in the portal, at once, what their change affects (one warning per
    invoice: "changes a period already invoiced as INV-…", "marks draft … stale")."""
    from django.contrib import messages

    for impact in impacts or ():
        messages.warning(request, impact.message)
