"""Will a billing point bill? What its tariff needs that its meters do not deliver.

One rule, two places: the billing point's page warns ahead (:func:`billing_point_gaps`),
and a bill run's skip reasons say the same afterwards (``billing.engine``). Both use the
one rate resolution (``tariffs.selectors.rate_book``: the billing point's own rate lists,
then the variant's or plan's) and the engine's test for interval data
(``engine.needs_interval_data`` and ``engine.INTERVAL_MAX``), and a gap carries the
engine's diagnostic code, so
``billing.selectors.fixes`` links both to the same fix.

What each charge kind needs (``tariffs.pricing``): a standing charge nothing; flat, tiered
and volume rules a total (two readings, or estimates, around the period); a time-of-use
rule interval data (readings at most an hour apart), without which the rule is not priced
and the run skips the billing point. Checked over the period a run would bill next (the
subscription's batch cycle, else the previous calendar month).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Q

from billing import engine
from billing.models import Subscription
from billspree.core import timefmt
from meters.models import BillingPoint, MeterAssignment, MeterType
from readings import selectors as readings_selectors
from tariffs import pricing
from tariffs import selectors as tariff_selectors


@dataclass(frozen=True)
class Gap:
    """Something the tariff needs that the billing point does not have. ``code`` is the
    bill run's diagnostic code for the same problem (``no_rate``, ``tou_no_interval_data``,
    ``no_active_meter``) or ``rate_without_meter``; ``severity`` is the run's: ``error``
    (a run skips the billing point), ``warning`` (it bills, check it), ``info``."""

    code: str
    message: str
    severity: str = "error"
    meter: str = ""  # serial number

    def as_dict(self) -> dict[str, str]:
        out = {"code": self.code, "message": self.message, "severity": self.severity}
        if self.meter:
            out["meter"] = self.meter
        return out


# --- periods ------------------------------------------------------------------------------


def _previous_month(today: date) -> tuple[date, date]:
    end = today.replace(day=1)
    return (end - timedelta(days=1)).replace(day=1), end


def default_period(subscription: Subscription, today: date) -> tuple[date, date]:
    """The period a run would bill next for ``subscription``: its batch's last complete
    period (else the previous calendar month), within the subscription. A subscription that
    starts later gets its first month."""
    if subscription.batch_id:
        from billing.services.batches import batch_period  # pure calendar maths

        start, end = batch_period(batch=subscription.batch, on=today)
    else:
        start, end = _previous_month(today)
    lo = max(start, subscription.start_date)
    hi = min(end, subscription.end_date) if subscription.end_date else end
    if lo < hi:
        return lo, hi
    first = subscription.start_date
    nxt = (first.replace(day=1) + timedelta(days=32)).replace(day=1)
    return first, min(nxt, subscription.end_date) if subscription.end_date else nxt


def current_subscription(billing_point: BillingPoint, today: date,
                         subscriptions: list[Subscription] | None = None) -> Subscription | None:
    """The subscription in effect today, else the latest one that has started (from
    ``subscriptions`` when the caller has them loaded)."""
    if subscriptions is None:
        subscriptions = list(Subscription.objects.filter(billing_point=billing_point)
                             .select_related("billing_point__property", "plan", "variant",
                                             "batch"))
    started = sorted((s for s in subscriptions if s.start_date <= today),
                     key=lambda s: (s.start_date, s.pk), reverse=True)
    live = [s for s in started if s.end_date is None or s.end_date > today]
    return (live or started or [None])[0]


# --- interval data ------------------------------------------------------------------------


def meters_with_interval_data(meter_ids: list[int], lo: datetime, hi: datetime) -> set[int]:
    """The meters that have two consecutive readings at most ``engine.INTERVAL_MAX`` apart
    in ``[lo, hi]`` (``readings.selectors.meters_with_interval_data``, one query)."""
    return readings_selectors.meters_with_interval_data(meter_ids=meter_ids, start=lo, end=hi)


def _cadence(meter_id: int, lo: datetime, hi: datetime, tz) -> str:
    """How the meter is read, in words: "2 readings in 1–30 Nov 2026, about 30 days apart"."""
    times = readings_selectors.reading_times(meter_id=meter_id, start=lo, end=hi)
    period = timefmt.format_period(lo, hi, tz)
    if not times:
        return f"no readings in {period}"
    if len(times) == 1:
        return f"one reading in {period}"
    spacing = (times[-1] - times[0]) / (len(times) - 1)
    if spacing >= timedelta(days=1):
        every = f"about {Decimal(spacing.total_seconds() / 86400).quantize(Decimal('1')):f} days"
    else:
        every = f"about {Decimal(spacing.total_seconds() / 3600).quantize(Decimal('0.1')):f} hours"
    return f"{len(times)} readings in {period}, {every} apart"


# --- the check ----------------------------------------------------------------------------


def _usage_rules(tariffs, version) -> list[pricing.Rule]:
    return [r for r in tariffs.rules_of(version) if r.kind in pricing.USAGE_KINDS]


def _priced_types(tariffs, sub: Subscription, day: date) -> dict[str, str]:
    """Meter type → the rate list pricing its consumption on ``day`` (as the engine
    resolves it)."""
    out: dict[str, str] = {}
    for meter_type in MeterType.values:
        version = tariffs.version_for(sub, meter_type, day)
        if version is not None and any(r.meter_type == meter_type
                                       for r in _usage_rules(tariffs, version)):
            out[meter_type] = version.rate_list.name
    return out


def subscription_gaps(subscription: Subscription, start: date, end: date) -> list[Gap]:
    """What the tariff of ``subscription`` needs over ``[start, end)`` (local dates) that
    the billing point's meters do not deliver; errors first."""
    sub, bp = subscription, subscription.billing_point
    tz = str(bp.property.time_zone)
    lo, hi = timefmt.local_midnight(start, tz), timefmt.local_midnight(end, tz)
    period = timefmt.format_period(start, end)
    tariffs = tariff_selectors.rate_book(subjects=[sub], start=start, end=end)
    meters: dict[str, list] = defaultdict(list)
    for a in MeterAssignment.objects.filter(billing_point=bp, connected_at__lt=hi).filter(
        Q(removed_at__isnull=True) | Q(removed_at__gt=lo)
    ).select_related("meter").order_by("meter__serial_number"):
        if a.meter not in meters[a.meter.type]:
            meters[a.meter.type].append(a.meter)
    priced = _priced_types(tariffs, sub, start)
    gaps: list[Gap] = []
    if not meters:
        what = ", ".join(MeterType(t).label.lower() for t in priced) or "no consumption"
        gaps.append(Gap("no_active_meter", f"No meter is assigned here for {period}: only "
                        f"fixed charges can be billed (the plan prices {what}).", "warning"))
    for meter_type, found in meters.items():
        version = tariffs.version_for(sub, meter_type, start) or tariffs.version_for(
            sub, meter_type, end - timedelta(days=1))
        label = MeterType(meter_type).label.lower()
        if version is None:
            for meter in found:
                gaps.append(Gap("no_rate", f"No rate for {label} in the plan {sub.plan}: "
                                f"meter {meter.serial_number} is not billed and a bill run "
                                "skips this billing point.", meter=meter.serial_number))
            continue
        rules = [r for r in _usage_rules(tariffs, version) if r.meter_type == meter_type]
        if engine.needs_interval_data(rules):
            gaps.extend(_interval_gaps(version, rules, found, lo, hi, bp))
    for meter_type, rate_list in priced.items():
        if meters and meter_type not in meters:  # no meter at all is said once, above
            label = MeterType(meter_type).label.lower()
            gaps.append(Gap("rate_without_meter", f"{rate_list} prices {label} "
                            f"consumption, but no {label} meter is assigned here: nothing is "
                            f"billed for {label}.", "info"))
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(gaps, key=lambda g: order.get(g.severity, 3))


def _interval_gaps(version, rules, meters, lo, hi, bp) -> list[Gap]:
    tou = next(r for r in rules if r.kind == pricing.TIME_OF_USE)
    ok = meters_with_interval_data([m.pk for m in meters], lo, hi)
    gaps = []
    for meter in meters:
        if meter.pk in ok:
            continue
        how = _cadence(meter.pk, lo, hi, bp)
        gaps.append(Gap(
            "tou_no_interval_data",
            f"“{tou.name}” of {version.rate_list.name} is priced by time of use and needs "
            f"interval data (readings at most an hour apart), but meter {meter.serial_number} "
            f"delivers none ({how}). A bill run skips this billing point until interval "
            "readings arrive (a gateway or a CSV of interval readings), or put it on a rate "
            "without time of use.", meter=meter.serial_number,
        ))
    return gaps


def billing_point_gaps(billing_point: BillingPoint, today: date,
                       subscriptions: list[Subscription] | None = None,
                       ) -> tuple[list[Gap], tuple]:
    """The gaps of the billing point's current subscription over the period a run would
    bill next, and that period (``(subscription, start, end)``; empty when the billing point
    is not subscribed: no query then, given its ``subscriptions``)."""
    sub = current_subscription(billing_point, today, subscriptions)
    if sub is None:
        return [], ()
    start, end = default_period(sub, today)
    return subscription_gaps(sub, start, end), (sub, start, end)
