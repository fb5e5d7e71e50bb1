"""Dashboard card of tariffs: rate lists in force today, and price changes coming up; the
tariffs step of the getting-started checklist."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from billspree.core.dashboard import Card, Step, count
from billspree.core.portal import role_allows_url
from tariffs.models import ChargeRule, Plan, RateListVersion

UPCOMING_DAYS = 30


def cards(request: HttpRequest) -> list[Card]:
    today = timezone.localdate()
    in_force = Q(effective_from__lte=today) & (
        Q(effective_to__isnull=True) | Q(effective_to__gt=today)
    )
    upcoming = Q(effective_from__gt=today, effective_from__lte=today + timedelta(UPCOMING_DAYS))
    counts = RateListVersion.objects.aggregate(
        lists=Count("rate_list", distinct=True),
        in_force=Count("rate_list", filter=in_force, distinct=True),
        upcoming=Count("pk", filter=upcoming),
    )
    if not counts["lists"]:
        create = reverse("tariffs:rate_list_create")
        return [Card(label="Rate lists", value=0, foot="Set up prices before billing",
                     url=create if role_allows_url(request.role, create)
                     else reverse("tariffs:index"), tone="amber")]
    foot = (f"{counts['upcoming']} price change(s) in the next {UPCOMING_DAYS} days"
            if counts["upcoming"] else "No price change coming up")
    return [Card(label="Rate lists in force", value=f"{counts['in_force']} / {counts['lists']}",
                 foot=foot, url=reverse("tariffs:index"))]


def setup_steps(request: HttpRequest) -> list[Step]:
    rules = ChargeRule.objects.count()
    plans = Plan.objects.count()
    return [Step(60, "Set up tariffs: a rate list with prices, and a plan", bool(rules and plans),
                 reverse("tariffs:index") if rules else reverse("tariffs:rate_list_create"),
                 f"{count(rules, 'charge rule')}, {count(plans, 'plan')}"
                 if rules or plans else "")]
