"""Occupancy: the overview of billing points, a billing point's timeline, move-outs
and owners."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views import View
from django.views.generic import DetailView, ListView

from billspree.core import timefmt
from billspree.core.actor import Actor
from billspree.core.billing_inputs import impacts_warn
from billspree.core.errors import Conflict
from billspree.core.portal import OrganizationPortalMixin
from billspree.core.portal_forms import error_text
from meters.models import BillingPoint
from tenants import forms, selectors, services
from tenants.models import Move, Occupancy, Ownership

TIMELINE_MONTHS = 24
HISTORY_START = datetime(1900, 1, 1, tzinfo=UTC)


# --- occupancy overview -------------------------------------------------------------------


class OccupancyOverviewView(OrganizationPortalMixin, ListView):
    """Every billing point with who is billed for it today: the occupant, or the owner
    when vacant. One page costs a constant number of queries (the set-based selector)."""

    model = BillingPoint
    template_name = "tenants/occupancy_overview.html"
    context_object_name = "billing_points"
    paginate_by = 50

    def get_queryset(self):
        self.filters = forms.OccupancyFilterForm(self.request.GET or None)
        qs = BillingPoint.objects.select_related("property").order_by("property__name", "name")
        if not self.filters.is_valid():
            return qs
        data = self.filters.cleaned_data
        if data["q"]:
            qs = qs.filter(Q(name__icontains=data["q"]) | Q(connection_id__icontains=data["q"]))
        if data["property"]:
            qs = qs.filter(property=data["property"])
        occupied = Exists(
            Occupancy.objects.filter(
                billing_point=OuterRef("pk"), move_in__lte=timezone.now()
            ).filter(Q(move_out__isnull=True) | Q(move_out__gt=timezone.now()))
        )
        if data["status"] == "vacant":
            qs = qs.filter(~occupied)
        elif data["status"] == "occupied":
            qs = qs.filter(occupied)
        return qs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        now = timezone.now()
        page = list(ctx["billing_points"])
        # From the beginning of records: the last segment starts when today's state began.
        segments = selectors.occupants_for_billing_points(
            [bp.pk for bp in page], HISTORY_START, now + timedelta(seconds=1)
        )
        ctx["rows"] = [(bp, segments[bp.pk][-1]) for bp in page]
        ctx["history_start"] = HISTORY_START
        ctx["filters"] = self.filters
        ctx["filtered"] = any(self.request.GET.get(k) for k in ("q", "property", "status"))
        return ctx


# --- billing point timeline ---------------------------------------------------------------


def timeline_bars(billing_point: BillingPoint, months: int = TIMELINE_MONTHS) -> dict[str, Any]:
    """Segments of the last ``months`` months with their share of the bar (in percent)."""
    tz = billing_point.property.time_zone
    now = timezone.now().astimezone(tz)
    start = timefmt.month_start(now.date(), now.tzinfo, months - 1)
    end = timefmt.month_start(now.date(), now.tzinfo, -1)
    segments = selectors.billing_point_occupants(billing_point, start, end)
    total = (end - start).total_seconds()
    bars = [
        {"segment": s, "percent": round((s.end - s.start).total_seconds() * 100 / total, 3)}
        for s in segments
    ]
    return {"bars": bars, "start": start, "end": end, "tz": tz}


class BillingPointOccupancyView(OrganizationPortalMixin, DetailView):
    """A billing point's occupancy over time: who, when, vacancies, moves, owner."""

    model = BillingPoint
    template_name = "tenants/billing_point.html"
    context_object_name = "billing_point"

    def get_queryset(self):
        return BillingPoint.objects.select_related("property")

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        bp = self.object
        ctx["occupancies"] = Occupancy.objects.filter(billing_point=bp).select_related("tenant")
        ctx["moves"] = Move.objects.filter(billing_point=bp).select_related(
            "outgoing__tenant", "incoming__tenant"
        )[:20]
        ctx["owner"] = selectors.owners_by_billing_point([bp.pk]).get(bp.pk)
        ctx["own_ownership"] = Ownership.objects.filter(billing_point=bp).first()
        ctx["timeline"] = timeline_bars(bp)
        ctx.setdefault("owner_form", forms.OwnerForm())
        return ctx


class OccupancyEndView(OrganizationPortalMixin, View):
    """Set or correct an occupancy's move-out (a move to vacancy is the usual way)."""

    model = Occupancy

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        occupancy = get_object_or_404(
            Occupancy.objects.select_related("tenant", "billing_point"), public_id=id
        )
        form = forms.OccupancyEndForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give the move-out date.")
        else:
            try:
                ended = services.occupancy_end(
                    occupancy=occupancy, move_out=form.cleaned_data["move_out"],
                    **Actor.of(request).kwargs()
                )
                messages.success(request, f"Move-out of {occupancy.tenant.name} saved.")
                impacts_warn(request, ended.impacts)
            except (ValidationError, Conflict) as exc:
                messages.error(request, error_text(exc))
        return redirect("tenants:billing_point", id=occupancy.billing_point.public_id)


class OwnerSetView(OrganizationPortalMixin, View):
    model = BillingPoint

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        bp = get_object_or_404(BillingPoint.objects.select_related("property"), public_id=id)
        form = forms.OwnerForm(request.POST)
        if not form.is_valid():
            messages.error(
                request, "Choose the owner and whether they own the unit or the property."
            )
            return redirect("tenants:billing_point", id=bp.public_id)
        data = form.cleaned_data
        services.ownership_set(
            owner=data["owner"],
            property=bp.property,
            billing_point=bp if data["scope"] == "billing_point" else None,
            **Actor.of(request).kwargs(),
        )
        where = bp.name if data["scope"] == "billing_point" else bp.property.name
        messages.success(request, f"{data['owner'].name} is now the owner of {where}.")
        return redirect("tenants:billing_point", id=bp.public_id)
