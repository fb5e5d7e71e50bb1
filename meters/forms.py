"""Portal forms of the meter registry: they parse input; services decide and write."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from billspree.core.form_fields import BoundedDateField
from billspree.core.forms import PublicIdChoiceField
from meters import selectors
from meters.models import UNITS_BY_TYPE, BillingPoint, Meter, MeterType, Property

DATE = forms.DateInput(attrs={"type": "date"})
REGISTER = {"max_digits": 20, "decimal_places": 4, "min_value": Decimal("0")}


def _unit_help() -> str:
    return "; ".join(f"{MeterType(t).label}: {', '.join(u)}" for t, u in UNITS_BY_TYPE.items())


class PropertyForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=[(z, z) for z in sorted(available_timezones())],
        help_text="Billing periods and dates on this property use this zone.",
    )
    currency = forms.ChoiceField(choices=[(c, c) for c in settings.CURRENCIES])

    class Meta:
        model = Property
        fields = ["name", "kind", "address", "time_zone", "currency"]
        widgets = {"address": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["time_zone"] = str(self.instance.time_zone)
            self.initial["currency"] = str(self.instance.currency)

    def validate_unique(self) -> None:
        """Uniqueness is the service's job (it names the clash)."""


class BillingPointForm(forms.ModelForm):
    class Meta:
        model = BillingPoint
        fields = ["connection_id", "name", "kind", "floor", "area_m2", "notes"]
        labels = {"connection_id": "Connection ID", "area_m2": "Area (m²)"}
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def validate_unique(self) -> None:
        pass


class NewConnectionForm(BillingPointForm):
    connected_on = BoundedDateField(
        widget=DATE,
        label="Meters connected on",
        help_text="Midnight in the property's time zone.",
    )


class NewMeterForm(forms.Form):
    """One meter row of the new connection flow; an empty row is skipped."""

    type = forms.ChoiceField(choices=[("", "—"), *MeterType.choices], required=False)
    serial_number = forms.CharField(max_length=64, required=False, label="Serial number")
    initial_reading = forms.DecimalField(required=False, label="Initial reading", **REGISTER)
    label = forms.CharField(max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("serial_number") and not data.get("type"):
            self.add_error("type", "Choose the meter type.")
        if data.get("type") and not data.get("serial_number"):
            self.add_error("serial_number", "Enter the serial number printed on the meter.")
        return data


NewMeterFormSet = forms.formset_factory(NewMeterForm, extra=3, max_num=20, validate_max=True)


class MeterForm(forms.ModelForm):
    parent = PublicIdChoiceField(
        Meter.objects.all(),
        required=False,
        label="Main meter",
        help_text="The meter upstream of this one (same type), if any.",
    )
    unit = forms.CharField(
        max_length=8, required=False, help_text=f"Blank: the usual unit. {_unit_help()}"
    )

    class Meta:
        model = Meter
        fields = [
            "type",
            "serial_number",
            "label",
            "unit",
            "multiplier",
            "register_digits",
            "parent",
            "notes",
            "rated_capacity",
        ]
        labels = {"rated_capacity": "Rated capacity (kW)"}
        widgets = {"notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["serial_number"].disabled = True
            self.fields["serial_number"].help_text = "Printed on the device; it never changes."
            self.fields["parent"].queryset = Meter.objects.exclude(pk=self.instance.pk)
            if self.instance.assignments.exists():
                self.fields["type"].disabled = True

    def validate_unique(self) -> None:
        pass


class MeterImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="First line: column names (serial_number, type, unit, label, multiplier, "
        "register_digits, parent, notes). Separated by , or ;.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise ValidationError("The file is larger than 5 MB; split it.")
        return upload


class AssignMeterForm(forms.Form):
    type = forms.ChoiceField(
        choices=[("", "All types"), *selectors.TYPE_FILTER_CHOICES],
        required=False,
        label="Meter type",
    )
    meter = PublicIdChoiceField(
        Meter.objects.none(),
        label="Inactive meter",
        empty_label="Choose a meter…",
        help_text="Only meters not connected anywhere are listed.",
    )
    connected_on = BoundedDateField(widget=DATE, label="Connection date")
    initial_reading = forms.DecimalField(initial=0, label="Initial reading", **REGISTER)

    def __init__(self, *args: Any, meter_type: str = "", **kwargs: Any):
        super().__init__(*args, **kwargs)
        # Offer only inactive meters, but accept any meter of the organization: one that
        # became active meanwhile then gets the service's message naming where it is.
        self.options = selectors.inactive_meters(type=meter_type)
        self.fields["meter"].queryset = Meter.objects.all()


class RemoveMeterForm(forms.Form):
    removed_on = BoundedDateField(widget=DATE, label="Removal date")
    final_reading = forms.DecimalField(label="Final reading", **REGISTER)


class ReplaceMeterForm(forms.Form):
    new_meter = PublicIdChoiceField(
        Meter.objects.none(),
        label="New meter",
        empty_label="Choose the new meter…",
        help_text="Inactive meters of the same type.",
    )
    replaced_on = BoundedDateField(widget=DATE, label="Replacement date")
    final_reading = forms.DecimalField(label="Old meter's final reading", **REGISTER)
    initial_reading = forms.DecimalField(initial=0, label="New meter's initial reading", **REGISTER)

    def __init__(self, *args: Any, meter_type: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["new_meter"].queryset = selectors.inactive_meters(type=meter_type)
