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

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from billing import forms, services
from billing.models import BillingBatch, BillRunStatus, Subscription
from billing.selectors.batches import batch_list
from billspree.core.actor import Actor
from billspree.core.errors import Conflict
from billspree.core.portal import OrganizationPortalMixin, organization_today
from billspree.core.portal_forms import form_errors
from billspree.core.portal_pages import page_context, paginate

PICKER_LIMIT = 500


def _tz(request: HttpRequest) -> str:
    return str(request.organization.time_zone)


def _confirmed(request: HttpRequest) -> bool:
    return request.POST.get("confirm") == "1"


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


class BatchFormView(OrganizationPortalMixin, View):
    model = BillingBatch

    def show(self, request, batch, form, status=200):
        return render(request, "billing/runs/batch_form.html",
                      {"form": form, "batch": batch}, status=status)

    def load(self, id: Any) -> BillingBatch | None:
        return None if id is None else get_object_or_404(BillingBatch, public_id=id)

    def get(self, request: HttpRequest, id: Any = None) -> HttpResponse:
        batch = self.load(id)
        return self.show(request, batch, forms.BatchForm(initial=_batch_initial(batch)))

    def post(self, request: HttpRequest, id: Any = None) -> HttpResponse:
        batch = self.load(id)
        form = forms.BatchForm(request.POST, initial=_batch_initial(batch))
        if form.is_valid():
            try:
                if batch is None:
                    batch = services.batch_create(**form.cleaned_data, **Actor.of(request).kwargs())
                else:
                    batch = services.batch_update(batch=batch, **form.cleaned_data,
                                                  **Actor.of(request).kwargs())
            except (ValidationError, Conflict) as exc:
                form_errors(form, exc, prefix_unknown=True)
            else:
                messages.success(request, f"Saved the batch “{batch.name}”.")
                return redirect("billing:batch_detail", id=batch.public_id)
        return self.show(request, batch, form, status=400)


def _batch(id: Any) -> BillingBatch:
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
        return _batch_page(request, _batch(id))


class BatchSubscriptionsView(OrganizationPortalMixin, View):
    """POST: add a property's subscriptions or picked ones (at once), or remove picked ones
    (after a confirmation)."""

    model = BillingBatch

    def post(self, request: HttpRequest, id: Any) -> HttpResponse:
        batch = _batch(id)
        form = forms.BatchSubscriptionsForm(request.POST)
        if not form.is_valid():
            return _batch_page(request, batch, form=form, status=400)
        data = form.cleaned_data
        remove = list(data["remove"])
        if remove and not _confirmed(request):
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


class BatchDeleteView(OrganizationPortalMixin, View):
    model = BillingBatch

    def get(self, request: HttpRequest, id: Any) -> HttpResponse:
        batch = get_object_or_404(BillingBatch.objects.annotate(
            subscription_count=Count("subscriptions", distinct=True),
            run_count=Count("runs", distinct=True)),
            public_id=id)
        return render(request, "billing/runs/batch_delete.html", {"batch": batch})

    def post(self, request: HttpRequest, id: Any) -> HttpResponse:
        batch = _batch(id)
        try:
            detached = services.batch_delete(batch=batch, **Actor.of(request).kwargs())
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("billing:batch_detail", id=batch.public_id)
        messages.success(request, f"Deleted the batch “{batch.name}”; {detached} "
                                  "subscription(s) are in no batch now.")
        return redirect("billing:batch_list")
