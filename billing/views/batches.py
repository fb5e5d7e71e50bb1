"""Portal views: billing batches.

List, new / edit, detail (options, schedule, subscriptions, runs), delete, and adding or
removing subscriptions. Split out of ``billing/views/runs.py`` (which keeps the bill-run
pages, "Start run" included) so each module stays short; the run pages import the batch
loader and the shared confirmation helper from here, and this module imports nothing from
them.

Views only parse and shape: the batch services are ``billing.services.batches``. Every
destructive write passes through a confirmation: a GET page, or a first POST answered with
the confirmation page and a second one carrying ``confirm``.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from billing import forms, services
from billing.models import BillingBatch, BillRunStatus, Subscription
from billing.selectors.batches import batch_list
from billspree.core.actor import Actor
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_pages import page_context, paginate
from billspree.core.portal_views import ConfirmView, ServiceFormView, confirmed

PICKER_LIMIT = 500


def _tz(request: HttpRequest) -> str:
    return str(request.organization.time_zone)


class BatchListView(OrganizationPortalMixin, View):
    model = BillingBatch

    def get(self, request: HttpRequest) -> HttpResponse:
        now = timezone.now()
        rows = list(batch_list())
        for batch in rows:
            batch.next_run = services.batch_next_run(batch=batch, after=now, tz=_tz(request))
        unbatched = Subscription.objects.filter(batch__isnull=True).count()
        return render(request, "billing/runs/batch_list.html", {
            "rows": rows, "unbatched": unbatched, "statuses": dict(BillRunStatus.choices),
        })


def _batch_initial(batch: BillingBatch | None) -> dict[str, Any]:
    if batch is None:
        return {}
    return {name: getattr(batch, name) for name in forms.BatchForm.base_fields}


class BatchFormView(ServiceFormView):
    model = BillingBatch
    form_class = forms.BatchForm
    template_name = "billing/runs/batch_form.html"
    prefix_unknown_errors = True

    @cached_property
    def batch(self) -> BillingBatch | None:
        id = self.kwargs.get("id")
        return None if id is None else get_object_or_404(BillingBatch, public_id=id)

    def initial(self) -> dict[str, Any]:
        return _batch_initial(self.batch)

    def context(self, form: Any, **extra: Any) -> dict[str, Any]:
        return super().context(form, batch=self.batch, **extra)

    def save(self, form: Any) -> BillingBatch:
        if self.batch is None:
            return services.batch_create(**form.cleaned_data, **self.actor.kwargs())
        return services.batch_update(batch=self.batch, **form.cleaned_data,
                                     **self.actor.kwargs())

    def success_message(self, batch: BillingBatch) -> str:
        return f"Saved the batch “{batch.name}”."

    def success_url(self, batch: BillingBatch) -> str:
        return reverse("billing:batch_detail", kwargs={"id": batch.public_id})


def batch_of(id: Any) -> BillingBatch:
    return get_object_or_404(BillingBatch, public_id=id)


def _batch_page(request: HttpRequest, batch: BillingBatch, form=None,
                status: int = 200) -> HttpResponse:
    tz = _tz(request)
    next_run = services.batch_next_run(batch=batch, after=timezone.now(), tz=tz)
    subs = Subscription.objects.filter(batch=batch).select_related(
        "billing_point__property", "plan", "variant").order_by(
        "billing_point__property__name", "billing_point__name")
    form = form or forms.BatchSubscriptionsForm()
    form.fields["add"].queryset = form.fields["add"].queryset.exclude(batch=batch).order_by(
        "billing_point__property__name", "billing_point__name")
    candidates = list(form.fields["add"].queryset[:PICKER_LIMIT + 1])
    return render(request, "billing/runs/batch_detail.html", {
        "batch": batch, "tz": tz, "next_run": next_run,
        "anchor_name": dict(forms.MONTHS).get(batch.anchor_month, batch.anchor_month),
        "next_period": services.batch_period(batch=batch, on=next_run.date()),
        "start_period": services.batch_period(batch=batch, on=organization_today(request)),
        "runs": batch.runs.select_related("started_by")[:20],
        "form": form, "candidates": candidates[:PICKER_LIMIT],
        "too_many_candidates": len(candidates) > PICKER_LIMIT,
        **page_context(paginate(request, subs)),
    }, status=status)


class BatchDetailView(OrganizationPortalMixin, View):
    model = BillingBatch

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        return _batch_page(request, batch_of(id))


class BatchSubscriptionsView(OrganizationPortalMixin, View):
    """POST: add a property's subscriptions or picked ones (at once), or remove picked ones
    (after a confirmation)."""

    model = BillingBatch

    def post(self, request: HttpRequest, id: Any) -> HttpResponse:
        batch = batch_of(id)
        form = forms.BatchSubscriptionsForm(request.POST)
        if not form.is_valid():
            return _batch_page(request, batch, form=form, status=400)
        data = form.cleaned_data
        remove = list(data["remove"])
        if remove and not confirmed(request):
            return render(request, "billing/runs/batch_remove_confirm.html",
                          {"batch": batch, "remove": remove})
        changed = services.batch_subscriptions_set(
            batch=batch, add=data["add"], remove=remove, property=data["property"],
            **Actor.of(request).kwargs())
        if remove:
            messages.success(request, f"Removed {changed} subscription(s) from “{batch.name}”.")
        elif changed:
            messages.success(request, f"Added {changed} subscription(s) to “{batch.name}”.")
        else:
            messages.info(request, "Nothing changed: those subscriptions are in this or "
                                   "another batch already, or have ended.")
        return redirect("billing:batch_detail", id=batch.public_id)


class BatchDeleteView(ConfirmView):
    model = BillingBatch
    queryset = BillingBatch.objects.annotate(
        subscription_count=Count("subscriptions", distinct=True),
        run_count=Count("runs", distinct=True))
    confirm_template = "billing/runs/batch_delete.html"

    def confirm_context(self, batch: BillingBatch) -> dict[str, Any]:
        return {"batch": batch}

    def act(self, batch: BillingBatch) -> str:
        detached = services.batch_delete(batch=batch, **self.actor.kwargs())
        return (f"Deleted the batch “{batch.name}”; {detached} subscription(s) are in no "
                "batch now.")

    def success_url(self, batch: BillingBatch) -> str:
        return reverse("billing:batch_list")

    def failure_url(self, batch: BillingBatch) -> str:
        return reverse("billing:batch_detail", kwargs={"id": batch.public_id})
