"""``/api/v1/scheduled-reports/``: a report page's export emailed weekly or monthly (thin:
the portal's :class:`~monitoring.exports.forms.ScheduledReportForm` checks the input, so
the API and the portal refuse the same things with the same words, and
``scheduled_report_save`` checks the page's query and sets ``next_run_at``).

``PATCH`` sends only what changes; the rest is the report as stored, and the whole is
checked again (switching ``frequency`` to ``weekly`` needs a ``weekday``).
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import transaction
from django.forms.models import model_to_dict
from rest_framework import serializers

from billspree.core.actor import Actor
from billspree.core.api_base import OrganizationModelSerializer, OrganizationModelViewSet
from monitoring.api.exports import PageField, ReportQueryField
from monitoring.exports.forms import ScheduledReportForm
from monitoring.exports.pages import exportable_pages
from monitoring.exports.schedules import scheduled_report_delete, scheduled_report_save
from monitoring.models import ExportFormat, ScheduledReport

FORM_FIELDS = ScheduledReportForm.Meta.fields


class RecipientsField(serializers.ListField):
    """Email addresses (a list; each item may also hold several, separated by commas)."""

    def __init__(self, **kwargs: Any):
        super().__init__(child=serializers.CharField(max_length=254), allow_empty=False,
                         **kwargs)

    def to_representation(self, value: str) -> list[str]:
        return [r.strip() for r in value.replace("\n", ",").split(",") if r.strip()]


class ScheduledReportSerializer(OrganizationModelSerializer):
    """A scheduled report. Weekly reports are sent on ``weekday`` (0 Monday … 6 Sunday),
    monthly ones on ``day_of_month`` (the month's last day when it is shorter), at ``hour``
    local time of the organization; ``period`` ``previous`` reports the week (Monday–Sunday)
    or month before the day it is sent, ``saved`` the dates in ``query``."""

    page = PageField()
    page_title = serializers.SerializerMethodField()
    query = ReportQueryField(required=False)
    recipients = RecipientsField(help_text="Email addresses (at most 20).")
    next_run_at = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text="When it is sent next (UTC); it is not sent while active is false.")

    class Meta:
        model = ScheduledReport
        fields = ["id", "name", "page", "page_title", "query", "format", "period", "frequency",
                  "weekday", "day_of_month", "hour", "recipients", "active", "next_run_at",
                  "last_run_at", "last_error", "created_at"]
        read_only_fields = ["next_run_at", "last_run_at", "last_error", "created_at"]

    def get_page_title(self, report: ScheduledReport) -> str:
        if "page_titles" not in self.context:  # once per answer, not per row
            self.context["page_titles"] = dict(exportable_pages())
        return self.context["page_titles"].get(report.page, report.page)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The portal's form, on the stored report (a new one: the model's defaults)
        overlaid with this request's fields."""
        report = self.instance or ScheduledReport()
        data = {**model_to_dict(report, fields=FORM_FIELDS), **attrs}
        if "recipients" in attrs:
            data["recipients"] = ", ".join(attrs["recipients"])
        form = ScheduledReportForm(data=data, instance=report)
        if not form.is_valid():
            raise serializers.ValidationError(
                {("non_field_errors" if name == "__all__" else name): list(errors)
                 for name, errors in form.errors.items()})
        return {"report": form.instance}


class ScheduledReportFilter(django_filters.FilterSet):
    # not ``format``: DRF reads ``?format=`` as the answer's renderer
    file_format = django_filters.ChoiceFilter(field_name="format", choices=ExportFormat.choices,
                                              help_text="The file's format.")

    class Meta:
        model = ScheduledReport
        fields = ["active", "frequency"]


class ScheduledReportViewSet(OrganizationModelViewSet):
    """Scheduled reports: managers and write keys create, change and delete them; every
    member and read key reads them. Validation is the portal form's."""

    queryset = ScheduledReport.objects.all()
    serializer_class = ScheduledReportSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_class = ScheduledReportFilter
    search_fields = ["name"]
    ordering_fields = ["name", "next_run_at", "created_at"]

    def perform_create(self, serializer: ScheduledReportSerializer) -> None:
        self._save(serializer)

    def perform_update(self, serializer: ScheduledReportSerializer) -> None:
        self._save(serializer)

    def _save(self, serializer: ScheduledReportSerializer) -> None:
        with transaction.atomic():
            serializer.instance = scheduled_report_save(
                report=serializer.validated_data["report"], actor=Actor.of(self.request).user)

    def perform_destroy(self, instance: ScheduledReport) -> None:
        scheduled_report_delete(report=instance)
