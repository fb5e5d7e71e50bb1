"""Portal pages of tenants: list, detail, forms, the "register a move" flow, a billing
point's occupancy timeline and RFID badges. Thin: forms parse, services write."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import DetailView, ListView

from billspree.core.errors import Conflict
from billspree.core.portal import OrganizationPortalMixin
from meters.models import BillingPoint
from tenants import forms, selectors, services
from tenants.models import BadgeAssignment, Move, Occupancy, Ownership, RfidBadge, Tenant

TIMELINE_MONTHS = 24
HISTORY_START = datetime(1900, 1, 1, tzinfo=UTC)


def _errors_into(form, exc: ValidationError | Conflict, default: str | None = None) -> None:
    """Put a service error on the form fields it names (else on the form)."""
    if isinstance(exc, Conflict):
        fields = exc.fields or {None: [exc.message]}
        for name in fields:
            form.add_error(name if name in form.fields else default, exc.message)
        return
    for name, msgs in exc.message_dict.items():
        for msg in msgs:
            form.add_error(name if name in form.fields else default, msg)


def _error_text(exc: ValidationError | Conflict) -> str:
    if isinstance(exc, Conflict):
        return exc.message
    return " ".join(m for msgs in exc.message_dict.values() for m in msgs)


# --- tenants ------------------------------------------------------------------------------


def _open_occupancies() -> Prefetch:
    return Prefetch(
        "occupancies",
        queryset=Occupancy.objects.filter(move_out__isnull=True).select_related("billing_point"),
        to_attr="current",
    )


class TenantListView(OrganizationPortalMixin, ListView):
    model = Tenant
    template_name = "tenants/tenant_list.html"
    context_object_name = "tenants"
    paginate_by = 25

    def get_queryset(self):
        self.filters = forms.TenantFilterForm(self.request.GET or None)
        qs = Tenant.objects.prefetch_related(_open_occupancies())
        if not self.filters.is_valid():
            return qs
        data = self.filters.cleaned_data
        if data["q"]:
            q = data["q"].strip()
            qs = qs.filter(
                Q(name__icontains=q)
                | Q(customer_number__icontains=q)
                | Q(email__icontains=q)
                | Q(contact_person__icontains=q)
            )
        if data["kind"]:
            qs = qs.filter(kind=data["kind"])
        occupying = Exists(Occupancy.objects.filter(tenant=OuterRef("pk"), move_out__isnull=True))
        if data["status"] == "occupying":
            qs = qs.filter(occupying)
        elif data["status"] == "none":
            qs = qs.filter(~occupying)
        return qs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["filters"] = self.filters
        ctx["filtered"] = any(self.request.GET.get(k) for k in ("q", "kind", "status"))
        return ctx


class TenantCreateView(OrganizationPortalMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "tenants/tenant_form.html", {"form": forms.TenantForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.TenantForm(request.POST)
        if form.is_valid():
            try:
                tenant = services.tenant_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, f"Created {tenant.name} ({tenant.customer_number}).")
                return redirect("tenants:detail", id=tenant.public_id)
        return render(request, "tenants/tenant_form.html", {"form": form}, status=400)


class TenantUpdateView(OrganizationPortalMixin, View):
    model = Tenant

    def _render(self, request, tenant, form, status=200):
        ctx = {"form": form, "tenant": tenant}
        return render(request, "tenants/tenant_form.html", ctx, status=status)

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        tenant = get_object_or_404(Tenant, public_id=id)
        return self._render(request, tenant, forms.TenantForm(instance=tenant))

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        tenant = get_object_or_404(Tenant, public_id=id)
        form = forms.TenantForm(request.POST, instance=Tenant.objects.get(pk=tenant.pk))
        if form.is_valid():
            try:
                services.tenant_update(tenant=tenant, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, f"Saved {tenant.name}.")
                return redirect("tenants:detail", id=tenant.public_id)
        return self._render(request, tenant, form, status=400)


class TenantDetailView(OrganizationPortalMixin, DetailView):
    model = Tenant
    template_name = "tenants/tenant_detail.html"
    context_object_name = "tenant"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        tenant = self.object
        ctx["occupancies"] = tenant.occupancies.select_related("billing_point__property")
        ctx["badges"] = tenant.badge_assignments.select_related("badge")
        ctx["ownerships"] = tenant.ownerships.select_related("property", "billing_point")
        ctx.setdefault("occupancy_form", forms.OccupancyForm())
        ctx.setdefault("badge_form", forms.TenantBadgeForm())
        ctx["return_form"] = forms.BadgeReturnForm(initial={"returned_on": date.today()})  # noqa: DTZ011
        return ctx


class TenantOccupancyCreateView(OrganizationPortalMixin, View):
    """Record an occupancy directly (e.g. history when a building is taken over)."""

    model = Tenant

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        tenant = get_object_or_404(Tenant, public_id=id)
        form = forms.OccupancyForm(request.POST)
        if form.is_valid():
            try:
                services.occupancy_create(tenant=tenant, actor=request.user, **form.cleaned_data)
            except (ValidationError, Conflict) as exc:
                _errors_into(form, exc, default="move_in")
            else:
                bp = form.cleaned_data["billing_point"]
                messages.success(request, f"{tenant.name} now occupies {bp.name}.")
                return redirect("tenants:detail", id=tenant.public_id)
        view = TenantDetailView(request=request, kwargs={"id": id}, object=tenant)
        ctx = view.get_context_data(occupancy_form=form)
        return render(request, "tenants/tenant_detail.html", ctx, status=400)


class TenantBadgeAssignView(OrganizationPortalMixin, View):
    model = Tenant

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        tenant = get_object_or_404(Tenant, public_id=id)
        form = forms.TenantBadgeForm(request.POST)
        if form.is_valid() and _assign_badge(request, form, tenant):
            return redirect("tenants:detail", id=tenant.public_id)
        view = TenantDetailView(request=request, kwargs={"id": id}, object=tenant)
        ctx = view.get_context_data(badge_form=form)
        return render(request, "tenants/tenant_detail.html", ctx, status=400)


def _assign_badge(request: HttpRequest, form, tenant: Tenant) -> bool:
    data = form.cleaned_data
    try:
        assignment = services.badge_assign(
            uid=data["uid"],
            label=data["label"],
            tenant=tenant,
            assigned_at=data["assigned_on"],
            actor=request.user,
        )
    except (ValidationError, Conflict) as exc:
        _errors_into(form, exc, default="uid")
        return False
    messages.success(request, f"Badge {assignment.badge.uid} handed to {tenant.name}.")
    return True


# --- badges -------------------------------------------------------------------------------


class BadgeListView(OrganizationPortalMixin, ListView):
    model = RfidBadge
    template_name = "tenants/badge_list.html"
    context_object_name = "badges"
    paginate_by = 50

    def get_queryset(self):
        held = BadgeAssignment.objects.filter(returned_at__isnull=True).select_related("tenant")
        qs = RfidBadge.objects.prefetch_related(Prefetch("assignments", held, to_attr="held"))
        q = self.request.GET.get("q", "").strip()
        if q:
            qs = qs.filter(Q(uid__icontains=q) | Q(label__icontains=q))
        return qs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx.setdefault("form", forms.BadgeAssignForm(initial={"assigned_on": date.today()}))  # noqa: DTZ011
        ctx["return_form"] = forms.BadgeReturnForm(initial={"returned_on": date.today()})  # noqa: DTZ011
        ctx["q"] = self.request.GET.get("q", "")
        return ctx

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.BadgeAssignForm(request.POST)
        if form.is_valid() and _assign_badge(request, form, form.cleaned_data["tenant"]):
            return redirect("tenants:badge_list")
        self.object_list = self.get_queryset()
        return render(request, self.template_name, self.get_context_data(form=form), status=400)


class BadgeReturnView(OrganizationPortalMixin, View):
    model = BadgeAssignment

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        assignment = get_object_or_404(
            BadgeAssignment.objects.select_related("tenant"), public_id=id
        )
        form = forms.BadgeReturnForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give the date the badge was returned.")
        else:
            try:
                services.badge_return(
                    assignment=assignment,
                    returned_at=form.cleaned_data["returned_on"],
                    actor=request.user,
                )
                messages.success(request, "Badge returned; it can be handed out again.")
            except (ValidationError, Conflict) as exc:
                messages.error(request, _error_text(exc))
        back = request.POST.get("next", "")
        return redirect(back if back.startswith("/tenants/") else reverse("tenants:badge_list"))


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


def _month_start(moment: datetime, months_back: int) -> datetime:
    year, month = moment.year, moment.month - months_back
    while month <= 0:
        month, year = month + 12, year - 1
    return moment.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


def timeline_bars(billing_point: BillingPoint, months: int = TIMELINE_MONTHS) -> dict[str, Any]:
    """Segments of the last ``months`` months with their share of the bar (in percent)."""
    tz = billing_point.property.time_zone
    now = timezone.now().astimezone(tz)
    start = _month_start(now, months - 1)
    end = _month_start(now, -1)
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
                services.occupancy_end(
                    occupancy=occupancy, move_out=form.cleaned_data["move_out"], actor=request.user
                )
                messages.success(request, f"Move-out of {occupancy.tenant.name} saved.")
            except (ValidationError, Conflict) as exc:
                messages.error(request, _error_text(exc))
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
            actor=request.user,
        )
        where = bp.name if data["scope"] == "billing_point" else bp.property.name
        messages.success(request, f"{data['owner'].name} is now the owner of {where}.")
        return redirect("tenants:billing_point", id=bp.public_id)


# --- moves ----------------------------------------------------------------------------------


class MoveListView(OrganizationPortalMixin, ListView):
    model = Move
    template_name = "tenants/move_list.html"
    context_object_name = "moves"
    paginate_by = 25

    def get_queryset(self):
        return Move.objects.select_related(
            "billing_point__property", "outgoing__tenant", "incoming__tenant"
        )


class MoveRegisterView(OrganizationPortalMixin, View):
    """Register a move in steps: where and when → who leaves (shown), who comes or vacancy,
    meter readings → confirm. Nothing is written before the confirmation, and the service
    writes all of it or nothing."""

    template_name = "tenants/move_register.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        if "moved_on" not in request.GET:  # first visit, maybe from a billing point's page
            initial = {"moved_on": date.today(), "billing_point": request.GET.get("billing_point")}  # noqa: DTZ011
            return self._render(request, "start", start_form=forms.MoveStartForm(initial=initial))
        start = forms.MoveStartForm(request.GET)
        if not start.is_valid():
            return self._render(request, "start", start_form=start, status=400)
        form, ctx = self._move_form(start.cleaned_data, initial=start.cleaned_data)
        return self._render(request, "details", form=form, **ctx)

    def post(self, request: HttpRequest) -> HttpResponse:
        start = forms.MoveStartForm(request.POST)
        if not start.is_valid():
            return self._render(request, "start", start_form=start, status=400)
        form, ctx = self._move_form(start.cleaned_data, data=request.POST)
        step = request.POST.get("step")
        if not form.is_valid() or step == "edit":
            status = 200 if form.is_valid() else 400
            return self._render(request, "details", form=form, status=status, **ctx)
        if step != "confirm":
            return self._render(request, "confirm", form=form, **ctx)
        return self._register(request, form, ctx)

    def _register(self, request: HttpRequest, form, ctx: dict) -> HttpResponse:
        data = form.cleaned_data
        try:
            move = services.move_register(
                billing_point=data["billing_point"],
                moved_at=data["moved_on"],
                incoming_tenant=data["incoming_tenant"],
                readings=form.readings(),
                note=data["note"],
                actor=request.user,
            )
        except (ValidationError, Conflict) as exc:
            _errors_into(form, exc)
            return self._render(request, "details", form=form, status=400, **ctx)
        who = move.incoming.tenant.name if move.incoming else "vacancy (billed to the owner)"
        messages.success(request, f"Move registered at {move.billing_point.name}: now {who}.")
        return redirect("tenants:billing_point", id=move.billing_point.public_id)

    def _move_form(self, where: dict, data=None, initial=None):
        bp = where["billing_point"]
        at = services.to_instant(where["moved_on"], bp.property.time_zone, field="moved_on")
        meters = services.move_meters(bp, at)
        form = forms.MoveForm(data, initial=initial, meters=meters)
        ctx = {"billing_point": bp, "moved_at": at, "outgoing": selectors.occupancy_at(bp, at)}
        ctx["owner"] = selectors.owners_by_billing_point([bp.pk]).get(bp.pk)
        return form, ctx

    def _render(self, request, step: str, status: int = 200, **ctx) -> HttpResponse:
        ctx["step"] = step
        return render(request, self.template_name, ctx, status=status)


def billing_point_moves_url(billing_point: BillingPoint) -> str:
    """Where a billing point's page links to start a move there."""
    return f"{reverse('tenants:move_register')}?billing_point={billing_point.public_id}"
