"""Where each reason a billing point is not billed is fixed: links for the run report and
the billing point's warnings.

A reason is a diagnostic of the engine (``billing.engine``, stored on a run item as
``{"code", "message", "severity", "meter"?, "tenant_id"?}``) or a gap of
``billing.selectors.readiness`` (same codes). :func:`fixes_for` turns one into the links
of the pages where it is fixed (the meter's readings, the readings upload, the billing
point, its subscription, the plan, the owner, the tenant), in the order to try them.
Unknown codes get the billing point.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.urls import reverse

from billing.models import BillRunItem, Subscription
from meters.models import Meter

#: Codes fixed by readings of one meter (enter or upload them, or check them).
READINGS = {"no_readings", "negative_consumption", "estimated_start", "estimated_end",
            "tou_no_interval_data", "tou_incomplete_interval_data"}
#: Codes fixed by the tariff: the subscription's plan (or the plan's rate lists).
TARIFF = {"no_rate", "currency_mismatch", "no_prices", "no_prices_part"}


@dataclass(frozen=True)
class Fix:
    label: str
    url: str


def _meters(serials: Iterable[str]) -> dict[str, Meter]:
    wanted = {s for s in serials if s}
    if not wanted:
        return {}
    return {m.serial_number: m for m in Meter.objects.filter(serial_number__in=wanted)}


def fixes_for(diag: dict, subscription: Subscription,
              meters: dict[str, Meter] | None = None) -> list[Fix]:
    """The pages where ``diag`` (a diagnostic dict) of ``subscription`` is fixed."""
    code = diag.get("code", "") if isinstance(diag, dict) else ""
    bp = subscription.billing_point
    meter = (meters if meters is not None else _meters([diag.get("meter", "")])).get(
        diag.get("meter", "")) if isinstance(diag, dict) else None
    sub_edit = Fix("Change the subscription’s plan",
                   reverse("billing:subscription_edit", args=[subscription.public_id]))
    out: list[Fix] = []
    if code in READINGS:
        if meter is not None:
            out.append(Fix(f"Readings of {meter.serial_number}",
                           reverse("readings:meter", args=[meter.public_id])))
        out.append(Fix("Upload readings", reverse("readings:upload")))
        if code == "tou_no_interval_data":
            out.append(sub_edit)
    elif code in TARIFF:
        out.append(sub_edit)
        out.append(Fix("Edit the plan", reverse("tariffs:plan_edit",
                                                args=[subscription.plan.public_id])))
    elif code == "not_subscribed":
        out.append(sub_edit)
    elif code == "no_active_meter":
        out.append(Fix("Assign a meter", reverse("meters:assign", args=[bp.public_id])))
    elif code == "no_owner":
        out.append(Fix("Record the owner", reverse("tenants:billing_point",
                                                     args=[bp.public_id])))
    elif code == "tenant_without_email" and diag.get("tenant_id"):
        out.append(Fix("Add the tenant’s email", reverse("tenants:edit",
                                                        args=[diag["tenant_id"]])))
    elif code == "rate_without_meter":
        out.append(Fix("Assign a meter", reverse("meters:assign", args=[bp.public_id])))
    if code != "already_billed":
        out.append(Fix("Billing point", reverse("meters:billing_point_detail",
                                                args=[bp.public_id])))
    return out


def attach_fixes(items: Iterable[BillRunItem]) -> None:
    """Each item's diagnostics get ``fixes`` (a list of :class:`Fix`); the meters they name
    are loaded in one query. Items need ``subscription__billing_point`` and ``__plan``."""
    items = list(items)
    meters = _meters(d.get("meter", "") for i in items for d in i.diagnostics
                     if isinstance(d, dict))
    for item in items:
        item.diagnostics = [
            {**d, "fixes": fixes_for(d, item.subscription, meters)} if isinstance(d, dict) else d
            for d in item.diagnostics
        ]


def attach_preview_fixes(invoices) -> None:
    """Each draft of a preview (``engine.DraftInvoice``) gets ``fixed``: its diagnostics
    as ``(diagnostic, fixes)`` pairs, the meters loaded in one query."""
    invoices = list(invoices)
    meters = _meters(d.meter for inv in invoices for d in inv.diagnostics)
    for inv in invoices:
        inv.fixed = [(d, fixes_for(d.as_dict(), inv.subscription, meters))
                     for d in inv.diagnostics]
