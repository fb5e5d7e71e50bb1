"""Portal pages of the meter registry (thin: forms parse, services write, selectors read)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import ListView

from billspree.core.errors import Conflict
from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin
from meters import forms, selectors, services
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property

PAGE_SIZE = 25
ASSIGN_NAMES = {"connected_at": "connected_on", "initial_reading": "initial_reading"}
REMOVE_NAMES = {"removed_at": "removed_on", "final_reading": "final_reading"}
REPLACE_NAMES = {
    "removed_at": "replaced_on",
    "connected_at": "replaced_on",
    "new_meter": "new_meter",
    "meter": "new_meter",
    "final_reading": "final_reading",
    "initial_reading": "initial_reading",
}


def _page(request: HttpRequest, queryset: Any) -> Any:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


class WriteView(OrganizationPortalMixin, View):
    """A form page only managers see (viewers get 403 on GET too: nothing to do there)."""

    read_role = Role.MANAGER


# --- properties ------------------------------------------------------------------------


class PropertyListView(OrganizationPortalMixin, ListView):
    model = Property
    template_name = "meters/property_list.html"
    context_object_name = "properties"
    paginate_by = PAGE_SIZE

    def get_queryset(self):
        return selectors.property_list(search=self.request.GET.get("q", "").strip())

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        ctx.update(
            q=self.request.GET.get("q", ""),
            query=_query_without_page(self.request),
            nav_section="properties",
        )
        return ctx


class PropertyCreateView(WriteView):
    model = Property

    def get(self, request: HttpRequest) -> HttpResponse:
        org = request.organization
        form = forms.PropertyForm(
            initial={"time_zone": str(org.time_zone), "currency": str(org.default_currency)}
        )
        return self._render(form)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.PropertyForm(request.POST)
        if form.is_valid():
            try:
                prop = services.property_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                forms.apply_errors(form, exc, {})
            else:
                messages.success(request, f"Property {prop.name} created. Add its billing points.")
                return redirect("meters:property_detail", id=prop.public_id)
        return self._render(form, status=400)

    def _render(self, form: forms.PropertyForm, status: int = 200) -> HttpResponse:
        ctx = {"form": form, "nav_section": "properties"}
        return render(self.request, "meters/property_form.html", ctx, status=status)


class PropertyEditView(WriteView):
    model = Property

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        prop = get_object_or_404(Property, public_id=id)
        return self._render(prop, forms.PropertyForm(instance=prop))

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        prop = get_object_or_404(Property, public_id=id)
        form = forms.PropertyForm(request.POST, instance=Property.objects.get(pk=prop.pk))
        if form.is_valid():
            changed = {k: form.cleaned_data[k] for k in form.changed_data}
            try:
                services.property_update(property=prop, actor=request.user, **changed)
            except ValidationError as exc:
                forms.apply_errors(form, exc, {})
            else:
                messages.success(request, "Property saved." if changed else "Nothing changed.")
                return redirect("meters:property_detail", id=prop.public_id)
        return self._render(prop, form, status=400)

    def _render(self, prop: Property, form: Any, status: int = 200) -> HttpResponse:
        ctx = {"form": form, "property": prop, "nav_section": "properties"}
        return render(self.request, "meters/property_form.html", ctx, status=status)


class PropertyDetailView(OrganizationPortalMixin, View):
    model = Property

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        prop = get_object_or_404(Property, public_id=id)
        q, kind = request.GET.get("q", "").strip(), request.GET.get("kind", "")
        points = selectors.billing_point_list(property=prop, search=q, kind=kind)
        ctx = {
            "property": prop,
            "page_obj": _page(request, points),
            "q": q,
            "kind": kind,
            "kinds": BillingPoint.Kind.choices,
            "query": _query_without_page(request),
            "filtered": bool(q or kind),
            "nav_section": "properties",
        }
        return render(request, "meters/property_detail.html", ctx)


# --- billing points --------------------------------------------------------------------


class NewConnectionView(WriteView):
    """The new connection flow: a billing point and its meters, connected in one step."""

    model = Property

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        prop = get_object_or_404(Property, public_id=id)
        return self._render(prop, forms.NewConnectionForm(), forms.NewMeterFormSet(prefix="m"))

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        prop = get_object_or_404(Property, public_id=id)
        form = forms.NewConnectionForm(request.POST)
        formset = forms.NewMeterFormSet(request.POST, prefix="m")
        if form.is_valid() and formset.is_valid():
            bp = self._create(prop, form, formset)
            if bp is not None:
                messages.success(request, f"{bp.name} created with its meters connected.")
                return redirect("meters:billing_point_detail", id=bp.public_id)
        return self._render(prop, form, formset, status=400)

    def _create(self, prop: Property, form: Any, formset: Any) -> BillingPoint | None:
        rows = [f for f in formset.forms if f.cleaned_data.get("serial_number")]
        items = [
            services.NewMeter(
                type=f.cleaned_data["type"],
                serial_number=f.cleaned_data["serial_number"],
                initial_reading=f.cleaned_data.get("initial_reading") or 0,
                label=f.cleaned_data.get("label", ""),
            )
            for f in rows
        ]
        data = {k: v for k, v in form.cleaned_data.items() if k != "connected_on"}
        try:
            return services.billing_point_create_with_meters(
                property=prop,
                meters=items,
                connected_at=form.cleaned_data["connected_on"],
                actor=self.request.user,
                **data,
            )
        except (ValidationError, Conflict) as exc:
            self._errors(form, rows, exc)
            return None

    def _errors(self, form: Any, rows: list, exc: ValidationError | Conflict) -> None:
        """``meters[i].field`` errors go on meter row i; the rest on the billing point."""
        if isinstance(exc, Conflict):
            items = {k: [exc.message] for k in exc.fields} or {"": [exc.message]}
        else:
            items = exc.message_dict
        for key, msgs in items.items():
            target, name = form, key
            if key.startswith("meters["):
                target, name = rows[int(key[7 : key.index("]")])], key.split(".", 1)[1]
            target.add_error(name if name in target.fields else None, msgs)

    def _render(self, prop: Property, form: Any, formset: Any, status: int = 200) -> HttpResponse:
        ctx = {
            "property": prop,
            "form": form,
            "formset": formset,
            "types": MeterType.choices,
            "nav_section": "properties",
        }
        return render(self.request, "meters/billing_point_new.html", ctx, status=status)


class BillingPointDetailView(OrganizationPortalMixin, View):
    model = BillingPoint

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        bp = get_object_or_404(BillingPoint.objects.select_related("property"), public_id=id)
        history = selectors.assignment_history(billing_point=bp).filter(removed_at__isnull=False)
        ctx = {
            "bp": bp,
            "active": selectors.active_assignments(bp),
            "history": history,
            "nav_section": "properties",
        }
        return render(request, "meters/billing_point_detail.html", ctx)


class BillingPointEditView(WriteView):
    model = BillingPoint

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        bp = get_object_or_404(BillingPoint, public_id=id)
        return self._render(bp, forms.BillingPointForm(instance=bp))

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        bp = get_object_or_404(BillingPoint, public_id=id)
        form = forms.BillingPointForm(request.POST, instance=BillingPoint.objects.get(pk=bp.pk))
        if form.is_valid():
            changed = {k: form.cleaned_data[k] for k in form.changed_data}
            try:
                services.billing_point_update(billing_point=bp, actor=request.user, **changed)
            except ValidationError as exc:
                forms.apply_errors(form, exc, {})
            else:
                messages.success(request, "Billing point saved." if changed else "Nothing changed.")
                return redirect("meters:billing_point_detail", id=bp.public_id)
        return self._render(bp, form, status=400)

    def _render(self, bp: BillingPoint, form: Any, status: int = 200) -> HttpResponse:
        ctx = {"bp": bp, "form": form, "nav_section": "properties"}
        return render(self.request, "meters/billing_point_form.html", ctx, status=status)


class AssignMeterView(WriteView):
    """The existing connection flow: pick an inactive meter (filtered by type) and connect it.

    Changing the type select asks (htmx) for the meter options only."""

    model = BillingPoint

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        bp = get_object_or_404(BillingPoint.objects.select_related("property"), public_id=id)
        meter_type = request.GET.get("type", "")
        form = forms.AssignMeterForm(initial={"type": meter_type}, meter_type=meter_type)
        if request.htmx:
            return render(request, "meters/_meter_options.html", {"form": form})
        return self._render(bp, form)

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        bp = get_object_or_404(BillingPoint.objects.select_related("property"), public_id=id)
        form = forms.AssignMeterForm(request.POST, meter_type=request.POST.get("type", ""))
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.meter_assign(
                    billing_point=bp,
                    meter=data["meter"],
                    connected_at=data["connected_on"],
                    initial_reading=data["initial_reading"],
                    actor=request.user,
                )
            except (ValidationError, Conflict) as exc:
                forms.apply_errors(form, exc, ASSIGN_NAMES)
            else:
                messages.success(request, f"Meter {data['meter'].serial_number} assigned.")
                return redirect("meters:billing_point_detail", id=bp.public_id)
        return self._render(bp, form, status=400)

    def _render(self, bp: BillingPoint, form: Any, status: int = 200) -> HttpResponse:
        ctx = {"bp": bp, "form": form, "nav_section": "properties"}
        return render(self.request, "meters/assign.html", ctx, status=status)


class ConfirmedActionView(WriteView):
    """Two steps: the form is checked and shown back for confirmation; only a POST with
    ``confirm=1`` changes anything."""

    model = MeterAssignment
    template_name = ""
    names: dict[str, str] = {}

    def assignment(self, id: str) -> MeterAssignment:
        return get_object_or_404(
            MeterAssignment.objects.select_related("meter", "billing_point__property"),
            public_id=id,
        )

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        a = self.assignment(id)
        if a.removed_at is not None:
            messages.error(request, f"Meter {a.meter.serial_number} is no longer connected here.")
            return redirect("meters:billing_point_detail", id=a.billing_point.public_id)
        return self._render(a, self.make_form(a, None))

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        a = self.assignment(id)
        form = self.make_form(a, request.POST)
        if not form.is_valid():
            return self._render(a, form, status=400)
        if request.POST.get("back"):
            return self._render(a, form)
        if request.POST.get("confirm") != "1":
            return self._render(a, form, confirming=True)
        try:
            with transaction.atomic():
                message = self.perform(a, form.cleaned_data)
        except (ValidationError, Conflict) as exc:
            forms.apply_errors(form, exc, self.names)
            return self._render(a, form, status=400)
        messages.success(request, message)
        return redirect("meters:billing_point_detail", id=a.billing_point.public_id)

    def _render(
        self, a: MeterAssignment, form: Any, confirming: bool = False, status: int = 200
    ) -> HttpResponse:
        ctx = {
            "a": a,
            "bp": a.billing_point,
            "form": form,
            "confirming": confirming,
            "nav_section": "properties",
        }
        return render(self.request, self.template_name, ctx, status=status)

    def make_form(self, a: MeterAssignment, data: Any) -> Any:
        raise NotImplementedError

    def perform(self, a: MeterAssignment, data: dict[str, Any]) -> str:
        raise NotImplementedError


class RemoveMeterView(ConfirmedActionView):
    template_name = "meters/assignment_remove.html"
    names = REMOVE_NAMES

    def make_form(self, a: MeterAssignment, data: Any) -> forms.RemoveMeterForm:
        return forms.RemoveMeterForm(data)

    def perform(self, a: MeterAssignment, data: dict[str, Any]) -> str:
        services.meter_remove(
            assignment=a,
            removed_at=data["removed_on"],
            final_reading=data["final_reading"],
            actor=self.request.user,
        )
        return f"Meter {a.meter.serial_number} removed from {a.billing_point.name}."


class ReplaceMeterView(ConfirmedActionView):
    template_name = "meters/assignment_replace.html"
    names = REPLACE_NAMES

    def make_form(self, a: MeterAssignment, data: Any) -> forms.ReplaceMeterForm:
        return forms.ReplaceMeterForm(data, meter_type=a.meter.type)

    def perform(self, a: MeterAssignment, data: dict[str, Any]) -> str:
        new = services.meter_replace(
            assignment=a,
            new_meter=data["new_meter"],
            replaced_at=data["replaced_on"],
            final_reading=data["final_reading"],
            initial_reading=data["initial_reading"],
            actor=self.request.user,
        )
        return f"Meter {a.meter.serial_number} replaced by {new.meter.serial_number}."


# --- meters ----------------------------------------------------------------------------


class MeterListView(OrganizationPortalMixin, View):
    model = Meter

    def get(self, request: HttpRequest) -> HttpResponse:
        q = request.GET.get("q", "").strip()
        meter_type = request.GET.get("type", "")
        status = request.GET.get("status", "")
        if meter_type not in dict(selectors.TYPE_FILTER_CHOICES):
            meter_type = ""
        if status not in (selectors.Status.ACTIVE, selectors.Status.INACTIVE):
            status = ""
        meters = selectors.meter_list(search=q, type=meter_type, status=status)
        ctx = {
            "page_obj": _page(request, meters),
            "q": q,
            "type": meter_type,
            "status": status,
            "types": selectors.TYPE_FILTER_CHOICES,
            "statuses": selectors.Status.CHOICES,
            "query": _query_without_page(request),
            "filtered": bool(q or meter_type or status),
            "nav_section": "meters",
        }
        return render(request, "meters/meter_list.html", ctx)


class MeterCreateView(WriteView):
    model = Meter

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(forms.MeterForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.MeterForm(request.POST)
        if form.is_valid():
            try:
                meter = services.meter_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                forms.apply_errors(form, exc, {})
            else:
                messages.success(request, f"Meter {meter.serial_number} created.")
                return redirect("meters:meter_detail", id=meter.public_id)
        return self._render(form, status=400)

    def _render(self, form: Any, status: int = 200) -> HttpResponse:
        ctx = {"form": form, "nav_section": "meters"}
        return render(self.request, "meters/meter_form.html", ctx, status=status)


class MeterEditView(WriteView):
    """Rename a meter (and adjust multiplier, digits, main meter); the serial stays."""

    model = Meter

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        meter = get_object_or_404(Meter, public_id=id)
        return self._render(meter, forms.MeterForm(instance=meter))

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        meter = get_object_or_404(Meter, public_id=id)
        form = forms.MeterForm(request.POST, instance=Meter.objects.get(pk=meter.pk))
        if form.is_valid():
            changed = {k: form.cleaned_data[k] for k in form.changed_data}
            try:
                services.meter_update(meter=meter, actor=request.user, **changed)
            except ValidationError as exc:
                forms.apply_errors(form, exc, {})
            else:
                messages.success(request, "Meter saved." if changed else "Nothing changed.")
                return redirect("meters:meter_detail", id=meter.public_id)
        return self._render(meter, form, status=400)

    def _render(self, meter: Meter, form: Any, status: int = 200) -> HttpResponse:
        ctx = {"meter": meter, "form": form, "nav_section": "meters"}
        return render(self.request, "meters/meter_form.html", ctx, status=status)


class MeterDetailView(OrganizationPortalMixin, View):
    model = Meter

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        meter = get_object_or_404(selectors.meters_with_status(), public_id=id)
        ctx = {
            "meter": meter,
            "history": selectors.assignment_history(meter=meter),
            "sub_meters": selectors.sub_meters(meter),
            "nav_section": "meters",
        }
        return render(request, "meters/meter_detail.html", ctx)


class MeterImportView(WriteView):
    model = Meter

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(forms.MeterImportForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = forms.MeterImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(form, status=400)
        try:
            created = services.meter_import_csv(
                content=form.cleaned_data["file"].read(), actor=request.user
            )
        except services.MeterImportRejected as exc:
            return self._render(form, rejected=exc.errors, status=400)
        messages.success(request, f"Imported {len(created)} meters.")
        return redirect("meters:meter_list")

    def _render(self, form: Any, rejected: list | None = None, status: int = 200) -> HttpResponse:
        ctx = {"form": form, "rejected": rejected, "nav_section": "meters"}
        return render(self.request, "meters/meter_import.html", ctx, status=status)
