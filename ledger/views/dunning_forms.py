"""Forms of the dunning pages (portal)."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from billspree.core.form_fields import BoundedDateField
from ledger.models.dunning import DEFAULT_LETTER, LETTER_PLACEHOLDERS

PLACEHOLDER_HELP = "Placeholders: " + ", ".join("{" + p + "}" for p in LETTER_PLACEHOLDERS) + "."


class DunningLevelForm(forms.Form):
    position = forms.IntegerField(min_value=1, max_value=50,
                                  help_text="Order on the ladder (1 = first reminder).")
    name = forms.CharField(max_length=80, help_text="E.g. Reminder, Second reminder, "
                                                    "Final notice.")
    days_overdue = forms.IntegerField(min_value=1, max_value=3650, label="Days after due date")
    fee_amount = forms.DecimalField(min_value=Decimal("0"), max_digits=12, decimal_places=2,
                                    initial=Decimal("0"), label="Fee (gross)",
                                    help_text="Charged to the account with the notice; "
                                              "0 = no fee.")
    fee_tax_rate = forms.DecimalField(min_value=Decimal("0"), max_value=Decimal("100"),
                                      max_digits=5, decimal_places=2, initial=Decimal("0"),
                                      label="VAT on the fee (%)")
    letter_title = forms.CharField(max_length=200, initial="Payment reminder",
                                   help_text=PLACEHOLDER_HELP)
    letter_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}),
                                  initial=DEFAULT_LETTER, help_text=PLACEHOLDER_HELP)
    send_email = forms.BooleanField(required=False, initial=True,
                                    label="Email the letter to the tenant")
    disconnection_pending = forms.BooleanField(
        required=False, label="Flag the account: disconnection pending",
        help_text="Usually the last level. It only flags the account; nothing is switched off.")
    active = forms.BooleanField(required=False, initial=True)


class DunningPauseForm(forms.Form):
    until = BoundedDateField(required=False, label="Pause reminders until",
                             widget=forms.DateInput(attrs={"type": "date"}),
                             help_text="Empty: resume reminders now.")
    reason = forms.CharField(max_length=200, required=False,
                             help_text="E.g. payment promised by phone on …")


class DisputeOpenForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="What the tenant contests. No reminder goes out for "
                                       "this invoice while the dispute is open.")


class DisputeResolveForm(forms.Form):
    resolution = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                                 help_text="How it was settled (e.g. credit note issued, "
                                           "reading confirmed).")
