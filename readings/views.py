"""Portal pages of readings (thin: forms parse, services change, selectors read)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from billspree.core.actor import Actor
from billspree.core.billing_inputs import impacts_warn
from billspree.core.errors import Conflict
from billspree.core.files import private_file_response
from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin
from billspree.core.portal_forms import error_text, form_errors
from meters.models import Meter, MeterAssignment
from readings import selectors, services
from readings.charts import meter_day_chart, meter_month_chart
from readings.forms import (
    UPLOAD_STATUS_BADGES,
    AnomalyReviewForm,
    ManualReadingForm,
    ReadingFilterForm,
    UploadForm,
)
from readings.models import Reading, ReadingAnomaly, Source, Upload
from readings.parsing import local_forms, localize
from readings.registers import advance

PAGE_SIZE = 50


class ReadingsPortalMixin(OrganizationPortalMixin):
    write_role = Role.OPERATOR


def _page(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", 1)))
    except ValueError:
        return 1


def _org_tz(request: HttpRequest):
    tz = request.organization.time_zone
    return ZoneInfo(str(tz)) if not hasattr(tz, "utcoffset") else tz


class ReadingListView(ReadingsPortalMixin, TemplateView):
    """All readings, newest first, with filters; no COUNT(*) over the big table."""

    template_name = "readings/reading_list.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        form = ReadingFilterForm(self.request.GET or None)
        qs = Reading.objects.select_related("meter").order_by("-read_at")
        if form.is_bound and form.is_valid():
            qs = self._filter(qs, form.cleaned_data)
        page = _page(self.request)
        rows = list(qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
        query = self.request.GET.copy()
        query.pop("page", None)
        ctx.update(
            form=form,
            readings=rows[:PAGE_SIZE],
            page=page,
            has_next=len(rows) > PAGE_SIZE,
            query=query.urlencode(),
            open_anomalies=selectors.open_anomalies().count(),
            filtered=bool(self.request.GET),
        )
        return ctx

    def _filter(self, qs, data):
        tz = _org_tz(self.request)
        if data["meter"]:
            serial = data["meter"].strip()
            meter_id = (
                Meter.objects.filter(serial_number=serial).values_list("id", flat=True).first()
            )
            qs = qs.filter(meter_id=meter_id) if meter_id else qs.none()
        if data["start"]:
            qs = qs.filter(read_at__gte=datetime.combine(data["start"], time(), tzinfo=tz))
        if data["end"]:
            qs = qs.filter(
                read_at__lt=datetime.combine(data["end"] + timedelta(days=1), time(), tzinfo=tz)
            )
        for name in ("source", "quality"):
            if data[name]:
                qs = qs.filter(**{name: data[name]})
        if data["anomalies"]:
            qs = qs.filter(is_anomaly=True)
        return qs


def _meter_tz(meter: Meter, fallback):
    current = (
        MeterAssignment.objects.filter(meter=meter)
        .select_related("billing_point__property")
        .order_by("-connected_at")
        .first()
    )
    tz = current.billing_point.property.time_zone if current else fallback
    return ZoneInfo(str(tz)) if not hasattr(tz, "utcoffset") else tz


class MeterReadingsView(ReadingsPortalMixin, View):
    """One meter: its readings, monthly consumption, and manual entry with a preview."""

    model = Meter
    template_name = "readings/meter_readings.html"

    def get(self, request: HttpRequest, id) -> HttpResponse:
        meter = get_object_or_404(Meter.objects.all(), public_id=id)
        return self.render(request, meter, ManualReadingForm())

    def post(self, request: HttpRequest, id) -> HttpResponse:
        meter = get_object_or_404(Meter.objects.all(), public_id=id)
        form = ManualReadingForm(request.POST)
        if not form.is_valid():
            return self.render(request, meter, form, status=400)
        tz = _meter_tz(meter, request.organization.time_zone)
        read_at, why = localize(form.cleaned_data["read_at"].replace(tzinfo=None), tz)
        if why:
            form.add_error("read_at", why)
            return self.render(request, meter, form, status=400)
        if request.POST.get("step") != "save":
            return self.render(
                request, meter, form, preview=_preview(meter, read_at, form.cleaned_data["value"])
            )
        try:
            result = services.reading_enter(
                meter=meter, read_at=read_at, value=form.cleaned_data["value"],
                **Actor.of(request).kwargs()
            )
        except ValidationError as exc:
            form_errors(form, exc)
            return self.render(request, meter, form, status=400)
        messages.success(
            request, f"Reading {form.cleaned_data['value']} saved for {meter.serial_number}."
        )
        impacts_warn(request, result.impacts)
        return redirect("readings:meter", id=meter.public_id)

    def render(self, request, meter, form, preview=None, status=200) -> HttpResponse:
        tz = _meter_tz(meter, request.organization.time_zone)
        ctx = {
            "meter": meter,
            "form": form,
            "preview": preview,
            "tz": tz,
            "readings": list(selectors.readings_for_meter(meter=meter)[:PAGE_SIZE]),
            "month_chart": meter_month_chart(meter=meter, tz=tz),
            "day_chart": meter_day_chart(meter=meter, tz=tz),
            "can_enter": Role.at_least(request.role, Role.OPERATOR),
        }
        return render(request, self.template_name, ctx, status=status)


def _preview(meter: Meter, read_at: datetime, value: Decimal) -> dict:
    """The previous reading and what the new one implies, shown before saving."""
    previous = selectors.previous_reading(meter=meter, before=read_at)
    preview = {"read_at": read_at, "value": value, "previous": previous}
    if previous is not None:
        delta, kind = advance(previous.value, value, Decimal(10) ** meter.register_digits)
        preview.update(
            kind=kind, consumption=delta * meter.multiplier, days=(read_at - previous.read_at).days
        )
    return preview


class UploadView(ReadingsPortalMixin, View):
    template_name = "readings/upload.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(request, UploadForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = UploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(request, form, status=400)
        try:
            upload = services.upload_create(**Actor.of(request).kwargs(), **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, error_text(exc))
            return self.render(request, form, status=400)
        return redirect("readings:upload_detail", id=upload.public_id)

    def render(self, request, form, status=200) -> HttpResponse:
        uploads = selectors.recent_uploads(source=Source.UPLOAD)[:20]
        return render(
            request,
            self.template_name,
            {
                "form": form,
                "uploads": uploads,
                "badges": UPLOAD_STATUS_BADGES,
                "date_forms": local_forms(_org_tz(request)),
            },
            status=status,
        )


class UploadTemplateView(ReadingsPortalMixin, View):
    """A CSV to fill in: the header and one example row (a meter of the organization, today
    at midnight in its property's date form, its latest value), for any member."""

    def get(self, request: HttpRequest) -> HttpResponse:
        body = selectors.upload_template_csv(default_tz=_org_tz(request), now=timezone.now())
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="readings-template.csv"'
        return response


class UploadDetailView(ReadingsPortalMixin, View):
    model = Upload
    template_name = "readings/upload_detail.html"

    def get(self, request: HttpRequest, id) -> HttpResponse:
        upload = get_object_or_404(Upload.objects.all(), public_id=id)
        return render(
            request, self.template_name, {"upload": upload, "badges": UPLOAD_STATUS_BADGES}
        )


class UploadProgressView(ReadingsPortalMixin, View):
    """The progress bar alone, polled by htmx until the upload is finished."""

    model = Upload

    def get(self, request: HttpRequest, id) -> HttpResponse:
        upload = get_object_or_404(Upload.objects.all(), public_id=id)
        response = render(
            request,
            "readings/_upload_progress.html",
            {"upload": upload, "badges": UPLOAD_STATUS_BADGES},
        )
        if upload.is_finished and request.headers.get("HX-Request"):
            response["HX-Refresh"] = "true"  # show the outcome and error report
        return response


class UploadErrorsView(ReadingsPortalMixin, View):
    model = Upload

    def get(self, request: HttpRequest, id) -> HttpResponse:
        upload = get_object_or_404(Upload.objects.all(), public_id=id)
        response = HttpResponse(services.upload_error_csv(upload=upload), content_type="text/csv")
        response["Content-Disposition"] = (
            f'attachment; filename="upload-{upload.public_id}-errors.csv"'
        )
        return response


class UploadFileView(ReadingsPortalMixin, View):
    """The CSV as it was sent, from the private ``uploads`` storage (scoped lookup: another
    organization's upload is a 404), under the sender's file name."""

    model = Upload

    def get(self, request: HttpRequest, id) -> HttpResponse:
        upload = get_object_or_404(Upload.objects.all(), public_id=id)
        return private_file_response(
            upload.file, filename=upload.filename or f"upload-{upload.public_id}.csv",
            content_type="text/csv",
        )


class AnomalyListView(ReadingsPortalMixin, TemplateView):
    template_name = "readings/anomalies.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        status = self.request.GET.get("status", ReadingAnomaly.Status.OPEN)
        qs = ReadingAnomaly.objects.select_related("meter", "reviewed_by").order_by("-read_at")
        if status in ReadingAnomaly.Status.values:
            qs = qs.filter(status=status)
        page = _page(self.request)
        rows = list(qs[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
        ctx.update(
            anomalies=rows[:PAGE_SIZE],
            page=page,
            has_next=len(rows) > PAGE_SIZE,
            status=status,
            statuses=ReadingAnomaly.Status.choices,
            can_review=Role.at_least(self.request.role, Role.OPERATOR),
        )
        return ctx


class AnomalyReviewView(ReadingsPortalMixin, View):
    model = ReadingAnomaly

    def post(self, request: HttpRequest, id) -> HttpResponse:
        anomaly = get_object_or_404(ReadingAnomaly.objects.all(), public_id=id)
        form = AnomalyReviewForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose confirm or correct (with a value).")
            return redirect("readings:anomalies")
        try:
            services.anomaly_review(anomaly=anomaly, **Actor.of(request).kwargs(),
                                    **form.cleaned_data)
        except (ValidationError, Conflict) as exc:
            messages.error(request, f"{anomaly.meter.serial_number}: {error_text(exc)}")
        else:
            messages.success(
                request,
                f"Anomaly of {anomaly.meter.serial_number} {anomaly.get_status_display().lower()}.",
            )
        return redirect(reverse("readings:anomalies"))
