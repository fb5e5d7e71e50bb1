"""Portal pages of rate lists: list, detail with version history, versions, charge rules
(tier and band rows) and the "try it" quote."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from billspree.core.portal import OrganizationPortalMixin
from billspree.core.portal_forms import form_errors
from billspree.core.portal_pages import page_context, paginate
from tariffs import forms, selectors, services
from tariffs.models import (
    ChargeRule,
    RateList,
    RateListVersion,
)
from tariffs.quotes import quote_payload
from tariffs.views.base import PAGE_SIZE, DeleteView, ServiceFormView


class RateListListView(OrganizationPortalMixin, View):
    model = RateList

    def get(self, request: HttpRequest) -> HttpResponse:
        qs = RateList.objects.annotate(version_count=Count("versions")).order_by("name")
        qs = qs.prefetch_related(
            Prefetch("versions", queryset=RateListVersion.objects.order_by("-effective_from"))
        )
        q = request.GET.get("q", "").strip()
        currency = request.GET.get("currency", "")
        if q:
            qs = qs.filter(Q(name__icontains=q) | Q(description__icontains=q))
        if currency:
            qs = qs.filter(currency=currency)
        ctx = {"q": q, "currency": currency, "currencies": forms.currency_choices(),
               "tab": "rate_lists", **page_context(paginate(request, qs, PAGE_SIZE))}
        today = timezone.localdate()
        for rate_list in ctx["rows"]:
            versions = list(rate_list.versions.all())
            rate_list.current = next((v for v in versions if v.effective_from <= today and (
                v.effective_to is None or v.effective_to > today)), None)
            rate_list.upcoming = next((v for v in reversed(versions)
                                       if v.effective_from > today), None)
        return render(request, "tariffs/rate_list_list.html", ctx)


class RateListCreateView(ServiceFormView):
    title = "New rate list"
    tab = "rate_lists"

    def make_form(self, data=None):
        return forms.RateListForm(
            data, initial={"currency": str(self.request.organization.default_currency)}
        )

    def save(self, form):
        return services.rate_list_create(**form.cleaned_data, **self.actor.kwargs())

    def success_url(self, obj):
        return reverse("tariffs:rate_list_detail", args=[obj.public_id])


class RateListEditView(ServiceFormView):
    model = RateList
    title = "Edit rate list"
    tab = "rate_lists"

    def make_form(self, data=None):
        self.object = get_object_or_404(RateList, public_id=self.kwargs["id"])
        initial = {k: getattr(self.object, k) for k in
                   ("name", "currency", "rounding_mode", "description")}
        initial["currency"] = str(self.object.currency)
        last = self.object.versions.order_by("-effective_from").first()
        initial["effective_to"] = last.effective_to if last else None
        return forms.RateListForm(data, initial=initial, editing=True)

    def save(self, form):
        data = {k: v for k, v in form.cleaned_data.items() if k != "currency"}
        if "effective_to" not in form.changed_data:
            data.pop("effective_to", None)
        return services.rate_list_update(rate_list=self.object, **data, **self.actor.kwargs())

    def success_url(self, obj):
        return reverse("tariffs:rate_list_detail", args=[obj.public_id])


class RateListDetailView(OrganizationPortalMixin, View):
    model = RateList

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        rate_list = get_object_or_404(RateList, public_id=id)
        versions = list(rate_list.versions.order_by("-effective_from"))
        chosen = request.GET.get("version")
        version = next((v for v in versions if str(v.number) == chosen), None)
        if version is None and versions:
            version = rate_list.version_at(timezone.localdate()) or versions[0]
        rules = list(version.rules.select_related("holiday_calendar")) if version else []
        ctx = {
            "rate_list": rate_list, "versions": versions, "version": version, "rules": rules,
            "version_form": forms.VersionForm(), "tab": "rate_lists",
            "plans": rate_list.plans.all(),
        }
        return render(request, "tariffs/rate_list_detail.html", ctx)


class VersionCreateView(ServiceFormView):
    model = RateList
    title = "New prices from a date"
    tab = "rate_lists"

    def make_form(self, data=None):
        self.object = get_object_or_404(RateList, public_id=self.kwargs["id"])
        self.title = f"New prices for {self.object.name}"
        return forms.VersionForm(data, initial={"copy_rules": True})

    def save(self, form):
        return services.rate_list_version_create(
            rate_list=self.object, **form.cleaned_data, **self.actor.kwargs()
        )

    def success_url(self, obj):
        url = reverse("tariffs:rate_list_detail", args=[self.object.public_id])
        return f"{url}?version={obj.number}"


class RateListDeleteView(DeleteView):
    model = RateList
    tab = "rate_lists"
    warning = "Its versions and rules are deleted with it; plans using it must be changed first."

    def act(self, obj: RateList) -> str:
        services.rate_list_delete(rate_list=obj, **self.actor.kwargs())
        return f"Deleted {obj.name}."

    def success_url(self, obj: RateList) -> str:
        return reverse("tariffs:index")

    def failure_url(self, obj: RateList) -> str:
        return reverse("tariffs:rate_list_detail", kwargs={"id": obj.public_id})


class VersionDeleteView(DeleteView):
    """Undo the latest price change, after a confirmation."""

    model = RateListVersion
    queryset = RateListVersion.objects.select_related("rate_list")
    tab = "rate_lists"
    warning = ("Its rules go with it and the previous version's prices apply again from that "
               "day.")

    def act(self, version: RateListVersion) -> str:
        services.rate_list_version_delete(version=version, **self.actor.kwargs())
        return f"Removed version {version.number}."

    def success_url(self, version: RateListVersion) -> str:
        return reverse("tariffs:rate_list_detail", args=[version.rate_list.public_id])

    cancel_url = success_url


# --- charge rules -----------------------------------------------------------------------


class RuleFormView(ServiceFormView):
    template_name = "tariffs/rule_form.html"
    tab = "rate_lists"

    def rule_initial(self) -> tuple[dict, list, list]:
        return {}, [], []

    def make_form(self, data=None):
        initial, tiers, bands = self.rule_initial()
        form = forms.ChargeRuleForm(data, initial=initial)
        form.tier_rows = forms.TierRows(data, prefix="tiers", initial=tiers + [{}] * 3)
        form.band_rows = forms.BandRows(data, prefix="bands", initial=bands + [{}] * 3)
        form.row_errors = {}
        return form

    def post(self, request: HttpRequest, **kwargs) -> HttpResponse:
        form = self.make_form(request.POST)
        valid = [form.is_valid(), form.tier_rows.is_valid(), form.band_rows.is_valid()]
        if all(valid):
            data = dict(form.cleaned_data)
            data["tiers"] = forms.tier_rows(form.tier_rows)
            data["bands"] = forms.band_rows(form.band_rows)
            try:
                rule = self.save_rule(data)
            except ValidationError as exc:
                errors = dict(exc.message_dict)
                form.row_errors = {k: errors.pop(k) for k in ("tiers", "bands") if k in errors}
                if errors:
                    form_errors(form, ValidationError(errors), prefix_unknown=True)
            else:
                messages.success(request, f"Saved {rule.name}.")
                url = reverse("tariffs:rate_list_detail", args=[rule.version.rate_list.public_id])
                return redirect(f"{url}?version={rule.version.number}")
        return render(request, self.template_name, self.context(form), status=400)

    def context(self, form, **extra):
        return super().context(form, version=self.version,
                               proration_help=forms.PRORATION_HELP, **extra)


class RuleCreateView(RuleFormView):
    model = RateListVersion
    def make_form(self, data=None):
        self.version = get_object_or_404(
            RateListVersion.objects.select_related("rate_list"), public_id=self.kwargs["id"]
        )
        self.title = f"New rule in {self.version}"
        return super().make_form(data)

    def rule_initial(self):
        return {"tax_rate": self.request.organization.default_vat_rate}, [], []

    def save_rule(self, data):
        return services.charge_rule_create(version=self.version, **data, **self.actor.kwargs())


class RuleEditView(RuleFormView):
    model = ChargeRule
    def make_form(self, data=None):
        self.rule = get_object_or_404(
            ChargeRule.objects.select_related("version__rate_list"), public_id=self.kwargs["id"]
        )
        self.version = self.rule.version
        self.title = f"Edit {self.rule.name}"
        return super().make_form(data)

    def rule_initial(self):
        r = self.rule
        initial = {k: getattr(r, k) for k in ("name", "kind", "meter_type", "unit", "price",
                                              "per", "allowance", "minimum_charge", "tax_rate",
                                              "position")}
        initial["holiday_calendar"] = r.holiday_calendar.public_id if r.holiday_calendar else None
        return initial, list(r.tiers), list(r.bands)

    def save_rule(self, data):
        return services.charge_rule_update(rule=self.rule, **data, **self.actor.kwargs())


class RuleDeleteView(DeleteView):
    model = ChargeRule
    queryset = ChargeRule.objects.select_related("version__rate_list")
    tab = "rate_lists"

    def warning_for(self, rule: ChargeRule) -> str:
        return f"The rule leaves {rule.version}; other versions keep theirs."

    def act(self, rule: ChargeRule) -> str:
        services.charge_rule_delete(rule=rule, **self.actor.kwargs())
        return f"Deleted {rule.name}."

    def success_url(self, rule: ChargeRule) -> str:
        url = reverse("tariffs:rate_list_detail", args=[rule.version.rate_list.public_id])
        return f"{url}?version={rule.version.number}"


# --- try it ------------------------------------------------------------------------------


class QuoteView(OrganizationPortalMixin, View):
    """The "try it" form: a GET form (viewers may use it), nothing is stored."""

    model = RateList

    def get(self, request: HttpRequest, id: str) -> HttpResponse:
        rate_list = get_object_or_404(RateList, public_id=id)
        tz = str(request.organization.time_zone)
        form = forms.QuoteForm(request.GET or None, initial={"time_zone": tz})
        result = None
        if form.is_bound and form.is_valid():
            result = quote_payload(selectors.rate_list_quote(
                rate_list=rate_list, request=self.quote_request(form)
            ))
        status = 400 if form.is_bound and not form.is_valid() else 200
        return render(request, "tariffs/quote.html", {
            "rate_list": rate_list, "form": form, "result": result, "tab": "rate_lists",
            "proration_help": forms.PRORATION_HELP,
        }, status=status)

    def quote_request(self, form) -> selectors.QuoteRequest:
        from datetime import timedelta

        data = form.cleaned_data
        start, end = data["first_day"], data["last_day"] + timedelta(days=1)
        billing = (None, None)
        if data["billing_period"] == "month":
            billing = forms.month_bounds(start)
            end = min(end, billing[1])
        totals = form.totals()
        intervals = form.intervals()
        if data["spread"]:
            intervals = {t: forms.hourly_spread(q, start, end, data["time_zone"])
                         for t, q in totals.items() if t not in intervals} | intervals
        return selectors.QuoteRequest(
            start=start, end=end, time_zone=data["time_zone"], totals=totals,
            intervals=intervals, billing_start=billing[0], billing_end=billing[1],
        )
