"""Portal views: bill runs.

"Start run" of a batch (period → confirmation with the number of subscriptions → run page).
The runs list, and the run page: live progress (an htmx fragment polled while the run is
queued or running), the report (invoiced / skipped with the reasons / failed with the error
and a retry per item) and the review step (issue some or all drafts, cancel the run); resume.
The batch pages are in ``billing/views/batches.py`` (split off so each module stays short);
this module imports the batch loader and the confirmation helper from there.

Views only parse and shape: the run services are ``billing.services.runs`` and the progress
is ``billing.selectors.runs.bill_run_progress``. Every write
passes through a confirmation: a GET page, or a first POST answered with the confirmation
page and a second one carrying ``confirm``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from billing import forms, services
from billing.models import (
    BillingBatch,
    BillRun,
    BillRunItem,
    BillRunStatus,
    BillRunTrigger,
    Invoice,
    InvoiceStatus,
    ItemStatus,
)
from billing.selectors.batches import batch_subscriptions_for_period
from billing.selectors.fixes import attach_fixes
from billing.selectors.review import attach_comparisons, outlier_threshold, with_previous
from billing.selectors.runs import bill_run_for_period, bill_run_progress
from billing.selectors.totals import currency_totals
from billing.views.batches import PICKER_LIMIT, batch_of
from billspree.core import timefmt
from billspree.core.actor import Actor
from billspree.core.errors import Conflict
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_forms import error_text, form_errors
from billspree.core.portal_pages import page_context, paginate
from billspree.core.portal_views import ActionView, ConfirmView, confirmed

LIVE = (BillRunStatus.QUEUED, BillRunStatus.RUNNING, BillRunStatus.ISSUING)
REPORT_TABS = [(ItemStatus.CREATED, "Invoiced"), (ItemStatus.SKIPPED, "Skipped"),
               (ItemStatus.FAILED, "Failed"), (ItemStatus.PENDING, "Pending")]


# --- progress -----------------------------------------------------------------------------


def _is_live(run: BillRun) -> bool:
    return run.status in LIVE


# --- start ----------------------------------------------------------------------------------


class RunStartView(OrganizationPortalMixin, View):
    """GET: the period form (defaults to the last complete period); POST: the confirmation
    with the number of subscriptions that will be billed; POST with ``confirm``: start."""

    model = BillingBatch

    def show(self, request, batch, form, status=200, template="run_start.html", **extra):
        return render(request, f"billing/runs/{template}",
                      {"batch": batch, "form": form, **extra}, status=status)

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        batch = batch_of(id)
        start, end = services.batch_period(batch=batch, on=organization_today(request))
        form = forms.RunStartForm(initial={"period_start": start, "period_end": end})
        return self.show(request, batch, form)

    def post(self, request: HttpRequest, id: Any) -> HttpResponse:
        batch = batch_of(id)
        form = forms.RunStartForm(request.POST)
        if not form.is_valid():
            return self.show(request, batch, form, status=400)
        start, end = form.cleaned_data["period_start"], form.cleaned_data["period_end"]
        count = batch_subscriptions_for_period(batch=batch, period_start=start,
                                               period_end=end).count()
        if not count:
            form.add_error(None, f"No subscription of “{batch.name}” is in effect in "
                                 f"{timefmt.format_period(start, end)}: add subscriptions to "
                                 "the batch first.")
            return self.show(request, batch, form, status=400)
        if not confirmed(request):
            existing = bill_run_for_period(batch=batch, period_start=start, period_end=end)
            return self.show(request, batch, form, template="run_start_confirm.html",
                             count=count, start=start, end=end, existing=existing)
        try:
            run = services.bill_run_start(
                batch=batch, period_start=start, period_end=end, trigger=BillRunTrigger.PORTAL,
                **Actor.of(request).kwargs())
        except ValidationError as exc:
            form_errors(form, exc, prefix_unknown=True)
            return self.show(request, batch, form, status=400)
        except Conflict as exc:
            form.add_error(None, exc.message)
            return self.show(request, batch, form, status=409)
        if not getattr(run, "created_now", True):
            messages.info(request, "A run of this period exists already: here it is (nothing "
                                   "is billed twice).")
        else:
            messages.success(request, f"Bill run of “{batch.name}” for "
                                      f"{timefmt.format_period(start, end)} started.")
        return redirect("billing:run_detail", id=run.public_id)


# --- runs -----------------------------------------------------------------------------------


class RunListView(OrganizationPortalMixin, View):
    model = BillRun

    def get(self, request: HttpRequest) -> HttpResponse:
        qs = BillRun.objects.select_related("batch", "started_by").annotate(
            drafts=Count("invoices", filter=Q(invoices__status=InvoiceStatus.DRAFT))
        ).order_by("-created_at", "-pk")
        state = request.GET.get("status", "")
        if state in BillRunStatus.values:
            qs = qs.filter(status=state)
        return render(request, "billing/runs/run_list.html", {
            "status": state, "statuses": BillRunStatus.choices,
            **page_context(paginate(request, qs))})


def _run(id: Any) -> BillRun:
    return get_object_or_404(BillRun.objects.select_related("batch", "started_by"),
                             public_id=id)


def _with_statement_status(qs):
    from billing.models import InvoiceStatement, StatementDelivery

    delivery = StatementDelivery.objects.filter(
        invoice=OuterRef("pk"), credit_note__isnull=True).order_by("-pk")
    return qs.annotate(
        statement_status=Subquery(
            InvoiceStatement.objects.filter(invoice=OuterRef("pk")).values("status")[:1]),
        delivery_status=Subquery(delivery.values("status")[:1]),
    )


def _attach_warnings(run: BillRun, drafts: list[Invoice]) -> None:
    """Each draft gets ``warnings``: the diagnostics its run item recorded (what to check
    before issuing), found by subscription."""
    subs = {d.subscription_id for d in drafts}
    found = dict(BillRunItem.objects.filter(run=run, subscription_id__in=subs)
                 .values_list("subscription_id", "diagnostics"))
    for draft in drafts:
        draft.warnings = [d for d in found.get(draft.subscription_id) or []
                          if not isinstance(d, dict) or d.get("severity") != "info"]


class RunDetailView(OrganizationPortalMixin, View):
    model = BillRun

    def get(self, request: HttpRequest, id: Any, issue_error: str = "",
            status: int = 200) -> HttpResponse:
        run = _run(id)
        show = request.GET.get("show", "")
        progress = bill_run_progress(run)
        default = next((s for s in (ItemStatus.FAILED, ItemStatus.SKIPPED)
                        if progress.get(s)), ItemStatus.CREATED)
        show = show if show in ItemStatus.values else default
        items = BillRunItem.objects.filter(run=run, status=show).select_related(
            "subscription__billing_point__property", "subscription__plan").order_by("pk")
        drafts = Invoice.objects.filter(bill_run=run, status=InvoiceStatus.DRAFT).select_related(
            "tenant", "billing_point__property").order_by("billing_point__name", "pk")
        issued = Invoice.objects.filter(bill_run=run).exclude(status=InvoiceStatus.DRAFT)
        draft_rows = attach_comparisons(list(with_previous(drafts)[:PICKER_LIMIT]))
        _attach_warnings(run, draft_rows)
        report = page_context(paginate(request, items))
        report["rows"] = list(report["rows"])
        attach_fixes(report["rows"])
        return render(request, "billing/runs/run_detail.html", {
            "run": run, "progress": progress, "live": _is_live(run), "show": show,
            "tabs": [(v, label, progress.get(v, 0) if v != ItemStatus.PENDING
                      else progress.get("pending", 0)) for v, label in REPORT_TABS],
            "drafts": draft_rows, "draft_count": drafts.count(),
            "outlier_percent": outlier_threshold(),
            "stale_count": drafts.exclude(stale_reason="").count(),
            "draft_totals": currency_totals(drafts), "issued_totals": currency_totals(issued),
            "issued": _with_statement_status(issued.select_related("tenant", "billing_point")
                                             .order_by("number"))[:PICKER_LIMIT],
            "issued_count": issued.count(), "issue_error": issue_error,
            "can_cancel": run.status in (*LIVE, BillRunStatus.REVIEW, BillRunStatus.FAILED)
            and run.status != BillRunStatus.ISSUING and not issued.exists(),
            "can_retry": not _is_live(run) and run.status != BillRunStatus.CANCELLED,
            **report,
        }, status=status)


class RunProgressView(OrganizationPortalMixin, View):
    """The progress fragment; polled by htmx every 2 s while the run is live. When the run
    has finished it answers without the trigger (polling stops) and asks the page to reload
    so the report and the review step appear."""

    model = BillRun

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        run = _run(id)
        response = render(request, "billing/runs/_progress.html", {
            "run": run, "progress": bill_run_progress(run), "live": _is_live(run)})
        if request.headers.get("HX-Request") and not _is_live(run) \
                and request.GET.get("was") == "live":
            response["HX-Refresh"] = "true"
        return response


class RunIssueView(OrganizationPortalMixin, View):
    """POST the picked drafts (or ``all``): a confirmation with the count and the sum; POST
    again with ``confirm``: issue them."""

    model = BillRun

    def post(self, request: HttpRequest, id: Any) -> HttpResponse:
        run = _run(id)
        form = forms.RunIssueForm(request.POST, run=run)
        if not form.is_valid():
            return RunDetailView.get(self, request, id, status=400,
                                     issue_error=error_text(ValidationError(form.errors)))
        drafts = form.drafts()
        if not confirmed(request):
            ids = Invoice.objects.filter(pk__in=[d.pk for d in drafts])
            return render(request, "billing/runs/run_issue_confirm.html", {
                "run": run, "drafts": drafts, "all": form.cleaned_data.get("all"),
                "totals": currency_totals(ids)})
        try:
            issued = services.bill_run_issue(
                run=run, invoices=None if form.cleaned_data.get("all") else drafts,
                **Actor.of(request).kwargs())
        except (ValidationError, Conflict) as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, f"Issued {len(issued)} invoice(s).")
        return redirect("billing:run_detail", id=run.public_id)


class _RunActionView(ActionView):
    model = BillRun
    queryset = BillRun.objects.select_related("batch", "started_by")

    def success_url(self, run: BillRun) -> str:
        return reverse("billing:run_detail", kwargs={"id": run.public_id})


class RunRecomputeView(_RunActionView):
    """Recompute the run's stale drafts from current data (confirmed in the page)."""

    def act(self, run: BillRun) -> str:
        done = services.bill_run_recompute_stale(run=run, **self.actor.kwargs())
        voided = sum(1 for inv in done if inv.outcome == "voided")
        added = sum(len(inv.new_drafts) for inv in done)
        return (f"Recomputed {len(done)} stale draft(s)"
                + (f"; {voided} voided (nothing left to bill)" if voided else "")
                + (f"; {added} new draft(s) for new occupants" if added else "")
                + ".")


class RunCancelView(ConfirmView, _RunActionView):
    confirm_template = "billing/runs/run_cancel.html"

    def confirm_context(self, run: BillRun) -> dict[str, Any]:
        drafts = Invoice.objects.filter(bill_run=run, status=InvoiceStatus.DRAFT).count()
        return {"run": run, "drafts": drafts}

    def act(self, run: BillRun) -> str:
        services.bill_run_cancel(run=run, **self.actor.kwargs())
        return "Bill run cancelled; its drafts are void."


class RunResumeView(OrganizationPortalMixin, View):
    """Re-queue a live run's unfinished chunks (after workers were restarted, or a run that
    seems stuck). Safe at any time: a chunk is claimed by one worker, and nobody is billed
    twice."""

    model = BillRun

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        run = _run(id)
        return render(request, "billing/runs/run_resume.html",
                      {"run": run, "progress": bill_run_progress(run)})

    def post(self, request: HttpRequest, id: Any) -> HttpResponse:
        run = _run(id)
        if not _is_live(run):
            messages.info(request, "This run has finished: there is nothing to resume.")
            return redirect("billing:run_detail", id=run.public_id)
        try:
            queued = services.bill_run_resume(run=run)
        except (ValidationError, Conflict) as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, f"Re-queued {queued} unfinished chunk(s).")
        return redirect("billing:run_detail", id=run.public_id)


class RunItemRetryView(OrganizationPortalMixin, View):
    model = BillRunItem

    def item(self, id: Any) -> BillRunItem:
        return get_object_or_404(BillRunItem.objects.select_related(
            "run__batch", "subscription__billing_point"), public_id=id)

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        return render(request, "billing/runs/item_retry.html", {"item": self.item(id)})

    def post(self, request: HttpRequest, id: Any) -> HttpResponse:
        item = self.item(id)
        try:
            services.bill_run_item_retry(item=item, **Actor.of(request).kwargs())
        except (ValidationError, Conflict) as exc:
            messages.error(request, error_text(exc))
        else:
            item.refresh_from_db()
            messages.success(request, f"Retried {item.subscription.billing_point}: "
                                      f"{item.get_status_display().lower()}.")
        return redirect(reverse("billing:run_detail", args=[item.run.public_id])
                        + f"?show={item.status}")


class RunRetrySkippedView(OrganizationPortalMixin, View):
    """GET: how many skipped subscriptions would be billed again; POST: bill them (after
    the readings, meters or tariff were fixed). Nothing is billed twice."""

    model = BillRun

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        run = _run(id)
        items = BillRunItem.objects.filter(run=run, status=ItemStatus.SKIPPED).select_related(
            "subscription__billing_point")
        return render(request, "billing/runs/run_retry_skipped.html",
                      {"run": run, "items": items[:PICKER_LIMIT], "count": items.count()})

    def post(self, request: HttpRequest, id: Any) -> HttpResponse:
        run = _run(id)
        try:
            tally = services.bill_run_retry_skipped(run=run, **Actor.of(request).kwargs())
        except (ValidationError, Conflict) as exc:
            messages.error(request, error_text(exc))
            return redirect(reverse("billing:run_detail", args=[run.public_id])
                            + "?show=skipped")
        done = tally[ItemStatus.CREATED]
        left = tally[ItemStatus.SKIPPED] + tally[ItemStatus.FAILED]
        text = (f"Retried {done + left} skipped subscription(s): {done} invoiced "
                f"({tally['invoices']} draft(s) added to this run)")
        text += f", {left} still not billed — see the reasons." if left else "."
        (messages.success if done else messages.warning)(request, text)
        return redirect(reverse("billing:run_detail", args=[run.public_id])
                        + ("?show=skipped" if left else "?show=created"))
