"""Reads of the tariffs app: which rate list applies, and quotes priced by the engine."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Prefetch, Q, QuerySet

from billspree.core import timefmt
from meters.models import BillingPoint
from tariffs import pricing
from tariffs.models import (
    AddOn,
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


# --- the rate book: which rate list prices what, for many billing points at once ----------


@dataclass(frozen=True, slots=True)
class RateSubject:
    """A billing point on a plan (and maybe a variant): what :func:`rate_book` resolves rate
    lists for. A ``billing.Subscription`` has the same three fields and is accepted as is."""

    billing_point_id: int
    plan_id: int | None
    variant_id: int | None = None


def _in_effect(v: RateListVersion, day: date) -> bool:
    return v.effective_from <= day and (v.effective_to is None or day < v.effective_to)


def _overlaps(v: RateListVersion, start: date, end: date) -> bool:
    return v.effective_from < end and (v.effective_to is None or v.effective_to > start)


@dataclass
class Rates:
    """The rate list and its versions for each meter type ("" = fixed charges; "fees:<id>"
    = a fixed-fees rate list) of one billing point over a period."""

    lists: dict[str, RateList | None]
    versions: dict[str, list[RateListVersion]]

    def version(self, meter_type: str, day: date) -> RateListVersion | None:
        for v in self.versions.get(meter_type, []):
            if _in_effect(v, day):
                return v
        return None

    def cuts(self) -> set[date]:
        return {v.effective_from for vs in self.versions.values() for v in vs}


class RateBook:
    """Rate lists, versions, rules and add-ons of many billing points over a window, loaded
    by :func:`rate_book` in a fixed number of queries. :meth:`version_for` is the one rate
    resolution: the billing point's own list for the meter type, its catch-all list, then
    the variant's (or plan's) lists — the first whose version in effect that day has a rule
    for the meter type."""

    def __init__(self, subjects: list, start: date, end: date):
        self.overrides: dict[int, dict[str, RateList]] = defaultdict(dict)
        for o in BillingPointRateList.objects.filter(
            billing_point_id__in={s.billing_point_id for s in subjects}
        ).select_related("rate_list"):
            self.overrides[o.billing_point_id][o.meter_type] = o.rate_list
        plans = {p.pk: p for p in Plan.objects.filter(pk__in={s.plan_id for s in subjects})
                 .prefetch_related("rate_lists", "add_ons")}
        variants = {v.pk: v for v in PlanVariant.objects.filter(
            pk__in={s.variant_id for s in subjects if s.variant_id}
        ).prefetch_related("rate_lists", "add_ons")}
        #: (plan, variant) → the rate lists and the active add-ons it bills with
        self.plan_lists: dict[tuple, list[RateList]] = {}
        self._add_ons: dict[tuple, list[AddOn]] = {}
        for key in {(s.plan_id, s.variant_id) for s in subjects}:
            plan, variant = plans.get(key[0]), variants.get(key[1])
            own = list(variant.rate_lists.all()) if variant is not None else []
            self.plan_lists[key] = own or (list(plan.rate_lists.all()) if plan else [])
            found = {a.pk: a for a in plan.add_ons.all() if a.active} if plan else {}
            if variant is not None:
                found.update({a.pk: a for a in variant.add_ons.all() if a.active})
            self._add_ons[key] = list(found.values())
        list_ids = {rl.pk for lists in self.plan_lists.values() for rl in lists}
        list_ids |= {rl.pk for by in self.overrides.values() for rl in by.values()}
        self.versions: dict[int, list[RateListVersion]] = defaultdict(list)
        rules: dict[int, list[ChargeRule]] = defaultdict(list)
        versions = RateListVersion.objects.filter(
            rate_list_id__in=list_ids, effective_from__lt=end
        ).filter(Q(effective_to__isnull=True) | Q(effective_to__gt=start)).select_related(
            "rate_list"
        ).order_by("effective_from")
        for v in versions:
            self.versions[v.rate_list_id].append(v)
        for r in ChargeRule.objects.filter(
            version_id__in=[v.pk for vs in self.versions.values() for v in vs]
        ).order_by("position", "pk"):
            rules[r.version_id].append(r)
        calendars = {r.holiday_calendar_id for rs in rules.values() for r in rs
                     if r.holiday_calendar_id}
        holidays: dict[int, set[date]] = defaultdict(set)
        for cal, day in Holiday.objects.filter(calendar_id__in=calendars).values_list(
            "calendar_id", "date"
        ):
            holidays[cal].add(day)
        self.rules: dict[int, list[pricing.Rule]] = {
            vid: [r.to_pricing(frozenset(holidays.get(r.holiday_calendar_id, ()))) for r in rs]
            for vid, rs in rules.items()
        }
        self.types: dict[int, set[str]] = {
            vid: {r.meter_type for r in rs} for vid, rs in rules.items()
        }

    def rules_of(self, version: RateListVersion) -> list[pricing.Rule]:
        return self.rules.get(version.pk, [])

    def add_ons(self, subject) -> list[AddOn]:
        """The active add-ons of the subject's plan and variant."""
        return self._add_ons[(subject.plan_id, subject.variant_id)]

    def version_at(self, rate_list: RateList, day: date) -> RateListVersion | None:
        for v in self.versions.get(rate_list.pk, []):
            if _in_effect(v, day):
                return v
        return None

    def _lists(self, subject) -> list[RateList]:
        """The billing point's own rate lists, then its plan's (variant's)."""
        own = self.overrides.get(subject.billing_point_id, {})
        return [*own.values(), *self.plan_lists[(subject.plan_id, subject.variant_id)]]

    def version_for(self, subject, meter_type: str, day: date) -> RateListVersion | None:
        own = self.overrides.get(subject.billing_point_id, {})
        candidates = [own[k] for k in (meter_type, "") if k in own]
        candidates += self.plan_lists[(subject.plan_id, subject.variant_id)]
        for rate_list in candidates:
            v = self.version_at(rate_list, day)
            if v is not None and (not meter_type or meter_type in self.types.get(v.pk, ())):
                return v
        return None

    def fee_versions(self, subject, day: date) -> list[RateListVersion]:
        """Versions of the subject's rate lists that hold fixed charges only (e.g. a
        "service fees" list): charged whatever meters the billing point has."""
        out = []
        for rate_list in self._lists(subject):
            v = self.version_at(rate_list, day)
            if v is not None and self.fees_only(v):
                out.append(v)
        return out

    def fees_only(self, version: RateListVersion) -> bool:
        rules = self.rules.get(version.pk)
        return bool(rules) and all(r.kind == pricing.STANDING for r in rules)

    def rates_for(self, subject, types: set[str], start: date, end: date) -> Rates:
        """The rate list pricing each of ``types`` (and fixed charges) over ``[start, end)``
        (inside the book's window) with its versions there, plus every fixed-fees list whose
        prices change inside."""
        lists: dict[str, RateList | None] = {}
        versions: dict[str, list[RateListVersion]] = {}
        for meter_type in sorted(types | {""}):
            found = self.version_for(subject, meter_type, start) or self.version_for(
                subject, meter_type, end - timedelta(days=1)
            )
            lists[meter_type] = found.rate_list if found else None
            versions[meter_type] = [
                v for v in self.versions.get(found.rate_list_id, []) if _overlaps(v, start, end)
            ] if found else []
        for rate_list in self._lists(subject):  # price changes of fees
            inside = [v for v in self.versions.get(rate_list.pk, []) if _overlaps(v, start, end)]
            if any(self.fees_only(v) for v in inside):
                versions.setdefault(f"fees:{rate_list.pk}", inside)
        return Rates(lists, versions)


def rate_book(*, subjects: Iterable, start: date, end: date) -> RateBook:
    """The rate lists in effect over ``[start, end)`` (local dates) for every subject (a
    :class:`RateSubject` or anything with its fields, e.g. a subscription): overrides,
    plan and variant lists, versions with their pricing rules and holidays, and add-ons, in
    at most ten queries whatever the number of subjects."""
    return RateBook(list(subjects), start, end)


def rate_list_for(
    *, billing_point: BillingPoint, at: datetime | date, meter_type: str = "",
    plan: Plan | None = None, variant: PlanVariant | None = None,
) -> RateListVersion | None:
    """The rate-list version pricing ``meter_type`` at ``billing_point`` on ``at``: the
    :func:`rate_book` of that one billing point for that one day (``at`` is read in the
    property's time zone). Subscriptions (billing) say which plan applies; pass it."""
    day = timefmt.local_date(at, billing_point)
    plan_id = variant.plan_id if variant is not None else (plan.pk if plan else None)
    subject = RateSubject(billing_point.pk, plan_id, variant.pk if variant else None)
    book = rate_book(subjects=[subject], start=day, end=day + timedelta(days=1))
    return book.version_for(subject, meter_type, day)


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
