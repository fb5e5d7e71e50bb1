"""The scheduled-report form: parses and checks input; the service saves."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from monitoring.exports.pages import exportable_pages, report_query
from monitoring.exports.schedules import parse_recipients
from monitoring.models import ScheduledReport


class ScheduledReportForm(forms.ModelForm):
    page = forms.ChoiceField(label="Report", choices=())
    query = forms.CharField(
        label="Report settings", required=False, max_length=2000,
        help_text="The report page's query, as its address shows it after the “?” (e.g. "
                  "group_by=property,month). Open the report, choose its filters, and use "
                  "“Schedule this report” to fill this in.")
    recipients = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}),
                                 help_text="Email addresses, separated by commas or lines.")

    class Meta:
        model = ScheduledReport
        fields = ("name", "page", "query", "format", "period", "frequency", "weekday",
                  "day_of_month", "hour", "recipients", "active")
        labels = {"day_of_month": "Day of the month", "hour": "Hour (local time, 0–23)",
                  "weekday": "Weekday", "period": "Period reported"}
        help_texts = {"day_of_month": "1–31; the month's last day when the month is shorter.",
                      "period": "The previous week (Monday–Sunday) or month before the "
                                "day it is sent, or the dates saved in the settings."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["page"].choices = exportable_pages()

    def clean_query(self) -> str:
        return report_query(self.cleaned_data.get("query", "").lstrip("?"))

    def clean_recipients(self) -> str:
        try:
            return ", ".join(parse_recipients(self.cleaned_data["recipients"]))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["recipients"]) from None

    def clean(self):
        data = super().clean()
        frequency = data.get("frequency")
        if frequency == ScheduledReport.Frequency.WEEKLY and data.get("weekday") is None:
            self.add_error("weekday", "A weekly report needs the weekday it is sent on.")
        if frequency == ScheduledReport.Frequency.MONTHLY and data.get("day_of_month") is None:
            self.add_error("day_of_month", "A monthly report needs the day it is sent on.")
        if frequency == ScheduledReport.Frequency.WEEKLY:
            data["day_of_month"] = None
        elif frequency == ScheduledReport.Frequency.MONTHLY:
            data["weekday"] = None
        return data
