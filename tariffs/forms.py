"""Portal forms of tariffs: they parse input; services validate and name bad fields."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from billspree.core.form_fields import BoundedDateField
from billspree.core.forms import PublicIdChoiceField
from meters.models import BillingPoint, MeterType, Property
from tariffs import pricing
from tariffs.models import (
    AddOn,
    ChargeKind,
    HolidayCalendar,
    Per,
    Plan,
    PlanVariant,
    RateList,
    RoundingMode,
)

PRORATION_HELP = (
    "Block limits, the included allowance and the minimum charge are per billing period. "
    "For a partial period they are scaled by days: e.g. 'first 100 kWh' billed for 15 days of "
    "a 30-day month becomes 'first 50 kWh' (limits rounded to 0.001)."
)


def currency_choices() -> list[tuple[str, str]]:
    return [(c, c) for c in settings.CURRENCIES]


class PublicIdMultipleChoiceField(forms.ModelMultipleChoiceField):
    def __init__(self, queryset, **kwargs):
        kwargs.setdefault("to_field_name", "public_id")
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        super().__init__(queryset, **kwargs)


class CashRoundingForm(forms.Form):
    currency = forms.ChoiceField(choices=currency_choices)
    step = forms.CharField(
        required=False, max_length=10,
        help_text="Gross totals in this currency are rounded to the nearest step (e.g. 0.05 "
        "for CHF), shown after the total. Empty: no cash rounding.",
    )


class RateListForm(forms.Form):
    name = forms.CharField(max_length=200)
    currency = forms.ChoiceField(choices=currency_choices, help_text="Fixed once created.")
    effective_from = BoundedDateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The first day these prices apply (in the property's time zone).",
    )
    rounding_mode = forms.ChoiceField(choices=RoundingMode.choices, initial=RoundingMode.HALF_UP,
                                      help_text="Each line is rounded once to the minor unit.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    effective_to = BoundedDateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}),
        label="No prices from",
        help_text="The first day without prices (the list ends the day before). Empty: open.",
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not editing:
            del self.fields["effective_to"]
        if editing:
            del self.fields["effective_from"]
            self.fields["currency"].disabled = True
            self.fields["currency"].help_text = "The currency of a rate list cannot change."


class VersionForm(forms.Form):
    effective_from = BoundedDateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="New prices start on this day; the current version ends the day before.",
    )
    note = forms.CharField(max_length=200, required=False, help_text="Why the prices change.")
    copy_rules = forms.BooleanField(
        required=False, initial=True, help_text="Start from a copy of the current rules."
    )


class ChargeRuleForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Shown on invoice lines.")
    kind = forms.ChoiceField(choices=ChargeKind.choices)
    meter_type = forms.ChoiceField(
        choices=[("", "— fixed charge —"), *MeterType.choices], required=False
    )
    unit = forms.CharField(max_length=8, required=False,
                           help_text="Empty: the meter type's usual unit.")
    price = forms.DecimalField(required=False, decimal_places=6,
                               help_text="Per unit (flat) or per period (standing charge).")
    per = forms.ChoiceField(choices=Per.choices, initial=Per.MONTH,
                            help_text="Standing charges: prorated by days in each period.")
    allowance = forms.DecimalField(required=False, decimal_places=3,
                                   help_text="First units per billing period free. "
                                   + PRORATION_HELP)
    minimum_charge = forms.DecimalField(required=False, decimal_places=2,
                                        help_text="Per billing period, prorated by days.")
    tax_rate = forms.DecimalField(required=False, decimal_places=2, initial=Decimal("0"),
                                  help_text="VAT in percent.")
    holiday_calendar = PublicIdChoiceField(
        HolidayCalendar.objects.all(), required=False,
        help_text="Time of use: days priced with the holiday bands.",
    )
    position = forms.IntegerField(required=False, min_value=0, initial=0)

    #: The fields only some kinds use; the page shows them for those kinds only (a tiered
    #: rule has no unit price: its blocks have the prices).
    FIELD_KINDS = {
        "price": (pricing.STANDING, pricing.FLAT),
        "per": (pricing.STANDING,),
        "allowance": (pricing.FLAT, pricing.TIERED, pricing.VOLUME),
        "minimum_charge": (pricing.FLAT, pricing.TIERED, pricing.VOLUME, pricing.TIME_OF_USE),
        "holiday_calendar": (pricing.TIME_OF_USE,),
    }

    def field_rows(self) -> list[tuple[forms.BoundField, str, bool]]:
        """(field, the kinds that use it as "a b", hidden now) for the template: a field
        the chosen kind does not use starts hidden, unless it has an error to show."""
        kind = self["kind"].value() or ChargeKind.choices[0][0]
        rows = []
        for field in self.visible_fields():
            kinds = self.FIELD_KINDS.get(field.name)
            hidden = bool(kinds) and kind not in kinds and not field.errors
            rows.append((field, " ".join(kinds or ()), hidden))
        return rows

    def clean(self):
        data = super().clean()
        if data.get("kind") not in self.FIELD_KINDS["price"]:
            data["price"] = None  # a value typed before the kind changed is not a price
        return data


class TierRowForm(forms.Form):
    up_to = forms.DecimalField(required=False, decimal_places=3,
                               widget=forms.NumberInput(attrs={"step": "any"}))
    price = forms.DecimalField(required=False, decimal_places=6,
                               widget=forms.NumberInput(attrs={"step": "any"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _row_labels(self, "Block", {"up_to": "up to", "price": "price"})


def _row_labels(form: forms.Form, noun: str, names: dict[str, str]) -> None:
    """Accessible names for inputs in a table row, e.g. "Block 2 up to"."""
    n = str(form.prefix or "").rsplit("-", 1)[-1]
    row = int(n) + 1 if n.isdigit() else ""
    for field, label in names.items():
        form.fields[field].widget.attrs["aria-label"] = f"{noun} {row} {label}"


class BandRowForm(forms.Form):
    name = forms.CharField(max_length=60, required=False)
    days = forms.MultipleChoiceField(
        choices=[(k, k.capitalize()) for k in pricing.DAY_KINDS], required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    start = forms.CharField(max_length=5, required=False,
                            widget=forms.TextInput(attrs={"placeholder": "07:00"}))
    end = forms.CharField(max_length=5, required=False,
                          widget=forms.TextInput(attrs={"placeholder": "20:00"}))
    price = forms.DecimalField(required=False, decimal_places=6,
                               widget=forms.NumberInput(attrs={"step": "any"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _row_labels(self, "Band", {"name": "name", "start": "from", "end": "to",
                                   "price": "price"})


TierRows = forms.formset_factory(TierRowForm, extra=0, max_num=20)
BandRows = forms.formset_factory(BandRowForm, extra=0, max_num=20)


def tier_rows(formset) -> list[dict]:
    return [
        {"up_to": f.cleaned_data.get("up_to"), "price": f.cleaned_data.get("price")}
        for f in formset.forms
        if f.cleaned_data.get("price") is not None or f.cleaned_data.get("up_to") is not None
    ]


def band_rows(formset) -> list[dict]:
    return [
        {k: f.cleaned_data.get(k) for k in ("name", "days", "start", "end", "price")}
        for f in formset.forms
        if any(f.cleaned_data.get(k) for k in ("name", "start", "end", "price"))
    ]


class QuoteForm(forms.Form):
    first_day = BoundedDateField(widget=forms.DateInput(attrs={"type": "date"}))
    last_day = BoundedDateField(widget=forms.DateInput(attrs={"type": "date"}),
                               help_text="Inclusive.")
    time_zone = forms.CharField(max_length=64, help_text="The property's time zone.")
    billing_period = forms.ChoiceField(
        choices=[("period", "These days are a whole billing period"),
                 ("month", "Part of the calendar month of the first day")],
        initial="period", help_text=PRORATION_HELP,
    )
    spread = forms.BooleanField(
        required=False, label="Assume a flat hourly profile",
        help_text="Time of use needs interval data. For trying only: spread each total "
        "evenly over every hour. Invoices never do this.",
    )

    interval_type = forms.ChoiceField(
        choices=[("", "— no interval data —"), *MeterType.choices], required=False,
        label="Interval data for",
    )
    interval_csv = forms.CharField(
        required=False, label="Interval data",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder":
                                     "2026-03-02T07:00,2026-03-02T08:00,1.25"}),
        help_text="One interval a line: start, end, quantity. Times without an offset are "
        "read in the time zone above.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for value, label in MeterType.choices:
            self.fields[f"q_{value}"] = forms.DecimalField(
                label=f"{label} used", required=False, min_value=Decimal(0), decimal_places=6,
            )
        self.order_fields(["first_day", "last_day", "time_zone", "billing_period",
                           *[f"q_{t}" for t in MeterType.values], "interval_type",
                           "interval_csv", "spread"])

    def intervals(self) -> dict[str, tuple[pricing.Interval, ...]]:
        kind, text = self.cleaned_data.get("interval_type"), self.cleaned_data.get("interval_csv")
        if not kind or not text:
            return {}
        return {kind: self._parsed}

    def _parse_intervals(self, text: str, tz: str) -> tuple[pricing.Interval, ...]:
        from decimal import InvalidOperation

        zone, rows, errors = ZoneInfo(tz), [], []
        for n, line in enumerate(text.strip().splitlines(), start=1):
            parts = [p.strip() for p in line.split(",")]
            try:
                if len(parts) != 3:
                    raise ValueError("expected start, end, quantity")
                start, end = (datetime.fromisoformat(p) for p in parts[:2])
                start, end = (d if d.tzinfo else d.replace(tzinfo=zone) for d in (start, end))
                quantity = Decimal(parts[2])
                if end <= start or quantity < 0 or not quantity.is_finite():
                    raise ValueError("end must be after start and the quantity 0 or more")
            except (ValueError, InvalidOperation) as exc:
                errors.append(f"Line {n}: {exc}" if str(exc) else f"Line {n}: not understood")
                continue
            rows.append(pricing.Interval(start, end, quantity))
        ordered = sorted(rows, key=lambda r: r.start)
        for a, b in zip(ordered, ordered[1:], strict=False):
            if b.start < a.end:
                errors.append(f"Intervals overlap at {b.start:%Y-%m-%d %H:%M}.")
                break
        if errors:
            raise ValidationError(errors[:10])
        return tuple(rows)

    def clean_time_zone(self):
        value = self.cleaned_data["time_zone"]
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(f"Unknown time zone '{value}'.") from exc
        return value

    def clean(self):
        data = super().clean()
        first, last = data.get("first_day"), data.get("last_day")
        if first and last:
            if last < first:
                self.add_error("last_day", "The last day cannot be before the first.")
            elif (last - first).days > 400:
                self.add_error("last_day", "Try at most 400 days.")
        text, tz = data.get("interval_csv"), data.get("time_zone")
        if text and tz:
            if not data.get("interval_type"):
                self.add_error("interval_type", "Say which meter type the intervals are for.")
            try:
                self._parsed = self._parse_intervals(text, tz)
            except ValidationError as exc:
                self.add_error("interval_csv", exc)
        return data

    def totals(self) -> dict[str, Decimal]:
        return {t: self.cleaned_data[f"q_{t}"] for t in MeterType.values
                if self.cleaned_data.get(f"q_{t}") is not None}


def month_bounds(day: date) -> tuple[date, date]:
    start = day.replace(day=1)
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, end


def hourly_spread(total: Decimal, start: date, end: date, tz: str) -> tuple:
    """Evenly spread intervals (the portal's explicit "try it" assumption, never billing's)."""
    from datetime import UTC, time, timedelta

    zone = ZoneInfo(tz)
    a = datetime.combine(start, time(0), tzinfo=zone).astimezone(UTC)
    b = datetime.combine(end, time(0), tzinfo=zone).astimezone(UTC)
    hours = int((b - a) / timedelta(hours=1))
    share = total / hours
    return tuple(
        pricing.Interval(a + timedelta(hours=h), a + timedelta(hours=h + 1), share)
        for h in range(hours)
    )


class AddOnForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    currency = forms.ChoiceField(choices=currency_choices)
    price = forms.DecimalField(decimal_places=4)
    per = forms.ChoiceField(choices=Per.choices, initial=Per.MONTH,
                            help_text="Prorated by days like a standing charge.")
    meter_type = forms.ChoiceField(
        choices=[("", "— once per billing point —"), *MeterType.choices], required=False,
        help_text="Charge once per active meter of this type (meter rental).",
    )
    tax_rate = forms.DecimalField(decimal_places=2, initial=Decimal("0"), required=False,
                                  help_text="VAT in percent.")
    active = forms.BooleanField(required=False, initial=True)


class PlanForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    property_kind = forms.ChoiceField(
        choices=[("", "Any kind of building"), *Property.Kind.choices], required=False
    )
    rate_lists = PublicIdMultipleChoiceField(RateList.objects.all())
    add_ons = PublicIdMultipleChoiceField(AddOn.objects.filter(active=True))
    active = forms.BooleanField(required=False, initial=True)


class PlanVariantForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    rate_lists = PublicIdMultipleChoiceField(
        RateList.objects.all(), help_text="Replace the plan's rate lists (none: keep them)."
    )
    add_ons = PublicIdMultipleChoiceField(AddOn.objects.filter(active=True),
                                          help_text="Extras on top of the plan's add-ons.")


class PricingTemplateForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    plan = PublicIdChoiceField(Plan.objects.all())
    variant = PublicIdChoiceField(PlanVariant.objects.select_related("plan"), required=False)
    billing_point_kind = forms.ChoiceField(
        choices=[("", "Any billing point"), *BillingPoint.Kind.choices], required=False
    )


class HolidayCalendarForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    days = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "placeholder": "2026-12-25 Christmas Day"}),
        required=False, help_text="One holiday a line: YYYY-MM-DD and a name.",
    )

    def holiday_days(self) -> list[tuple[str, str]]:
        out = []
        for line in self.cleaned_data.get("days", "").splitlines():
            if line.strip():
                day, _, name = line.strip().partition(" ")
                out.append((day, name.strip()))
        return out


class OverrideForm(forms.Form):
    billing_point = PublicIdChoiceField(BillingPoint.objects.select_related("property"))
    rate_list = PublicIdChoiceField(RateList.objects.all())
    meter_type = forms.ChoiceField(
        choices=[("", "All meter types"), *MeterType.choices], required=False
    )
    note = forms.CharField(max_length=200, required=False)
