"""The portal's multi-step flows: new connection, assign, remove and replace (with a
confirmation step), and the CSV import with its per-row report."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from billspree.core.actor import Actor
from billspree.core.billing_inputs import impacts_warn
from billspree.core.errors import Conflict
from billspree.core.models import Role
from billspree.core.portal_forms import form_errors
from billspree.core.portal_views import ConfirmView, confirmed
from meters import forms, services
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from meters.views.common import ASSIGN_NAMES, REMOVE_NAMES, REPLACE_NAMES, WriteView


def _today(prop: Property) -> date:
    """Today where the property is (the default connection date of a form)."""
    return timezone.now().astimezone(ZoneInfo(str(prop.time_zone))).date()


class NewConnectionView(WriteView):
    """The new connection flow: a billing point and its meters, connected in one step."""

    model = Property

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        prop = get_object_or_404(Property, public_id=id)
        form = forms.NewConnectionForm(initial={"connected_on": _today(prop)})
        return self._render(prop, form, forms.NewMeterFormSet(prefix="m"))

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
                **self.actor.kwargs(),
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


class AssignMeterView(WriteView):
    """The existing connection flow: pick an inactive meter (filtered by type) and connect it.

    Changing the type select asks (htmx) for the meter options only."""

    model = BillingPoint

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        bp = get_object_or_404(BillingPoint.objects.select_related("property"), public_id=id)
        meter_type = request.GET.get("type", "")
        form = forms.AssignMeterForm(
            initial={"type": meter_type, "connected_on": _today(bp.property)},
            meter_type=meter_type,
        )
        if request.htmx:
            return render(request, "meters/_meter_options.html", {"form": form})
        return self._render(bp, form)

    def post(self, request: HttpRequest, id: str) -> HttpResponse:
        bp = get_object_or_404(BillingPoint.objects.select_related("property"), public_id=id)
        form = forms.AssignMeterForm(request.POST, meter_type=request.POST.get("type", ""))
        if form.is_valid():
            data = form.cleaned_data
            try:
                assigned = services.meter_assign(
                    billing_point=bp,
                    meter=data["meter"],
                    connected_at=data["connected_on"],
                    initial_reading=data["initial_reading"],
                    **Actor.of(request).kwargs(),
                )
            except (ValidationError, Conflict) as exc:
                form_errors(form, exc, names=ASSIGN_NAMES)
            else:
                messages.success(request, f"Meter {data['meter'].serial_number} assigned.")
                impacts_warn(request, getattr(assigned, "impacts", None))
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
        if not confirmed(request):
            return self._render(a, form, confirming=True)
        try:
            message = self.perform(a, form.cleaned_data)
        except (ValidationError, Conflict) as exc:
            form_errors(form, exc, names=self.names)
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
        removed = services.meter_remove(
            assignment=a,
            removed_at=data["removed_on"],
            final_reading=data["final_reading"],
            **self.actor.kwargs(),
        )
        impacts_warn(self.request, getattr(removed, "impacts", None))
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
            **self.actor.kwargs(),
        )
        impacts_warn(self.request, getattr(new, "impacts", None))
        return f"Meter {a.meter.serial_number} replaced by {new.meter.serial_number}."


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
                content=form.cleaned_data["file"].read(), **Actor.of(request).kwargs()
            )
        except services.MeterImportRejected as exc:
            return self._render(form, rejected=exc.errors, status=400)
        messages.success(request, f"Imported {len(created)} meters.")
        return redirect("meters:meter_list")

    def _render(self, form: Any, rejected: list | None = None, status: int = 200) -> HttpResponse:
        ctx = {"form": form, "rejected": rejected, "nav_section": "meters"}
        return render(self.request, "meters/meter_import.html", ctx, status=status)


class DeleteView(ConfirmView):
    """Delete a property, billing point or meter that has no history, after a confirmation.

    The service refuses (Conflict) anything with billing history; the page then says why."""

    read_role = Role.MANAGER
    confirm_template = "meters/confirm_delete.html"
    require_confirm = True
    kind = ""

    def confirm_context(self, obj: Any) -> dict[str, Any]:
        return {
            "obj": obj,
            "kind": self.kind,
            "back": self.detail_url(obj),
            "nav_section": "meters" if self.model is Meter else "properties",
        }

    def delete_object(self, obj: Any) -> None:
        raise NotImplementedError

    def detail_url(self, obj: Any) -> str:
        raise NotImplementedError

    def after_url(self, obj: Any) -> str:
        raise NotImplementedError

    def act(self, obj: Any) -> str:
        self.delete_object(obj)
        return f"{self.kind.capitalize()} {obj} deleted."

    def success_url(self, obj: Any) -> str:
        return self.after_url(obj)

    def failure_url(self, obj: Any) -> str:
        return self.detail_url(obj)


class PropertyDeleteView(DeleteView):
    model = Property
    kind = "property"

    def delete_object(self, obj: Property) -> None:
        services.property_delete(property=obj, **self.actor.kwargs())

    def detail_url(self, obj: Property) -> str:
        return reverse("meters:property_detail", kwargs={"id": obj.public_id})

    def after_url(self, obj: Property) -> str:
        return reverse("meters:index")


class BillingPointDeleteView(DeleteView):
    model = BillingPoint
    kind = "billing point"

    def delete_object(self, obj: BillingPoint) -> None:
        services.billing_point_delete(billing_point=obj, **self.actor.kwargs())

    def detail_url(self, obj: BillingPoint) -> str:
        return reverse("meters:billing_point_detail", kwargs={"id": obj.public_id})

    def after_url(self, obj: BillingPoint) -> str:
        return reverse("meters:property_detail", kwargs={"id": obj.property.public_id})


class MeterDeleteView(DeleteView):
    model = Meter
    kind = "meter"

    def delete_object(self, obj: Meter) -> None:
        services.meter_delete(meter=obj, **self.actor.kwargs())

    def detail_url(self, obj: Meter) -> str:
        return reverse("meters:meter_detail", kwargs={"id": obj.public_id})

    def after_url(self, obj: Meter) -> str:
        return reverse("meters:meter_list")
