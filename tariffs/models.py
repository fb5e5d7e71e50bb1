"""Rate lists (versioned price lists), charge rules, holiday calendars, plans and add-ons.

A :class:`RateList` is a named price list in one currency (its *family*); its prices live in
:class:`RateListVersion` rows, each effective over ``[effective_from, effective_to)`` (dates
in the property's time zone). Changing prices adds a version from a date and closes the
previous one; history stays. The database refuses two overlapping versions of one list
(exclusion constraint over a daterange). Charge rules hang off a version; their tiers and
time-of-use bands are value objects stored as validated JSON (see ``services``) and priced
by the pure engine in ``pricing``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import RangeOperators
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Func, Q
from djmoney.models.fields import CurrencyField
from moneyed import Money

from billspree.core.scoping import OrganizationScopedModel
from billspree.core.validators import validate_one_line
from meters.models import BillingPoint, MeterType, Property
from tariffs import pricing

NON_NEGATIVE = [MinValueValidator(Decimal("0"))]


class RoundingMode(models.TextChoices):
    HALF_UP = "ROUND_HALF_UP", "Half up (0.005 → 0.01)"
    HALF_EVEN = "ROUND_HALF_EVEN", "Half even (banker's rounding)"
    UP = "ROUND_UP", "Always up"
    DOWN = "ROUND_DOWN", "Always down"


class Per(models.TextChoices):
    DAY = pricing.PER_DAY, "per day"
    MONTH = pricing.PER_MONTH, "per month"
    YEAR = pricing.PER_YEAR, "per year"


class DateRange(Func):
    function = "DATERANGE"
    output_field = models.DateField()


class RateList(OrganizationScopedModel):
    name = models.CharField(validators=[validate_one_line], max_length=200)
    description = models.TextField(blank=True)
    currency = CurrencyField(help_text="Fixed once the rate list exists.")
    rounding_mode = models.CharField(
        max_length=16, choices=RoundingMode.choices, default=RoundingMode.HALF_UP,
        help_text="How each line is rounded to the currency's minor unit.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="rate_list_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.currency})"

    def version_at(self, day: date) -> RateListVersion | None:
        return (
            self.versions.filter(effective_from__lte=day)
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gt=day))
            .first()
        )

    def pricing_settings(self, *, cash_rounding: Decimal | None = None) -> pricing.Settings:
        """The engine's settings; cash rounding is not the rate list's to decide (it is the
        organization's per currency, :class:`CashRounding`): the caller passes it in."""
        return pricing.Settings(
            currency=str(self.currency), rounding=self.rounding_mode,
            cash_rounding=cash_rounding,
        )


class CashRounding(OrganizationScopedModel):
    """How an organization rounds the gross total of its documents in one currency (e.g.
    CHF 0.05, the smallest coin). One setting per organization and currency, so a total
    never depends on which rate list priced it or sorts first; no row means no cash
    rounding. Applied to the nearest step, after the total (``pricing.vat.cash_round``)."""

    currency = CurrencyField()
    step = models.DecimalField(
        max_digits=6, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))],
        help_text="Round gross totals in this currency to the nearest step (e.g. 0.05).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "currency"],
                                    name="cash_rounding_one_per_currency"),
            models.CheckConstraint(condition=Q(step__gt=0), name="cash_rounding_step_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} to {self.step}"


class RateListVersion(OrganizationScopedModel):
    """The prices of a rate list over ``[effective_from, effective_to)``."""

    rate_list = models.ForeignKey(RateList, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Exclusive; empty = open.")
    note = models.CharField(max_length=200, blank=True, help_text="Why the prices changed.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["rate_list", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["rate_list", "number"], name="rate_list_version_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gt=F("effective_from")),
                name="rate_list_version_ends_after_start",
            ),
            ExclusionConstraint(
                name="rate_list_version_no_overlap",
                expressions=[
                    ("rate_list", RangeOperators.EQUAL),
                    (DateRange("effective_from", "effective_to"), RangeOperators.OVERLAPS),
                ],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rate_list.name} v{self.number} from {self.effective_from}"

    @property
    def is_open(self) -> bool:
        return self.effective_to is None


class HolidayCalendar(OrganizationScopedModel):
    name = models.CharField(validators=[validate_one_line], max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="holiday_calendar_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Holiday(OrganizationScopedModel):
    calendar = models.ForeignKey(HolidayCalendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField()
    name = models.CharField(validators=[validate_one_line], max_length=200)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_date")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class ChargeKind(models.TextChoices):
    STANDING = pricing.STANDING, "Standing charge"
    FLAT = pricing.FLAT, "Flat price per unit"
    TIERED = pricing.TIERED, "Tiered (graduated blocks)"
    VOLUME = pricing.VOLUME, "Volume (all units at the block reached)"
    TIME_OF_USE = pricing.TIME_OF_USE, "Time of use"


class ChargeRule(OrganizationScopedModel):
    """One rule of a rate-list version; see ``tariffs/README.md`` for how each kind prices."""

    version = models.ForeignKey(RateListVersion, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(validators=[validate_one_line], max_length=200)
    kind = models.CharField(max_length=16, choices=ChargeKind.choices)
    meter_type = models.CharField(
        max_length=16, choices=MeterType.choices, blank=True,
        help_text="Empty for a fixed charge not tied to a meter.",
    )
    unit = models.CharField(max_length=8, blank=True)
    price = models.DecimalField(
        max_digits=14, decimal_places=6, default=Decimal("0"), validators=NON_NEGATIVE,
        help_text="Price per unit (flat) or per period (standing charge).",
    )
    per = models.CharField(max_length=8, choices=Per.choices, default=Per.MONTH)
    tiers = models.JSONField(
        default=list, blank=True, help_text='[{"up_to": "100", "price": "0.20"}, …]'
    )
    bands = models.JSONField(
        default=list, blank=True,
        help_text='[{"name": "Peak", "days": ["weekday"], "start": "07:00", "end": "20:00", '
        '"price": "0.30"}, …]',
    )
    holiday_calendar = models.ForeignKey(
        HolidayCalendar, on_delete=models.PROTECT, null=True, blank=True, related_name="rules"
    )
    allowance = models.DecimalField(
        max_digits=14, decimal_places=3, default=Decimal("0"), validators=NON_NEGATIVE
    )
    minimum_charge = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=NON_NEGATIVE
    )
    tax_rate = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="VAT in percent.",
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["version", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="charge_rule_unique_name"),
            models.CheckConstraint(condition=Q(price__gte=0), name="charge_rule_price_gte_0"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tier_rows(self) -> list[dict]:
        """Tiers with their lower bound, for display."""
        rows, lower = [], "0"
        for t in self.tiers:
            rows.append({"lower": lower, "up_to": t.get("up_to"), "price": t.get("price")})
            lower = t.get("up_to") or lower
        return rows

    def to_pricing(self, holidays: frozenset[date] = frozenset()) -> pricing.Rule:
        return pricing.Rule(
            kind=self.kind, name=self.name, unit=self.unit, meter_type=self.meter_type,
            price=self.price, per=self.per,
            tiers=tuple(
                pricing.Tier(None if t.get("up_to") in (None, "") else Decimal(str(t["up_to"])),
                             Decimal(str(t["price"])))
                for t in self.tiers
            ),
            bands=tuple(band_from_json(b) for b in self.bands),
            holidays=holidays, allowance=self.allowance, minimum_charge=self.minimum_charge,
            tax_rate=self.tax_rate,
        )


def band_from_json(data: dict) -> pricing.Band:
    from datetime import time

    return pricing.Band(
        name=data["name"], day_kinds=frozenset(data["days"]),
        start=time.fromisoformat(data["start"]), end=time.fromisoformat(data["end"]),
        price=Decimal(str(data["price"])),
    )


class AddOn(OrganizationScopedModel):
    """A fixed recurring extra (meter rental, service fee), prorated by days like a standing
    charge."""

    name = models.CharField(validators=[validate_one_line], max_length=200)
    description = models.TextField(blank=True)
    currency = CurrencyField()
    price = models.DecimalField(max_digits=12, decimal_places=4, validators=NON_NEGATIVE)
    per = models.CharField(max_length=8, choices=Per.choices, default=Per.MONTH)
    meter_type = models.CharField(
        max_length=16, choices=MeterType.choices, blank=True,
        help_text="Charged per active meter of this type (e.g. meter rental); empty: once.",
    )
    tax_rate = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="add_on_unique_name"),
            models.CheckConstraint(condition=Q(price__gte=0), name="add_on_price_gte_0"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def price_money(self) -> Money:
        return Money(self.price, str(self.currency))

    def to_pricing(self) -> pricing.Rule:
        return pricing.Rule(
            kind=pricing.STANDING, name=self.name, price=self.price, per=self.per,
            tax_rate=self.tax_rate, unit=self.per,
        )


class Plan(OrganizationScopedModel):
    """A bundle of rate lists and add-ons a billing point is billed on."""

    name = models.CharField(validators=[validate_one_line], max_length=200)
    description = models.TextField(blank=True)
    property_kind = models.CharField(
        max_length=16, choices=Property.Kind.choices, blank=True,
        help_text="The kind of building this plan is meant for (empty: any).",
    )
    rate_lists = models.ManyToManyField(RateList, related_name="plans", blank=True)
    add_ons = models.ManyToManyField(AddOn, related_name="plans", blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="plan_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class PlanVariant(OrganizationScopedModel):
    """A variation of a plan: its own rate lists (replacing the plan's when set) and extra
    add-ons."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(validators=[validate_one_line], max_length=200)
    description = models.TextField(blank=True)
    rate_lists = models.ManyToManyField(RateList, related_name="plan_variants", blank=True)
    add_ons = models.ManyToManyField(AddOn, related_name="plan_variants", blank=True)

    class Meta:
        ordering = ["plan", "name"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "name"], name="plan_variant_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.plan.name} · {self.name}"


class PricingTemplate(OrganizationScopedModel):
    """A preset for new subscriptions: which plan (and variant) a kind of billing point gets."""

    name = models.CharField(validators=[validate_one_line], max_length=200)
    description = models.TextField(blank=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="templates")
    variant = models.ForeignKey(
        PlanVariant, on_delete=models.PROTECT, null=True, blank=True, related_name="templates"
    )
    billing_point_kind = models.CharField(
        max_length=16, choices=BillingPoint.Kind.choices, blank=True
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="pricing_template_unique_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class BillingPointRateList(OrganizationScopedModel):
    """A billing point's own rate list, overriding its plan's (for one meter type or all)."""

    billing_point = models.ForeignKey(
        BillingPoint, on_delete=models.CASCADE, related_name="rate_overrides"
    )
    rate_list = models.ForeignKey(RateList, on_delete=models.PROTECT, related_name="overrides")
    meter_type = models.CharField(
        max_length=16, choices=MeterType.choices, blank=True,
        help_text="Empty: the override applies to every meter type.",
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["billing_point", "meter_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["billing_point", "meter_type"], name="billing_point_rate_list_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.billing_point} → {self.rate_list.name}"
