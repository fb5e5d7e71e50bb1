"""Portal forms of the ledger: record a payment, reverse one, a statement's period."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import forms

from billspree.core.timefmt import format_day
from ledger.models import PaymentMethod

OLDEST, CHOSEN = "oldest", "chosen"


class PaymentForm(forms.Form):
    """A payment by hand. ``items``: the account's open invoice items (``OpenItem``); with
    "chosen invoices" each gets an amount field (``invoice_<public id>``), blank = nothing."""

    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=14, decimal_places=2,
                                help_text="What arrived, in the account's currency.")
    received_on = forms.DateField(label="Received on", widget=forms.DateInput(
        attrs={"type": "date"}), help_text="The day the money arrived (local date).")
    method = forms.ChoiceField(choices=PaymentMethod.choices, initial=PaymentMethod.BANK_TRANSFER)
    reference = forms.CharField(max_length=140, required=False,
                                help_text="The payer's reference or the bank's text.")
    note = forms.CharField(max_length=300, required=False)
    allocation = forms.ChoiceField(
        choices=[(OLDEST, "Oldest due first"), (CHOSEN, "The invoices I choose below")],
        initial=OLDEST, widget=forms.RadioSelect,
        help_text="What is left after the chosen invoices pays the oldest open items; any "
                  "rest stays as credit on the account.")

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.items = [i for i in items if i.entry.invoice_id]
        for item in self.items:
            inv = item.entry.invoice
            self.fields[self.field_name(item)] = forms.DecimalField(
                required=False, min_value=Decimal("0.01"), max_digits=14, decimal_places=2,
                label=f"Invoice {inv.number} (open {item.open:.2f}, due {format_day(item.due_on)})",
                widget=forms.NumberInput(attrs={"step": "0.01", "data-invoice": inv.number}))

    @staticmethod
    def field_name(item) -> str:
        return f"invoice_{item.entry.invoice.public_id.hex}"

    def invoice_fields(self):
        return [self[self.field_name(i)] for i in self.items]

    def visible_main_fields(self):
        names = {self.field_name(i) for i in self.items}
        return [f for f in self.visible_fields() if f.name not in names]

    def clean(self):
        data = super().clean()
        chosen = []
        if data.get("allocation") == CHOSEN:
            for item in self.items:
                name = self.field_name(item)
                value = data.get(name)
                if value is None:
                    continue
                if value > item.open:
                    self.add_error(name, f"Only {item.open:.2f} is open on invoice "
                                         f"{item.entry.invoice.number}.")
                    continue
                chosen.append((item.entry.invoice_id, value))
            if not chosen and not any(self.has_error(self.field_name(i)) for i in self.items):
                self.add_error("allocation", "Enter an amount for at least one invoice, or "
                                             "choose \"Oldest due first\".")
        data["invoices"] = chosen
        return data


class ReverseForm(forms.Form):
    reason = forms.CharField(max_length=250, help_text="E.g. \"bounced: account closed\".")


class PeriodForm(forms.Form):
    start = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", "The end is before the start.")
        return data


def period_from(params, today: date) -> tuple[PeriodForm, date, date]:
    """The statement's period from ``?start=&end=`` (default: 1 January to today); a bad
    period shows its errors and the default period."""
    default = (date(today.year, 1, 1), today)
    form = PeriodForm(params if params.get("start") or params.get("end") else
                      {"start": default[0], "end": default[1]})
    if form.is_valid():
        return form, form.cleaned_data["start"], form.cleaned_data["end"]
    return form, *default


def parse_day(value: str) -> date | None:
    """A ``?start=`` style ISO date, or None when blank or not a date (filters forgive)."""
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


class EntryForm(forms.Form):
    """A write-off, refund, adjustment or opening balance booked by hand."""

    kind = forms.ChoiceField(choices=[
        ("write_off", "Write-off (cancel what is owed)"),
        ("refund", "Refund (pay out credit)"),
        ("adjustment", "Adjustment (+ owes more, − credit)"),
        ("opening_balance", "Opening balance (from the previous system)"),
    ])
    amount = forms.DecimalField(max_digits=14, decimal_places=2, help_text=(
        "Write-off and refund: a positive amount. Adjustment and opening balance: "
        "+ the tenant owes, − the tenant has credit."))
    booked_on = forms.DateField(label="Booked on", widget=forms.DateInput(
        attrs={"type": "date"}))
    description = forms.CharField(max_length=300, help_text="Shown on the statement of "
                                  "account.")
    invoice = forms.ChoiceField(required=False, label="Invoice (write-off only)")

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.by_id = {str(i.entry.invoice.public_id): i.entry.invoice for i in items
                      if i.entry.invoice_id}
        self.fields["invoice"].choices = [("", "— none: what is owed overall —")] + [
            (k, f"{inv.number} (open {i.open:.2f})") for (k, inv), i in zip(
                self.by_id.items(), [i for i in items if i.entry.invoice_id], strict=True)]

    def clean_invoice(self):
        value = self.cleaned_data.get("invoice") or ""
        return self.by_id.get(value)
