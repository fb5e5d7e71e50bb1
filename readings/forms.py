"""Portal forms of readings: they parse input; the services apply the rules."""

from __future__ import annotations

from django import forms

from billspree.core.files import LimitedFileField
from billspree.core.form_fields import BoundedDateField, BoundedDateTimeField
from readings.models import Quality, Source, Upload
from readings.parsing import parse_value


class UploadForm(forms.Form):
    file = LimitedFileField(
        label="CSV file",
        help_text="Columns meterNumber, readAt, value [, quality]; ',' or ';' separated; "
        "decimal comma accepted; dates as 2026-12-03 or 03.12.2026 (14:00 optional), in the "
        "property's time zone; without a time, midnight.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    all_or_nothing = forms.BooleanField(
        label="All or nothing",
        required=False,
        initial=True,
        help_text="Import nothing if any row is bad (recommended). Untick to import the good rows.",
    )
    replace = forms.BooleanField(
        label="Replace differing readings",
        required=False,
        help_text="Correct readings already stored at the same instant "
        "(the old value is kept in the audit).",
    )


class ManualReadingForm(forms.Form):
    read_at = BoundedDateTimeField(
        label="Read at",
        help_text="Local time of the property.",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    value = forms.CharField(
        label="Register value",
        max_length=30,
        help_text="As shown on the register; decimal comma accepted.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def clean_value(self):
        return _register_value(self.cleaned_data["value"])


class ReadingFilterForm(forms.Form):
    meter = forms.CharField(
        label="Meter number",
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "All meters"}),
    )
    start = BoundedDateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = BoundedDateField(
        label="Until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    source = forms.ChoiceField(choices=[("", "Any source"), *Source.choices], required=False)
    quality = forms.ChoiceField(choices=[("", "Any quality"), *Quality.choices], required=False)
    anomalies = forms.BooleanField(label="Anomalies only", required=False)


class AnomalyReviewForm(forms.Form):
    action = forms.ChoiceField(choices=[("confirm", "Confirm"), ("correct", "Correct")])
    value = forms.CharField(required=False, max_length=30)
    note = forms.CharField(required=False, max_length=200)

    def clean_value(self):
        raw = self.cleaned_data["value"]
        return _register_value(raw) if raw not in (None, "") else None


def _register_value(raw: str):
    """The same number parser as the API and CSV paths ("12,5" is 12.5)."""
    value, why = parse_value(raw)
    if why:
        raise forms.ValidationError(why)
    return value


UPLOAD_STATUS_BADGES = {
    Upload.Status.DONE: "badge-green",
    Upload.Status.REJECTED: "badge-red",
    Upload.Status.FAILED: "badge-red",
    Upload.Status.PROCESSING: "badge-amber",
    Upload.Status.PENDING: "badge-amber",
}
