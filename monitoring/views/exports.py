"""Portal pages of background exports and scheduled reports (thin: look up through the
organization scope, call a service, render)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.generic import DetailView, ListView

from billspree.core.files import private_file_response
from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin
from monitoring.exports import CONTENT_TYPES, background_rows
from monitoring.exports.forms import ScheduledReportForm
from monitoring.exports.jobs import retention_days, stuck_reason
from monitoring.exports.pages import exportable_pages
from monitoring.exports.schedules import scheduled_report_delete, scheduled_report_save
from monitoring.models import ExportJob, ScheduledReport


def retry_url(job: ExportJob) -> str:
    return f"{job.page}?{job.query}{'&' if job.query else ''}format={job.format}" + (
        f"&table={job.table}" if job.table else "")


class ExportListView(OrganizationPortalMixin, ListView):
    """The organization's background exports, newest first."""

    model = ExportJob
    template_name = "monitoring/export_list.html"
    context_object_name = "jobs"
    paginate_by = 25

    def get_queryset(self):
        return ExportJob.objects.select_related("created_by")

    def get_context_data(self, **kwargs):
        return super().get_context_data(tab="exports", background_rows=background_rows(),
                                        retention_days=retention_days(), **kwargs)


class ExportDetailView(OrganizationPortalMixin, DetailView):
    """A job's progress (htmx polls the partial every second until it is finished), its
    error, and the download link when done."""

    model = ExportJob
    context_object_name = "job"
    template_name = "monitoring/export_detail.html"

    def get_context_data(self, **kwargs):
        job = self.object
        return super().get_context_data(tab="exports", stuck=stuck_reason(job),
                                        retry=retry_url(job), **kwargs)

    def get_template_names(self):
        if self.request.headers.get("HX-Request"):
            return ["monitoring/_export_progress.html"]
        return [self.template_name]


class ExportDownloadView(OrganizationPortalMixin, View):
    """The file from the private storage (scoped lookup: another organization's job is a
    404, like a missing one)."""

    model = ExportJob

    def get(self, request: HttpRequest, id) -> HttpResponse:
        job = get_object_or_404(ExportJob.objects.all(), public_id=id,
                                status=ExportJob.Status.DONE)
        return private_file_response(job.file, filename=job.filename or f"export.{job.format}",
                                     content_type=CONTENT_TYPES[job.format])


class ScheduleListView(OrganizationPortalMixin, ListView):
    model = ScheduledReport
    template_name = "monitoring/schedule_list.html"
    context_object_name = "schedules"
    paginate_by = 50

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(tab="schedules", **kwargs)
        titles = dict(exportable_pages())
        for report in ctx["schedules"]:
            report.page_title = titles.get(report.page, report.page)
        return ctx


class ScheduleFormView(OrganizationPortalMixin, View):
    """Create (no id) or edit a scheduled report; managers and admins."""

    model = ScheduledReport
    read_role = Role.MANAGER

    def _report(self, id) -> ScheduledReport:
        if id is None:
            return ScheduledReport()
        return get_object_or_404(ScheduledReport.objects.all(), public_id=id)

    def get(self, request: HttpRequest, id=None) -> HttpResponse:
        report = self._report(id)
        initial = {}
        if id is None:  # "Schedule this report" on a report page fills these in
            initial = {k: request.GET[k] for k in ("page", "query", "format", "name")
                       if k in request.GET}
        return self._render(ScheduledReportForm(instance=report, initial=initial), report)

    def post(self, request: HttpRequest, id=None) -> HttpResponse:
        report = self._report(id)
        form = ScheduledReportForm(request.POST, instance=report)
        if form.is_valid():
            try:
                scheduled_report_save(report=form.instance, actor=request.user)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, f"Scheduled report “{report.name}” saved: next "
                                          "sending shown below.")
                return redirect("monitoring:schedule_list")
        return self._render(form, report, status=400)

    def _render(self, form, report, status: int = 200) -> HttpResponse:
        return render(self.request, "monitoring/schedule_form.html",
                      {"form": form, "report": report if report.pk else None,
                       "tab": "schedules"}, status=status)


class ScheduleDeleteView(OrganizationPortalMixin, View):
    model = ScheduledReport
    read_role = Role.MANAGER

    def get(self, request: HttpRequest, id) -> HttpResponse:
        report = get_object_or_404(ScheduledReport.objects.all(), public_id=id)
        return render(request, "monitoring/schedule_delete.html",
                      {"report": report, "tab": "schedules"})

    def post(self, request: HttpRequest, id) -> HttpResponse:
        report = get_object_or_404(ScheduledReport.objects.all(), public_id=id)
        scheduled_report_delete(report=report)
        messages.success(request, f"Scheduled report “{report.name}” deleted.")
        return redirect("monitoring:schedule_list")
