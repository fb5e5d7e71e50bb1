"""Read queries of tenants: who occupies what, when, and who owns it.

The billing engine asks "who is billed for these billing points over this period" for
thousands of billing points per run, so :func:`occupants_for_billing_points` answers for
all of them with three queries (billing points, owners, overlapping occupancies) whatever
their number, and fills the gaps in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q, QuerySet

from meters.models import BillingPoint
from tenants.models import BadgeAssignment, Occupancy, Ownership, Tenant, TenantAccess


@dataclass(frozen=True)
class Segment:
    """A stretch of [start, end) billed to ``tenant``.

    ``is_vacancy``: nobody lived there, the owner is billed (``tenant`` is the owner, or
    None when no owner is recorded, which billing should report rather than guess).
    """

    billing_point_id: int
    start: datetime
    end: datetime
    tenant: Tenant | None
    is_vacancy: bool
    occupancy_id: int | None = None


def _check_period(start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    if end <= start:
        raise ValueError("end must be after start")


def owners_by_billing_point(billing_point_ids: Iterable[int]) -> dict[int, Tenant | None]:
    """Each billing point's owner: its own override, else its property's owner (2 queries)."""
    property_of = dict(
        BillingPoint.objects.filter(pk__in=list(billing_point_ids)).values_list("pk", "property_id")
    )
    rows = Ownership.objects.filter(
        Q(billing_point_id__in=list(property_of))
        | Q(property_id__in=set(property_of.values()), billing_point__isnull=True)
    ).select_related("owner")
    per_property = {o.property_id: o.owner for o in rows if o.billing_point_id is None}
    per_point = {o.billing_point_id: o.owner for o in rows if o.billing_point_id is not None}
    return {bp: per_point.get(bp) or per_property.get(prop) for bp, prop in property_of.items()}


def occupancies_overlapping(
    billing_point_ids: Iterable[int], start: datetime, end: datetime
) -> QuerySet[Occupancy]:
    """Occupancies of these billing points that overlap [start, end), in time order."""
    return (
        Occupancy.objects.filter(billing_point_id__in=list(billing_point_ids), move_in__lt=end)
        .filter(Q(move_out__isnull=True) | Q(move_out__gt=start))
        .select_related("tenant")
        .order_by("billing_point_id", "move_in")
    )


def _fill(
    bp_id: int, occupancies: list[Occupancy], owner: Tenant | None, start: datetime, end: datetime
) -> list[Segment]:
    """Occupancies clipped to [start, end), with the owner's vacancy segments in between."""
    segments: list[Segment] = []
    cursor = start
    for occ in occupancies:
        occ_start, occ_end = max(occ.move_in, start), min(occ.move_out or end, end)
        if occ_start > cursor:
            segments.append(Segment(bp_id, cursor, occ_start, owner, True))
        segments.append(Segment(bp_id, occ_start, occ_end, occ.tenant, False, occ.pk))
        cursor = occ_end
    if cursor < end:
        segments.append(Segment(bp_id, cursor, end, owner, True))
    return segments


def occupants_for_billing_points(
    billing_point_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, list[Segment]]:
    """Billing point id → gapless segments covering [start, end) (ids of the current org).

    Ids that are not billing points of the current organization are left out.
    """
    _check_period(start, end)
    ids = list(billing_point_ids)
    owners = owners_by_billing_point(ids)
    by_point: dict[int, list[Occupancy]] = defaultdict(list)
    for occ in occupancies_overlapping(owners, start, end):
        by_point[occ.billing_point_id].append(occ)
    return {bp: _fill(bp, by_point[bp], owners[bp], start, end) for bp in owners}


def billing_point_occupants(
    billing_point: BillingPoint, start: datetime, end: datetime
) -> list[Segment]:
    """Who occupies (or, vacant, owns) this billing point over [start, end), without gaps."""
    return occupants_for_billing_points([billing_point.pk], start, end).get(billing_point.pk, [])


def occupancy_at(billing_point: BillingPoint, instant: datetime) -> Occupancy | None:
    """The occupancy covering ``instant`` (move_in <= instant < move_out), if any."""
    return (
        Occupancy.objects.filter(billing_point=billing_point, move_in__lte=instant)
        .filter(Q(move_out__isnull=True) | Q(move_out__gt=instant))
        .select_related("tenant")
        .first()
    )


def occupancies_conflicting(
    billing_point: BillingPoint,
    move_in: datetime,
    move_out: datetime | None,
    exclude_pk: int | None = None,
) -> QuerySet[Occupancy]:
    """Occupancies of the billing point overlapping [move_in, move_out)."""
    qs = Occupancy.objects.filter(billing_point=billing_point).filter(
        Q(move_out__isnull=True) | Q(move_out__gt=move_in)
    )
    if move_out is not None:
        qs = qs.filter(move_in__lt=move_out)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.select_related("tenant").order_by("move_in")


def badge_assignments_conflicting(
    badge_id: int, assigned_at: datetime, returned_at: datetime | None
) -> QuerySet[BadgeAssignment]:
    qs = BadgeAssignment.objects.filter(badge_id=badge_id).filter(
        Q(returned_at__isnull=True) | Q(returned_at__gt=assigned_at)
    )
    if returned_at is not None:
        qs = qs.filter(assigned_at__lt=returned_at)
    return qs.select_related("tenant").order_by("assigned_at")


def current_occupancies(tenant: Tenant) -> QuerySet[Occupancy]:
    return tenant.occupancies.filter(move_out__isnull=True).select_related(
        "billing_point__property"
    )


def tenant_accesses_for_user(user) -> list[TenantAccess]:
    """The accepted, unrevoked portal accesses of a user, across organizations (the login
    is the credential, as with memberships), newest first: a person may rent from two
    property managers, or have been invited twice."""
    if not user.is_authenticated:
        return []
    return list(
        TenantAccess.objects.unscoped()
        .select_related("organization", "tenant")
        .filter(user=user, accepted_at__isnull=False, revoked_at__isnull=True)
        .order_by("-accepted_at", "-pk")
    )


def tenant_portal_accesses(tenant: Tenant) -> QuerySet[TenantAccess]:
    """A tenant's portal accesses, the live one first, for the manager's panel."""
    return tenant.portal_accesses.select_related("user", "invited_by").order_by(
        F("revoked_at").desc(nulls_first=True), "-invited_at"
    )
