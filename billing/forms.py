"""Portal forms of billing (parse only; services validate)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from billing.models import Subscription
from billspree.core.forms import PublicIdChoiceField
from meters.models import BillingPoint, Property
from tariffs.models import Plan, PlanVariant

DATE = forms.DateInput(attrs={"type": "date"})


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for field, messages in exc.message_dict.items():
        target = field if field in form.fields else None
        form.add_error(target, [f"{field}: {m}" if target is None else m for m in messages])


class SubscriptionForm(forms.Form):
    billing_point = PublicIdChoiceField(queryset=BillingPoint.objects.select_related("property"))
    plan = PublicIdChoiceField(queryset=Plan.objects.all())
    variant = PublicIdChoiceField(queryset=PlanVariant.objects.select_related("plan"),
                                  required=False)
    start_date = forms.DateField(widget=DATE)
    end_date = forms.DateField(widget=DATE, required=False,
                               help_text="Exclusive: the first day no longer billed. Empty: open.")
    note = forms.CharField(max_length=200, required=False)


class PeriodForm(forms.Form):
    subscription = PublicIdChoiceField(
        queryset=Subscription.objects.select_related("billing_point", "plan"), required=False,
        help_text="One billing point…",
    )
    property = PublicIdChoiceField(
        queryset=Property.objects.all(), required=False,
        help_text="…or every subscribed billing point of a property.",
    )
    start = forms.DateField(widget=DATE, help_text="First day of the period.")
    end = forms.DateField(widget=DATE, help_text="The day after the last day (exclusive).")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] <= data["start"]:
            self.add_error("end", "The end must be after the start.")
        if not data.get("subscription") and not data.get("property"):
            self.add_error("subscription", "Choose a subscription or a property.")
        return data

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
    reason = forms.CharField(max_length=300)
