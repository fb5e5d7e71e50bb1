"""Reads of the tariffs app: which rate list applies, and quotes priced by the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q, QuerySet

from meters.models import BillingPoint
from tariffs import pricing
from tariffs.models import (
    BillingPointRateList,
    CashRounding,
    ChargeRule,
    Holiday,
    Plan,
    PlanVariant,
    RateList,
    RateListVersion,
)


def cash_rounding_step(currency: str) -> Decimal | None:
    """The organization's cash-rounding step for ``currency`` (None: no cash rounding)."""
    return CashRounding.objects.filter(currency=currency).values_list("step", flat=True).first()


def cash_rounding_steps() -> dict[str, Decimal]:
    """Every currency's step (one query, for bill runs)."""
    return {str(c): step for c, step in CashRounding.objects.values_list("currency", "step")}


def rate_lists_with_versions() -> QuerySet[RateList]:
    return RateList.objects.prefetch_related(
        Prefetch("versions", queryset=RateListVersion.objects.order_by("-effective_from"))
    )


def versions_between(rate_list: RateList, start: date, end: date) -> list[RateListVersion]:
    """Versions overlapping ``[start, end)``, oldest first."""
    return list(
        rate_list.versions.filter(effective_from__lt=end)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=start))
        .order_by("effective_from")
        .prefetch_related("rules__holiday_calendar")
    )


def _version_at(rate_list: RateList, day: date) -> RateListVersion | None:
    return rate_list.version_at(day)


def _local_date(billing_point: BillingPoint, at: datetime | date) -> date:
    if isinstance(at, datetime):
        return at.astimezone(ZoneInfo(str(billing_point.property.time_zone))).date()
    return at


def _plan_rate_lists(plan: Plan | None, variant: PlanVariant | None) -> list[RateList]:
    if variant is not None:
        own = list(variant.rate_lists.all())
        if own:
            return own
        plan = variant.plan
    return list(plan.rate_lists.all()) if plan is not None else []


def _has_rule_for(version: RateListVersion, meter_type: str) -> bool:
    return not meter_type or version.rules.filter(meter_type=meter_type).exists()


def rate_list_for(
    *, billing_point: BillingPoint, at: datetime | date, meter_type: str = "",
    plan: Plan | None = None, variant: PlanVariant | None = None,
) -> RateListVersion | None:
    """The rate-list version pricing ``meter_type`` at ``billing_point`` on ``at``.

    Order: the billing point's own rate list for that meter type, then its own rate list
    for all meter types, then the plan variant's (or plan's) rate lists — the first whose
    version in effect that day has a rule for the meter type. ``at`` is read in the
    property's time zone. Subscriptions (billing) say which plan applies; pass it.
    """
    day = _local_date(billing_point, at)
    overrides = {
        o.meter_type: o.rate_list
        for o in BillingPointRateList.objects.filter(billing_point=billing_point)
        .filter(Q(meter_type=meter_type) | Q(meter_type=""))
        .select_related("rate_list")
    }
    candidates: list[RateList] = [
        overrides[key] for key in (meter_type, "") if key in overrides
    ] + _plan_rate_lists(plan, variant)
    for rate_list in candidates:
        version = _version_at(rate_list, day)
        if version is not None and _has_rule_for(version, meter_type):
            return version
    return None


def pricing_rules(version: RateListVersion) -> list[pricing.Rule]:
    rules = list(version.rules.select_related("holiday_calendar"))
    calendars = {r.holiday_calendar_id for r in rules if r.holiday_calendar_id}
    holidays: dict[int, set[date]] = {c: set() for c in calendars}
    for h in Holiday.objects.filter(calendar_id__in=calendars).only("calendar_id", "date"):
        holidays[h.calendar_id].add(h.date)
    return [
        r.to_pricing(frozenset(holidays.get(r.holiday_calendar_id, ()))) for r in rules
    ]


@dataclass(frozen=True)
class QuoteRequest:
    start: date
    end: date  # exclusive
    time_zone: str
    totals: dict[str, Decimal]
    intervals: dict[str, tuple[pricing.Interval, ...]]
    billing_start: date | None = None
    billing_end: date | None = None


def _period(start: date, end: date, tz: str) -> pricing.Period:
    zone = ZoneInfo(tz)
    return pricing.Period(
        datetime.combine(start, time(0), tzinfo=zone), datetime.combine(end, time(0), tzinfo=zone),
        tz,
    )


def rate_list_quote(*, rate_list: RateList, request: QuoteRequest) -> pricing.Quote:
    """Price quantities over ``[start, end)`` with the versions in effect.

    When prices change inside the period each version prices its own days; a total is then
    split between versions pro rata by days (a warning says so), interval data by time.
    """
    settings = rate_list.pricing_settings(
        cash_rounding=cash_rounding_step(str(rate_list.currency))
    )
    full = None
    if request.billing_start and request.billing_end:
        full = _period(request.billing_start, request.billing_end, request.time_zone)
    versions = versions_between(rate_list, request.start, request.end)
    whole = _period(request.start, request.end, request.time_zone)
    if not versions:
        quote = pricing.Quote(currency=settings.currency)
        quote.diagnostics.append(pricing.Diagnostic(
            "no_prices", f"{rate_list.name} has no prices for {request.start:%Y-%m-%d} – "
            f"{request.end - timedelta(days=1):%Y-%m-%d}.",
        ))
        return quote
    segments = [
        (v, _period(max(v.effective_from, request.start),
                    min(v.effective_to or request.end, request.end), request.time_zone))
        for v in versions
    ]
    complete = sum(seg.days for _, seg in segments) == whole.days
    quotes = []
    left = dict(request.totals)
    for n, (version, segment) in enumerate(segments):
        last = complete and n == len(segments) - 1
        totals = {}
        for meter_type, total in request.totals.items():
            part = left[meter_type] if last else (
                total * segment.days / whole.days).quantize(pricing.QTY_STEP)
            left[meter_type] -= part
            totals[meter_type] = part
        usage = {
            t: pricing.Usage(total=totals.get(t), intervals=request.intervals.get(t))
            for t in set(request.totals) | set(request.intervals)
        }
        quotes.append(pricing.price(
            rules=pricing_rules(version), period=segment, usage=usage, settings=settings,
            billing_period=full or whole,
        ))
    merged = pricing.combine(quotes, settings)
    if len(versions) > 1 and request.totals:
        merged.diagnostics.append(pricing.Diagnostic(
            "split_by_days", "Prices change inside the period: each version prices its own "
            "days, and totals were split between versions in proportion to days.",
            severity="warning",
        ))
    if not complete:
        merged.diagnostics.append(pricing.Diagnostic(
            "no_prices_part", f"{rate_list.name} has no prices for part of the period; those "
            "days (and their share of the totals) were not priced.",
        ))
    return merged


def rules_of(version: RateListVersion) -> QuerySet[ChargeRule]:
    return version.rules.select_related("holiday_calendar")
