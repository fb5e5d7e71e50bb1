"""Read queries of the meter registry.

Lists are set-based: a meter's status and current billing point, a billing point's
active meter count, a property's counts are annotations (EXISTS / subqueries), so a page
of 50 rows costs the same handful of queries as a page of 5.
"""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property

#: Filter words that stand for several meter types. ``water`` is what the seed's
#: assign flow calls it: a water meter is either a cold or a hot water meter.
TYPE_GROUPS: dict[str, tuple[str, ...]] = {
    "water": (MeterType.COLD_WATER, MeterType.HOT_WATER),
    "electric": (MeterType.ELECTRICITY,),
    "thermal": (MeterType.HEAT, MeterType.COOLING),
}
TYPE_FILTER_CHOICES = [
    *MeterType.choices,
    ("water", "Water (cold and hot)"),
    ("electric", "Electric (= electricity)"),
    ("thermal", "Thermal (heat and cooling)"),
]


class Status:
    ACTIVE = "active"
    INACTIVE = "inactive"
    CHOICES = [(ACTIVE, "Active"), (INACTIVE, "Inactive")]


def types_for(word: str | None) -> tuple[str, ...]:
    """The meter types a filter word stands for ('' or None: no filter)."""
    if not word:
        return ()
    return TYPE_GROUPS.get(word, (word,))


def _open_assignments() -> QuerySet[MeterAssignment]:
    return MeterAssignment.objects.filter(meter=OuterRef("pk"), removed_at__isnull=True)


def meters_with_status() -> QuerySet[Meter]:
    """Meters annotated with ``is_active`` and their current billing point (name, id)."""
    current = _open_assignments()
    return Meter.objects.select_related("parent").annotate(
        is_active=Exists(current),
        current_billing_point_name=Subquery(current.values("billing_point__name")[:1]),
        current_connection_id=Subquery(current.values("billing_point__connection_id")[:1]),
        current_billing_point_public_id=Subquery(current.values("billing_point__public_id")[:1]),
        connected_since=Subquery(current.values("connected_at")[:1]),
    )


def meter_list(
    *, search: str = "", type: str = "", status: str = "", property_id: str = ""
) -> QuerySet[Meter]:
    """Meters for a list page or the API: search by serial or label, filter by type
    (``water`` = cold and hot water), status (active/inactive) and property."""
    qs = meters_with_status()
    if search:
        qs = qs.filter(Q(serial_number__icontains=search) | Q(label__icontains=search))
    if type:
        qs = qs.filter(type__in=types_for(type))
    if status:
        qs = qs.filter(is_active=(status == Status.ACTIVE))
    if property_id:
        qs = qs.filter(
            Exists(_open_assignments().filter(billing_point__property__public_id=property_id))
        )
    return qs.order_by("serial_number")


def inactive_meters(*, type: str = "") -> QuerySet[Meter]:
    """Meters free to assign (no open assignment), optionally of one type or type group."""
    return meter_list(type=type, status=Status.INACTIVE)


def active_assignments(billing_point: BillingPoint) -> QuerySet[MeterAssignment]:
    """The open assignments of a billing point with their meters: its active meters."""
    return (
        MeterAssignment.objects.filter(billing_point=billing_point, removed_at__isnull=True)
        .select_related("meter", "billing_point")
        .order_by("meter__type", "meter__serial_number")
    )


def active_meters(billing_point: BillingPoint) -> QuerySet[Meter]:
    return Meter.objects.filter(
        assignments__billing_point=billing_point, assignments__removed_at__isnull=True
    ).order_by("type", "serial_number")


def assignment_history(
    *, billing_point: BillingPoint | None = None, meter: Meter | None = None
) -> QuerySet[MeterAssignment]:
    qs = MeterAssignment.objects.select_related("meter", "billing_point__property")
    if billing_point is not None:
        qs = qs.filter(billing_point=billing_point)
    if meter is not None:
        qs = qs.filter(meter=meter)
    return qs.order_by("-connected_at")


def assignment_list() -> QuerySet[MeterAssignment]:
    return MeterAssignment.objects.select_related("meter", "billing_point").order_by(
        "-connected_at", "pk"
    )


def property_list(*, search: str = "") -> QuerySet[Property]:
    qs = Property.objects.annotate(billing_point_count=Count("billing_points", distinct=True))
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(address__icontains=search))
    return qs.order_by("name")


def billing_point_list(
    *, property: Property | None = None, search: str = "", kind: str = ""
) -> QuerySet[BillingPoint]:
    """Billing points with the number of active meters, searchable by name or connection."""
    active = (
        MeterAssignment.objects.filter(billing_point=OuterRef("pk"), removed_at__isnull=True)
        .order_by()
        .values("billing_point")
        .annotate(n=Count("pk"))
        .values("n")
    )
    qs = BillingPoint.objects.select_related("property").annotate(
        active_meter_count=Subquery(active)
    )
    if property is not None:
        qs = qs.filter(property=property)
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(connection_id__icontains=search))
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("property__name", "connection_id")


def sub_meters(meter: Meter) -> QuerySet[Meter]:
    return meters_with_status().filter(parent=meter).order_by("serial_number")
