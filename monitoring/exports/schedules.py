"""Scheduled reports: when each is next due, which period it reports, and sending the due
ones (the beat task ``monitoring.tasks.scheduled_reports_send`` calls
:func:`scheduled_reports_send` every few minutes).

**Sent once, even with two beats.** Each due report is handled in its own transaction that
first locks its row with ``SELECT … FOR UPDATE SKIP LOCKED`` and re-checks that it is
still due: a second beat running at the same moment skips the locked row, and one running
after the first committed sees ``next_run_at`` already advanced. The file is written and
the email sent inside that transaction, and ``next_run_at`` advances in it: if writing or
sending fails, nothing advances and the next beat tries again (the failure is kept in
``last_error``, committed apart, so the list page says why).

**Which period.** A report with ``period = previous`` reports the week (Monday–Sunday)
or calendar month before the local day it was due, in the organization's time zone, by
replacing the ``from``/``to`` of its stored query; ``saved`` sends the query as stored.
"""

from __future__ import annotations

import calendar
import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from billspree.core.mail import send_document_mail
from billspree.core.models import Membership
from billspree.core.scoping import organization_context
from billspree.core.timefmt import format_days, zone
from monitoring.exports import CONTENT_TYPES
from monitoring.models import ScheduledReport

log = logging.getLogger(__name__)
MAX_RECIPIENTS = 20


def parse_recipients(raw: str) -> list[str]:
    """Addresses separated by commas, semicolons or lines; every bad one named at once."""
    items = [r.strip() for r in raw.replace(";", ",").replace("\n", ",").split(",")]
    items = [r for r in items if r]
    if not items:
        raise ValidationError({"recipients": ["Give at least one email address."]})
    bad = []
    for item in items:
        try:
            validate_email(item)
        except ValidationError:
            bad.append(item)
    if bad:
        raise ValidationError({"recipients": [
            f"Not an email address: {', '.join(repr(b) for b in bad)}."]})
    if len(items) > MAX_RECIPIENTS:
        raise ValidationError({"recipients": [
            f"At most {MAX_RECIPIENTS} recipients; this is {len(items)}."]})
    return list(dict.fromkeys(items))


def next_run(report: ScheduledReport, after: datetime, where: Any) -> datetime:
    """The first scheduled instant strictly after ``after``: the report's weekday or day of
    the month (the month's last day when shorter) at its local hour where ``where`` is."""
    tz = zone(where)
    day = after.astimezone(tz).date()
    for _ in range(3):
        candidate = _at(_due_day(report, day), report.hour, tz)
        if candidate > after:
            return candidate
        day = _due_day(report, day) + timedelta(days=1)
    raise AssertionError("unreachable: a due day is found within three periods")


def _due_day(report: ScheduledReport, day: date) -> date:
    """The report's due day on or after ``day`` (weekly), or in ``day``'s month, or the
    next month's if that one is before ``day`` (monthly)."""
    if report.frequency == ScheduledReport.Frequency.WEEKLY:
        return day + timedelta(days=(report.weekday - day.weekday()) % 7)
    due = _month_day(day.year, day.month, report.day_of_month)
    if due < day:
        year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
        due = _month_day(year, month, report.day_of_month)
    return due


def _month_day(year: int, month: int, wanted: int) -> date:
    return date(year, month, min(wanted, calendar.monthrange(year, month)[1]))


def _at(day: date, hour: int, tz) -> datetime:
    """``hour``:00 local on ``day`` as an aware UTC instant (a time skipped by a DST change
    is read with the offset before it, i.e. an hour later on the clock)."""
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def report_period(report: ScheduledReport, due: datetime, where: Any) -> tuple[date, date]:
    """The previous week (Monday–Sunday) or calendar month before the local day ``due``."""
    day = due.astimezone(zone(where)).date()
    if report.frequency == ScheduledReport.Frequency.WEEKLY:
        monday = day - timedelta(days=day.weekday() + 7)
        return monday, monday + timedelta(days=6)
    last = day.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def report_query(report: ScheduledReport, due: datetime, where: Any) -> str:
    """The stored query with the report's period as ``from``/``to`` (``period=previous``)."""
    query = QueryDict(report.query, mutable=True)
    if report.period == ScheduledReport.Period.PREVIOUS:
        first, last = report_period(report, due, where)
        query["from"], query["to"] = first.isoformat(), last.isoformat()
    return query.urlencode()


# --- writes -------------------------------------------------------------------------------


def scheduled_report_save(*, report: ScheduledReport, actor: Any,
                          now: datetime | None = None) -> ScheduledReport:
    """Create or update: checks the page and its query (by running the page's export for
    the next period: a report that cannot be written is refused now, not at 07:00 on
    Monday), then saves with its next run."""
    from monitoring.exports.pages import export_view_class, page_export, query_errors

    org = report.organization if report.organization_id else _org()
    report.recipients = ", ".join(parse_recipients(report.recipients))
    report.next_run_at = next_run(report, now or timezone.now(), org)
    export_view_class(report.page)  # an unknown page is the page's error, not the query's
    try:
        with timezone.override(org.time_zone):
            page_export(page=report.page, query=report_query(report, report.next_run_at, org),
                        organization=org, user=actor)
    except ValidationError as exc:
        raise query_errors(exc) from None
    if report.created_by_id is None and getattr(actor, "pk", None):
        report.created_by = actor
    report.last_error = ""
    report.save()
    return report


def _org():
    from billspree.core.scoping import require_organization

    return require_organization()


def scheduled_report_delete(*, report: ScheduledReport) -> None:
    report.delete()


def _due(now: datetime):
    return ScheduledReport.objects.unscoped().filter(active=True, next_run_at__lte=now)


def scheduled_reports_send(*, now: datetime | None = None) -> int:
    """Send every due report once and advance it; returns how many were sent."""
    now = now or timezone.now()
    sent, failed = 0, set()
    while True:
        outcome = _send_one(now, exclude=failed)
        if outcome is None:
            return sent
        ok, pk = outcome
        if ok:
            sent += 1
        else:
            failed.add(pk)


def _send_one(now: datetime, exclude: set[int]) -> tuple[bool, int] | None:
    """Lock one due report (skipping ones another beat holds), send it, advance it."""
    error = ""
    with transaction.atomic():
        report = (_due(now).exclude(pk__in=exclude)
                  .select_for_update(skip_locked=True, of=("self",))
                  .select_related("organization", "created_by").order_by("next_run_at", "pk")
                  .first())
        if report is None:
            return None
        try:
            with transaction.atomic():  # a failure rolls back to here, the lock is kept
                _send(report)
        except Exception as exc:  # noqa: BLE001 - kept on the report, retried next beat
            log.exception("scheduled report %s failed", report.pk)
            error = f"{type(exc).__name__}: {str(exc)[:300]}"
        else:
            report.last_run_at = now
            report.last_error = ""
            report.next_run_at = next_run(report, max(now, report.next_run_at),
                                          report.organization)
            ScheduledReport.objects.unscoped().filter(pk=report.pk).update(
                last_run_at=report.last_run_at, next_run_at=report.next_run_at,
                last_error="")
            return True, report.pk
    ScheduledReport.objects.unscoped().filter(pk=report.pk).update(
        last_error=f"Not sent at {now:%Y-%m-%d %H:%M} UTC: {error}. Retried at the next beat.")
    return False, report.pk


def _send(report: ScheduledReport) -> None:
    from monitoring.exports.pages import export_bytes, page_export

    org = report.organization
    with organization_context(org), timezone.override(org.time_zone):
        role = (Membership.objects.filter(user_id=report.created_by_id)
                .values_list("role", flat=True).first()) if report.created_by_id else None
        export = page_export(page=report.page, query=report_query(report, report.next_run_at,
                                                                   org),
                             organization=org, user=report.created_by, role=role)
        content = export_bytes(export, report.format)
        filename = export.filename(report.format)
        period = export.period or _period_text(report, org)
        for to in report.recipient_list:
            send_document_mail(
                to=to, subject=f"{report.name} — {period}" if period else report.name,
                body=(f"{report.name} ({export.title}{', ' + period if period else ''}) of "
                      f"{org.name} is attached as {filename}.\n\nYou receive it "
                      f"{report.get_frequency_display().lower()} because you are among its "
                      "recipients; a manager of the organization can change that under "
                      "Monitoring → Scheduled reports.\n"),
                filename=filename, content=content,
                mimetype=CONTENT_TYPES[report.format].split(";")[0])


def _period_text(report: ScheduledReport, org: Any) -> str:
    if report.period != ScheduledReport.Period.PREVIOUS:
        return ""
    return format_days(*report_period(report, report.next_run_at, org))
