"""Add-ons, plans, plan variants, pricing templates and billing-point rate overrides."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from meters.models import BillingPoint, MeterType
from tariffs.models import (
    AddOn,
    BillingPointRateList,
    Per,
    Plan,
    PlanVariant,
    PricingTemplate,
    RateList,
)
from tariffs.services.common import (
    audit,
    clean_choice,
    clean_currency,
    clean_name,
    clean_unique_name,
    model_data,
    store,
)
from tariffs.validation import Errors, decimal


@transaction.atomic
def add_on_save(*, add_on: AddOn | None = None, actor: Any = None, **fields: Any) -> AddOn:
    errors = Errors()
    data = {**(model_data(add_on) if add_on else {}), **fields}
    name = clean_unique_name(AddOn, data.get("name"), errors, exclude=add_on)
    currency = clean_currency(data.get("currency"), errors)
    if add_on is not None and currency != str(add_on.currency) and add_on.plans.exists():
        errors.add("currency", "This add-on is part of a plan; its currency cannot change.")
    price = decimal(data.get("price"), "price", errors)
    tax = decimal(data.get("tax_rate"), "tax_rate", errors, allow_none=True) or Decimal(0)
    if tax > 100:
        errors.add("tax_rate", "A tax rate is a percentage between 0 and 100.")
    values = {
        "name": name, "currency": currency, "price": price, "tax_rate": tax,
        "description": data.get("description") or "",
        "per": clean_choice(data.get("per") or Per.MONTH, Per, "per", errors, blank=False),
        "meter_type": clean_choice(data.get("meter_type"), MeterType, "meter_type", errors),
        "active": bool(data.get("active", True)),
    }
    errors.raise_if_any()
    add_on = store(AddOn, add_on, values)
    audit("add_on.save", add_on, actor, price=price, currency=currency)
    return add_on


def _same_currency(rate_lists: list[RateList], add_ons: list[AddOn], errors: Errors) -> None:
    currencies = {str(r.currency) for r in rate_lists}
    if len(currencies) > 1:
        errors.add("rate_lists", f"Rate lists of one plan share a currency (got "
                   f"{', '.join(sorted(currencies))}).")
    for add_on in add_ons:
        if currencies and str(add_on.currency) not in currencies:
            errors.add("add_ons", f"{add_on.name} is in {add_on.currency} but the rate lists are "
                       f"in {', '.join(sorted(currencies))}.")


@transaction.atomic
def plan_save(
    *, plan: Plan | None = None, name: str, description: str = "", property_kind: str = "",
    rate_lists: list[RateList] | None = None, add_ons: list[AddOn] | None = None,
    active: bool = True, actor: Any = None,
) -> Plan:
    from meters.models import Property

    errors = Errors()
    name = clean_unique_name(Plan, name, errors, exclude=plan)
    clean_choice(property_kind, Property.Kind, "property_kind", errors)
    rate_lists, add_ons = list(rate_lists or []), list(add_ons or [])
    _same_currency(rate_lists, add_ons, errors)
    errors.raise_if_any()
    plan = store(Plan, plan, {
        "name": name, "description": description or "", "property_kind": property_kind or "",
        "active": active,
    })
    plan.rate_lists.set(rate_lists)
    plan.add_ons.set(add_ons)
    audit("plan.save", plan, actor, rate_lists=len(rate_lists), add_ons=len(add_ons))
    return plan


@transaction.atomic
def plan_variant_save(
    *, plan: Plan, name: str, variant: PlanVariant | None = None, description: str = "",
    rate_lists: list[RateList] | None = None, add_ons: list[AddOn] | None = None,
    actor: Any = None,
) -> PlanVariant:
    errors = Errors()
    name = clean_name(name, errors)
    if variant is not None and variant.plan_id != plan.pk:
        errors.add("plan", "A variant stays with its plan.")
    clash = PlanVariant.objects.filter(plan=plan, name=name)
    if variant is not None:
        clash = clash.exclude(pk=variant.pk)
    if name and clash.exists():
        errors.add("name", f"{plan.name} already has a variant named '{name}'.")
    rate_lists, add_ons = list(rate_lists or []), list(add_ons or [])
    _same_currency(rate_lists or list(plan.rate_lists.all()), add_ons, errors)
    errors.raise_if_any()
    variant = store(PlanVariant, variant, {
        "plan": plan, "name": name, "description": description or "",
    })
    variant.rate_lists.set(rate_lists)
    variant.add_ons.set(add_ons)
    audit("plan_variant.save", variant, actor)
    return variant


@transaction.atomic
def pricing_template_save(
    *, name: str, plan: Plan, template: PricingTemplate | None = None,
    variant: PlanVariant | None = None, billing_point_kind: str = "", description: str = "",
    actor: Any = None,
) -> PricingTemplate:
    errors = Errors()
    name = clean_unique_name(PricingTemplate, name, errors, exclude=template)
    if variant is not None and variant.plan_id != plan.pk:
        errors.add("variant", f"{variant.name} is a variant of {variant.plan.name}, not of "
                   f"{plan.name}.")
    clean_choice(billing_point_kind, BillingPoint.Kind, "billing_point_kind", errors)
    errors.raise_if_any()
    template = store(PricingTemplate, template, {
        "name": name, "plan": plan, "variant": variant, "description": description or "",
        "billing_point_kind": billing_point_kind or "",
    })
    audit("pricing_template.save", template, actor)
    return template


# --- billing point overrides ------------------------------------------------------------


@transaction.atomic
def billing_point_rate_list_set(
    *, billing_point: BillingPoint, rate_list: RateList, meter_type: str = "", note: str = "",
    override: BillingPointRateList | None = None, actor: Any = None,
) -> BillingPointRateList:
    """The billing point's own rate list (for one meter type, or all when empty)."""
    errors = Errors()
    meter_type = clean_choice(meter_type, MeterType, "meter_type", errors)
    currency = str(billing_point.property.currency)
    if str(rate_list.currency) != currency:
        errors.add("rate_list", f"{rate_list.name} is in {rate_list.currency} but "
                   f"{billing_point.property.name} bills in {currency}.")
    clash = BillingPointRateList.objects.filter(billing_point=billing_point, meter_type=meter_type)
    if override is not None:
        clash = clash.exclude(pk=override.pk)
    if clash.exists():
        errors.add("meter_type", f"{billing_point.name} already has its own rate list for "
                   f"{meter_type or 'all meter types'}; change that one.")
    errors.raise_if_any()
    override = store(BillingPointRateList, override, {
        "billing_point": billing_point, "rate_list": rate_list, "meter_type": meter_type,
        "note": (note or "")[:200],
    })
    audit("billing_point.rate_list", billing_point, actor, rate_list=rate_list.name,
           meter_type=meter_type or "all")
    return override
