"""Portal forms of billing (parse only; services validate)."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from billing.models import BillingBatch, BillingCycle, Invoice, InvoiceStatus, Subscription
from billspree.core.form_fields import BoundedDateField
from billspree.core.forms import PublicIdChoiceField
from meters.models import BillingPoint, Property
from tariffs.models import Plan, PlanVariant

DATE = forms.DateInput(attrs={"type": "date"})


def period_in_order(
    form: forms.Form, data: dict, start: str = "period_start", end: str = "period_end"
) -> bool:
    """Both ends of the period are given and it ends after it starts; a period that does not
    is refused on ``end``."""
    first, last = data.get(start), data.get(end)
    if first and last and last <= first:
        form.add_error(end, "The end must be after the start.")
        return False
    return bool(first and last)


class SubscriptionForm(forms.Form):
    billing_point = PublicIdChoiceField(queryset=BillingPoint.objects.select_related("property"))
    plan = PublicIdChoiceField(queryset=Plan.objects.all())
    variant = PublicIdChoiceField(queryset=PlanVariant.objects.select_related("plan"),
                                  required=False)
    start_date = BoundedDateField(widget=DATE)
    end_date = BoundedDateField(widget=DATE, required=False,
                               help_text="Exclusive: the first day no longer billed. Empty: open.")
    note = forms.CharField(max_length=200, required=False)
    batch = PublicIdChoiceField(
        queryset=BillingBatch.objects.all(), required=False,
        help_text="The billing batch that bills it on schedule (empty: billed by hand only).",
    )


class PeriodForm(forms.Form):
    subscription = PublicIdChoiceField(
        queryset=Subscription.objects.select_related("billing_point", "plan"), required=False,
        help_text="One billing point…",
    )
    property = PublicIdChoiceField(
        queryset=Property.objects.all(), required=False,
        help_text="…or every subscribed billing point of a property.",
    )
    start = BoundedDateField(widget=DATE, help_text="First day of the period.")
    end = BoundedDateField(widget=DATE, help_text="The day after the last day (exclusive).")

    def clean(self):
        data = super().clean()
        period_in_order(self, data, "start", "end")
        if not data.get("subscription") and not data.get("property"):
            self.add_error("subscription", "Choose a subscription or a property.")
        return data

    @staticmethod
    def submitted(data) -> bool:
        """The preview form was sent (it carries the period); a link that names only the
        subscription or the property opens it filled in instead of with errors."""
        return "start" in data or "end" in data

    @classmethod
    def initial_from(cls, data, today: date) -> dict:
        """Initial values from a link (``?subscription=<id>`` or ``?property=<id>``): the
        choice, and the period a run would bill next (``readiness.default_period``)."""
        from billing.selectors.readiness import default_period

        initial: dict = {}
        for name in ("subscription", "property"):
            with suppress(ValidationError):  # a stale or foreign id: the choice stays empty
                initial[name] = cls.base_fields[name].clean(data.get(name) or None)
        sub = initial.get("subscription")
        if sub is not None:
            initial["start"], initial["end"] = default_period(sub, today)
        else:
            end = today.replace(day=1)
            initial["start"], initial["end"] = (end - timedelta(days=1)).replace(day=1), end
        return {k: v for k, v in initial.items() if v is not None}

    def subscriptions(self) -> list[Subscription]:
        """The chosen subscription, or those of the property in effect during the period."""
        data = self.cleaned_data
        if data.get("subscription"):
            return [data["subscription"]]
        return list(
            Subscription.objects.filter(billing_point__property=data["property"],
                                        start_date__lt=data["end"])
            .filter(Q(end_date__isnull=True) | Q(end_date__gt=data["start"]))
            .select_related("billing_point__property", "plan", "variant")
            .order_by("billing_point__connection_id")
        )


class ManualLineForm(forms.Form):
    description = forms.CharField(max_length=300)
    quantity = forms.DecimalField(max_digits=20, decimal_places=4, initial=1)
    unit = forms.CharField(max_length=16, required=False)
    unit_price = forms.DecimalField(max_digits=16, decimal_places=6)
    tax_rate = forms.DecimalField(max_digits=5, decimal_places=2, initial=0)


class CreditNoteForm(forms.Form):
    """The whole invoice, chosen lines, or a net amount (the service checks the rest)."""

    MODES = [("full", "The whole invoice (it becomes void; its period may be billed again)"),
             ("lines", "Chosen lines (what is left of each)"),
             ("amount", "An amount, net (shared over the VAT rates like the invoice's net)")]
    reason = forms.CharField(max_length=300)
    mode = forms.ChoiceField(choices=MODES, required=False, widget=forms.RadioSelect,
                             label="What to credit")
    lines = forms.ModelMultipleChoiceField(
        queryset=None, required=False, to_field_name="public_id",
        widget=forms.CheckboxSelectMultiple, label="Lines")
    amount = forms.DecimalField(required=False, max_digits=16, decimal_places=2,
                                label="Net amount")

    def __init__(self, *args, invoice: Invoice, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lines"].queryset = invoice.lines.order_by("position")
        self.fields["lines"].label_from_instance = (
            lambda x: f"{x.position}. {x.description} — {x.amount:.2f}")

    def clean(self):
        data = super().clean()
        mode = data.get("mode") or "full"
        data["mode"] = mode
        if mode == "lines" and not data.get("lines"):
            self.add_error("lines", "Choose the lines to credit.")
        if mode == "amount" and data.get("amount") is None:
            self.add_error("amount", "Give the net amount to credit.")
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        out = {"reason": data["reason"]}
        if data["mode"] == "lines":
            out["lines"] = list(data["lines"])
        elif data["mode"] == "amount":
            out["amount"] = data["amount"]
        return out


# --- batches and bill runs ------------------------------------------------------------------

MONTHS = [(n, date(2000, n, 1).strftime("%B")) for n in range(1, 13)]
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class PublicIdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Several rows of a scoped model by public id (checkboxes / multi-selects)."""

    def __init__(self, queryset, **kwargs):
        kwargs.setdefault("to_field_name", "public_id")
        super().__init__(queryset, **kwargs)


class BatchForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="E.g. “Monthly — Riverside”.")
    cycle = forms.ChoiceField(choices=BillingCycle.choices, initial=BillingCycle.MONTHLY)
    billing_day = forms.IntegerField(
        min_value=1, max_value=28, initial=1,
        help_text="Day of the month (1–28) the run starts, for the period that has just ended.",
    )
    anchor_month = forms.TypedChoiceField(
        choices=MONTHS, coerce=int, initial=1, label="Periods start in",
        help_text="Quarterly and yearly cycles: a period starts in this month "
                  "(February → Feb–Apr, May–Jul, …). Ignored for monthly batches.",
    )
    schedule_enabled = forms.BooleanField(
        required=False, label="Run on schedule",
        help_text="Start a run automatically on the billing day.",
    )
    schedule_time = forms.TimeField(
        widget=TIME, initial="06:00", label="Run at",
        help_text="Local time in the organization's time zone.",
    )
    auto_issue = forms.BooleanField(
        required=False, label="Issue automatically",
        help_text="Issue the drafts at once; otherwise they wait for a manager's review.",
    )
    send_statements = forms.BooleanField(
        required=False, initial=True, label="Email statements",
        help_text="Email each tenant their PDF statement once issued.",
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)


class BatchSubscriptionsForm(forms.Form):
    """Add every subscription of a property, add picked ones, or remove picked ones."""

    property = PublicIdChoiceField(
        queryset=Property.objects.all(), required=False, empty_label="Choose a property…",
        help_text="Every subscription of the property that is in no batch yet.",
    )
    add = PublicIdMultipleChoiceField(
        queryset=Subscription.objects.select_related("billing_point__property", "plan"),
        required=False, label="Subscriptions",
        help_text="Ctrl- or ⌘-click to pick several; one in another batch moves here.",
    )
    remove = PublicIdMultipleChoiceField(queryset=Subscription.objects.all(), required=False)

    def clean(self):
        data = super().clean()
        if not (data.get("property") or data.get("add") or data.get("remove")):
            raise ValidationError("Choose a property or subscriptions to add, or subscriptions "
                                  "to remove.")
        return data


class RunStartForm(forms.Form):
    period_start = BoundedDateField(widget=DATE, label="Period start",
                                   help_text="First day of the period.")
    period_end = BoundedDateField(widget=DATE, label="Period end",
                                 help_text="The day after the last day (exclusive).")

    def clean(self):
        data = super().clean()
        if period_in_order(self, data) and (data["period_end"] - data["period_start"]).days > 366:
            self.add_error("period_end", "A period is at most a year long.")
        return data


class RunIssueForm(forms.Form):
    """Issue the run's drafts: all of them, or the picked ones."""

    invoices = PublicIdMultipleChoiceField(queryset=Invoice.objects.none(), required=False)
    all = forms.BooleanField(required=False)

    def __init__(self, *args, run, **kwargs):
        super().__init__(*args, **kwargs)
        self.run = run
        self.fields["invoices"].queryset = Invoice.objects.filter(
            bill_run=run, status=InvoiceStatus.DRAFT)

    def clean(self):
        data = super().clean()
        if not data.get("all") and not data.get("invoices"):
            raise ValidationError("Pick the drafts to issue (or issue all).")
        return data

    def drafts(self) -> list[Invoice]:
        if self.cleaned_data.get("all"):
            return list(self.fields["invoices"].queryset.select_related("tenant"))
        return list(self.cleaned_data["invoices"])
