"""Portal pages of dunning: reminders due on a day (preview), the notices sent (with their
letters), the ladder, pausing an account's reminders, invoice disputes. Sending a day's
reminders, the runs and a notice's page are in ``ledger/views/dunning_runs.py``.
Thin: parse, call one service, render."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View

from billing.models import Invoice
from billspree.core.models import Role
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_pages import page_context, paginate
from billspree.core.portal_views import ConfirmView, ServiceFormView
from ledger.models import Account, DunningLevel, DunningNotice, DunningRun, InvoiceDispute
from ledger.models.dunning import LIVE_RUN_STATUSES
from ledger.services import accounts as account_services
from ledger.services import dunning as services
from ledger.views import dunning_forms as forms

NAV = {"nav_section": "dunning"}
PAGE_SIZE = 25


def _date_param(request: HttpRequest, today: date) -> tuple[date, str]:
    raw = request.GET.get("date", "").strip()
    if not raw:
        return today, ""
    try:
        return date.fromisoformat(raw), ""
    except ValueError:
        return today, f"“{raw[:20]}” is not a date (YYYY-MM-DD); showing today."


class DunningDueView(OrganizationPortalMixin, View):
    """Reminders due on a day (today by default): what the run will send."""

    def get(self, request: HttpRequest) -> HttpResponse:
        today = organization_today(request)
        day, bad = _date_param(request, today)
        if bad:
            messages.error(request, bad)
        rows = services.dunning_preview(day)
        return render(request, "ledger/dunning/due.html", {
            **NAV, "rows": rows, "day": day, "today": today, "is_today": day == today,
            "levels": DunningLevel.objects.filter(active=True).count(),
            "total_fees": sum((r.fee for r in rows), 0),
            "live_run": DunningRun.objects.filter(run_on=day,
                                                  status__in=LIVE_RUN_STATUSES).first(),
        })


class DunningNoticeListView(OrganizationPortalMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        q = request.GET.get("q", "").strip()[:100]
        qs = DunningNotice.objects.select_related("invoice", "level", "account__tenant",
                                                  "fee_entry")
        if q:
            qs = qs.filter(Q(invoice__number__icontains=q) | Q(account__tenant__name__icontains=q)
                           | Q(level__name__icontains=q))
        page = paginate(request, qs, PAGE_SIZE)
        return render(request, "ledger/dunning/notice_list.html",
                      {**NAV, "q": q, **page_context(page)})


class DunningLetterView(OrganizationPortalMixin, View):
    model = DunningNotice

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        return letter_response(get_object_or_404(
            DunningNotice.objects.select_related("invoice", "level"), public_id=id))


def letter_response(notice: DunningNotice) -> FileResponse:
    """A notice's letter as a PDF attachment (portal and API); 404 without one."""
    if not notice.letter:
        raise Http404("This notice has no letter.")
    try:
        fh = notice.letter.storage.open(notice.letter.name, "rb")
    except OSError as exc:
        raise Http404("The letter file is missing.") from exc
    return FileResponse(fh, as_attachment=True, content_type="application/pdf",
                        filename=f"reminder-{notice.invoice.number}-{notice.level.position}.pdf")


# --- the ladder --------------------------------------------------------------------------------

class DunningLevelListView(OrganizationPortalMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "ledger/dunning/level_list.html",
                      {**NAV, "levels": DunningLevel.objects.all()})


class DunningLevelCreateView(ServiceFormView):
    read_role = Role.MANAGER
    form_class = forms.DunningLevelForm
    template_name = "ledger/dunning/level_form.html"
    extra_context = NAV

    def initial(self) -> dict[str, Any]:
        last = DunningLevel.objects.order_by("-position").first()
        return {"position": last.position + 1 if last else 1,
                "days_overdue": last.days_overdue + 10 if last else 10}

    def save(self, form):
        return services.dunning_level_create(**self.actor.kwargs(), **form.cleaned_data)

    def success_url(self, level) -> str:
        return reverse("ledger:dunning_levels")


class DunningLevelUpdateView(ServiceFormView):
    read_role = Role.MANAGER
    model = DunningLevel
    form_class = forms.DunningLevelForm
    template_name = "ledger/dunning/level_form.html"
    extra_context = NAV

    def level(self) -> DunningLevel:
        return get_object_or_404(DunningLevel, public_id=self.kwargs["id"])

    def initial(self) -> dict[str, Any]:
        lv = self.level()
        return {name: getattr(lv, name) for name in services.LEVEL_FIELDS}

    def context(self, form, **extra):
        return super().context(form, level=self.level(), **extra)

    def save(self, form):
        return services.dunning_level_update(level=self.level(), **self.actor.kwargs(),
                                             **form.cleaned_data)

    def success_url(self, level) -> str:
        return reverse("ledger:dunning_levels")


class DunningLevelDeleteView(ConfirmView):
    model = DunningLevel
    read_role = Role.MANAGER
    confirm_template = "ledger/dunning/confirm.html"

    def confirm_context(self, level):
        return {**NAV, "title": f"Delete level “{level.name}”", "object": level,
                "explain": "Levels that were sent cannot be deleted (deactivate them instead).",
                "verb": "Delete", "danger": True, "back": reverse("ledger:dunning_levels")}

    def act(self, level) -> str:
        services.dunning_level_delete(level=level, **self.actor.kwargs())
        return f"Deleted level “{level.name}”."

    def success_url(self, level) -> str:
        return reverse("ledger:dunning_levels")


# --- pause, disputes ---------------------------------------------------------------------------

class DunningPauseView(ServiceFormView):
    """Pause (until a date) or resume reminders for an account."""

    read_role = Role.MANAGER
    model = Account
    form_class = forms.DunningPauseForm
    template_name = "ledger/dunning/pause_form.html"
    extra_context = NAV
    error_names = {"until": "until", "reason": "reason"}

    def account(self) -> Account:
        return get_object_or_404(Account.objects.select_related("tenant"),
                                 public_id=self.kwargs["id"])

    def initial(self):
        acc = self.account()
        return {"until": acc.dunning_paused_until, "reason": acc.dunning_pause_reason}

    def context(self, form, **extra):
        return super().context(form, account=self.account(), **extra)

    def save(self, form):
        return account_services.dunning_pause(account=self.account(), **self.actor.kwargs(),
                                              until=form.cleaned_data["until"],
                                              reason=form.cleaned_data["reason"])

    def success_message(self, acc) -> str:
        if acc.dunning_paused_until:
            return f"Reminders for {acc.tenant.name} wait until {acc.dunning_paused_until}."
        return f"Reminders for {acc.tenant.name} resume."

    def success_url(self, acc) -> str:
        return reverse("ledger:dunning_due")


class DisputeListView(OrganizationPortalMixin, View):
    def get(self, request: HttpRequest) -> HttpResponse:
        show = request.GET.get("show", "open")
        qs = InvoiceDispute.objects.select_related("invoice__tenant", "opened_by", "resolved_by")
        if show != "all":
            qs = qs.filter(resolved_at__isnull=True)
        page = paginate(request, qs, PAGE_SIZE)
        return render(request, "ledger/dunning/dispute_list.html",
                      {**NAV, "show": show, **page_context(page)})


class DisputeOpenView(ServiceFormView):
    read_role = Role.MANAGER
    model = Invoice
    form_class = forms.DisputeOpenForm
    template_name = "ledger/dunning/dispute_form.html"
    extra_context = NAV

    def invoice(self) -> Invoice:
        return get_object_or_404(Invoice.objects.select_related("tenant"),
                                 public_id=self.kwargs["id"])

    def context(self, form, **extra):
        return super().context(form, invoice=self.invoice(), verb="Open dispute", **extra)

    def save(self, form):
        return services.dispute_open(invoice=self.invoice(), **self.actor.kwargs(),
                                     reason=form.cleaned_data["reason"])

    def success_message(self, d) -> str:
        return f"Invoice {d.invoice.number} is in dispute: no reminders until it is resolved."

    def success_url(self, d) -> str:
        return reverse("ledger:dunning_disputes")


class DisputeResolveView(ServiceFormView):
    read_role = Role.MANAGER
    model = InvoiceDispute
    form_class = forms.DisputeResolveForm
    template_name = "ledger/dunning/dispute_form.html"
    extra_context = NAV

    def dispute(self) -> InvoiceDispute:
        return get_object_or_404(InvoiceDispute.objects.select_related("invoice__tenant"),
                                 public_id=self.kwargs["id"])

    def context(self, form, **extra):
        d = self.dispute()
        return super().context(form, invoice=d.invoice, dispute=d, verb="Resolve dispute",
                               **extra)

    def save(self, form):
        return services.dispute_resolve(dispute=self.dispute(), **self.actor.kwargs(),
                                        resolution=form.cleaned_data["resolution"])

    def success_message(self, d) -> str:
        return f"Dispute on invoice {d.invoice.number} resolved; reminders resume."

    def success_url(self, d) -> str:
        return reverse("ledger:dunning_disputes")

