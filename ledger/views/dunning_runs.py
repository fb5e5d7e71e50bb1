"""Portal pages of dunning runs and notices: send a day's reminders (a confirmation, then a
queued run), the runs (history, and a run's page with its progress polled by htmx while it
is queued or sending, then what it sent), a notice's page (its deliveries, the letter,
"Resend email"). Thin: parse, call one service, render."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_forms import error_text
from billspree.core.portal_pages import page_context, paginate
from billspree.core.portal_views import ActorMixin, ConfirmView, confirmed
from ledger.models import DunningNotice, DunningRun, DunningRunTrigger
from ledger.services import dunning as services
from ledger.services import dunning_runs as run_services

NAV = {"nav_section": "dunning"}
PAGE_SIZE = 25


def _day(request: HttpRequest, today: date) -> date:
    raw = (request.POST.get("date") or request.GET.get("date") or "").strip()
    if not raw:
        return today
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationError({"date": [f"“{raw[:20]}” is not a date (YYYY-MM-DD)."]}) from exc


def send_summary(rows: list[services.DunningDue]) -> dict[str, Any]:
    """What the confirmation says: how many reminders, the fees per currency, the emails."""
    fees: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        if r.fee:
            fees[str(r.account.currency)] += r.fee
    emails = sum(1 for r in rows if r.level.send_email and r.account.tenant.email)
    return {"count": len(rows), "fees": sorted(fees.items()), "emails": emails,
            "to_print": sum(1 for r in rows if r.level.send_email and not r.account.tenant.email)}


class DunningSendView(ActorMixin, OrganizationPortalMixin, View):
    """POST: a confirmation ("N reminders, fees X, Y emails"); with ``confirm=1``: start the
    day's run (queued) and go to its page. A run of the day that is still going is shown
    instead of a second one."""

    read_role = Role.MANAGER

    def get(self, request: HttpRequest) -> HttpResponse:
        return redirect("ledger:dunning_due")

    def post(self, request: HttpRequest) -> HttpResponse:
        today = organization_today(request)
        try:
            day = _day(request, today)
            if not confirmed(request):
                if day > today:
                    raise ValidationError({"date": [
                        f"{day} is in the future: reminders are sent on their day."]})
                rows = services.dunning_preview(day)
                return render(request, "ledger/dunning/send_confirm.html", {
                    **NAV, "rows": rows, "day": day, "today": today,
                    "summary": send_summary(rows), "live": run_services.live_run(day)})
            run = run_services.dunning_run_start(day=day, trigger=DunningRunTrigger.PORTAL,
                                                 **self.actor.kwargs())
        except ValidationError as exc:
            messages.error(request, error_text(exc))
            return redirect("ledger:dunning_due")
        if run.created_now:
            messages.success(request, f"Sending the reminders of {day}: {run.planned} planned.")
        else:
            messages.info(request, "The reminders of this day are being sent already: here "
                                   "is that run (nothing is sent twice).")
        return redirect("ledger:dunning_run", id=run.public_id)


class DunningRunListView(OrganizationPortalMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        page = paginate(request, DunningRun.objects.select_related("started_by"), PAGE_SIZE)
        return render(request, "ledger/dunning/run_list.html", {**NAV, **page_context(page)})


def _run(id: Any) -> DunningRun:
    return get_object_or_404(DunningRun.objects.select_related("started_by", "started_by_key"),
                             public_id=id)


class DunningRunDetailView(OrganizationPortalMixin, View):
    """A run: its progress (live while queued or sending), then the notices it sent with
    their letters, and its error when it failed."""

    model = DunningRun

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        run = _run(id)
        notices = (DunningNotice.objects.filter(run=run)
                   .select_related("invoice", "level", "account__tenant", "fee_entry")
                   .order_by("pk"))
        return render(request, "ledger/dunning/run_detail.html",
                      {**NAV, "run": run, "live": run.is_live, "notices": notices})


class DunningRunProgressView(OrganizationPortalMixin, View):
    """The progress fragment, polled every 2 s while the run is live; once it has finished
    it answers without the trigger and asks the page to reload (the result appears)."""

    model = DunningRun

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        run = _run(id)
        response = render(request, "ledger/dunning/_run_progress.html",
                          {"run": run, "live": run.is_live})
        if request.headers.get("HX-Request") and not run.is_live \
                and request.GET.get("was") == "live":
            response["HX-Refresh"] = "true"
        return response


class DunningNoticeDetailView(OrganizationPortalMixin, View):
    """A notice: what was open, the fee, the letter, and every email of it."""

    model = DunningNotice

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        notice = get_object_or_404(
            DunningNotice.objects.select_related("invoice", "level", "account__tenant",
                                                 "fee_entry", "run", "sent_by"),
            public_id=id)
        return render(request, "ledger/dunning/notice_detail.html", {
            **NAV, "notice": notice,
            "deliveries": notice.deliveries.select_related("requested_by")})


class DunningNoticeResendView(ConfirmView):
    """Email the letter again to the tenant's current address (confirmed first); a new
    delivery, no new fee, no new level."""

    model = DunningNotice
    queryset = DunningNotice.objects.select_related("invoice", "level", "account__tenant")
    read_role = Role.MANAGER
    require_confirm = True
    confirm_template = "ledger/dunning/confirm.html"

    def confirm_context(self, notice: DunningNotice) -> dict[str, Any]:
        to = notice.account.tenant.email or "(no email address)"
        return {**NAV, "title": f"Resend “{notice.level.name}” for invoice "
                                f"{notice.invoice.number}", "object": notice,
                "explain": f"The letter is emailed again to {to}. No fee is charged and the "
                           "notice stays as it is; the email is listed on the notice.",
                "verb": "Resend email", "back": self.success_url(notice)}

    def act(self, notice: DunningNotice) -> str:
        delivery = run_services.dunning_notice_resend(notice=notice, **self.actor.kwargs())
        return f"The letter is being emailed to {delivery.recipient}."

    def success_url(self, notice: DunningNotice) -> str:
        return reverse("ledger:dunning_notice", kwargs={"id": notice.public_id})
