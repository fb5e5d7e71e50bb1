"""Portal page of measurements: the latest value of every series, and the CSV upload
(imported in the request, all or nothing, with every bad row on the page)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from billspree.core.files import LimitedFileField
from billspree.core.portal_forms import error_text
from readings.measurements import selectors
from readings.measurements.csv_import import (
    CSV_ROW_LIMIT,
    TEMPLATE,
    MeasurementCsvError,
    measurements_csv_import,
)
from readings.measurements.models import MeasurementSeries, Quantity
from readings.views import ReadingsPortalMixin

SERIES_ON_PAGE = 200


class MeasurementUploadForm(forms.Form):
    file = LimitedFileField(
        label="CSV file",
        help_text="Columns meterNumber or sensorNumber, quantity, measuredAt, value [, unit]; "
        f"',' or ';' separated; decimal comma accepted; at most {CSV_ROW_LIMIT:,} rows. "
        "Times without an offset are local to the device's property.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    replace = forms.BooleanField(
        label="Replace differing values", required=False,
        help_text="Overwrite values already stored for the same device, quantity and instant.",
    )


class MeasurementsView(ReadingsPortalMixin, View):
    model = MeasurementSeries
    template_name = "readings/measurements.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(request, MeasurementUploadForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = MeasurementUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(request, form, status=400)
        try:
            outcome = measurements_csv_import(**form.cleaned_data)
        except (MeasurementCsvError, ValidationError) as exc:
            form.add_error("file", str(exc) if isinstance(exc, MeasurementCsvError)
                           else error_text(exc))
            return self.render(request, form, status=400)
        return self.render(request, MeasurementUploadForm() if outcome.committed else form,
                           outcome=outcome, status=200 if outcome.committed else 400)

    def render(self, request, form, *, outcome=None, status=200) -> HttpResponse:
        from readings.rollups import meter_zones

        series = list(selectors.series_with_latest()[:SERIES_ON_PAGE])
        zones = meter_zones({s.meter_id for s in series if s.meter_id},
                            request.organization.time_zone)
        for s in series:  # shown in the device's property's zone, the value as stored
            s.where = s.sensor.property if s.sensor_id else zones.get(
                s.meter_id, request.organization)
            s.latest_text = _number(s.latest_value)
        return render(request, self.template_name, {
            "form": form, "series": series, "outcome": outcome,
            "rejected": outcome.rejected[:200] if outcome else [],
            "quantities": Quantity.choices,  # the raw-data download form
        }, status=status)


def _number(value: float | None) -> str:
    """1500.0 → "1500", 21.25 → "21.25" (at most 4 decimals, no float noise)."""
    if value is None:
        return "–"
    return f"{value:.4f}".rstrip("0").rstrip(".")


class MeasurementsTemplateView(ReadingsPortalMixin, View):
    """A CSV to fill in: the header and two example rows."""

    def get(self, request: HttpRequest) -> HttpResponse:
        response = HttpResponse(TEMPLATE, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="measurements-template.csv"'
        return response
