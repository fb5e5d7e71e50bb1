"""State changes of rate lists, versions, charge rules, holiday calendars, plans, add-ons
and billing-point rate overrides. Keyword-only, transactional, audited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError

from billspree.core.errors import Conflict
from billspree.core.services import audit_record
from meters.models import BillingPoint, MeterType
from tariffs.models import (
    AddOn,
    BillingPointRateList,
    ChargeRule,
    Holiday,
    HolidayCalendar,
    Per,
    Plan,
    PlanVariant,
    PricingTemplate,
    RateList,
    RateListVersion,
    RoundingMode,
)
from tariffs.validation import Errors, clean_rule


def _audit(action: str, target: Any, actor: Any = None, **detail: Any) -> None:
    audit_record(
        action=action, actor=actor, target=str(target),
        detail={k: str(v) for k, v in detail.items()},
    )


def _name(value: Any, errors: Errors, field: str = "name") -> str:
    text = str(value or "").strip()
    if not text:
        errors.add(field, "This field is required.")
    elif len(text) > 200:
        errors.add(field, "At most 200 characters.")
    return text


def _currency(value: Any, errors: Errors) -> str:
    code = str(value or "").strip().upper()
    if code not in settings.CURRENCIES:
        errors.add("currency", f"Choose one of {', '.join(settings.CURRENCIES)}.")
    return code


def _unique(model: type[models.Model], errors: Errors, exclude: Any = None, **lookup: Any) -> None:
    qs = model.objects.filter(**lookup)
    if exclude is not None and exclude.pk:
        qs = qs.exclude(pk=exclude.pk)
    if qs.exists():
        field = "name" if "name" in lookup else next(iter(lookup))
        errors.add(field, f"{model._meta.verbose_name.capitalize()} '{lookup.get(field)}' "
                   "already exists.")


def _money_options(data: dict[str, Any], errors: Errors) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "rounding_mode" in data:
        if data["rounding_mode"] not in RoundingMode.values:
            errors.add("rounding_mode", f"Choose one of {', '.join(RoundingMode.values)}.")
        out["rounding_mode"] = data["rounding_mode"]
    if "cash_rounding" in data:
        raw = data["cash_rounding"]
        try:
            step = None if raw in (None, "") else Decimal(str(raw))
        except InvalidOperation:
            step = None
            errors.add("cash_rounding", f"'{raw}' is not a number.")
        if step is not None and (not step.is_finite() or step <= 0 or step > 100):
            errors.add("cash_rounding", "A cash rounding step is a positive amount such as 0.05.")
        out["cash_rounding"] = step
    return out


# --- rate lists and versions ------------------------------------------------------------


@transaction.atomic
def rate_list_create(
    *, name: str, currency: str, effective_from: date, description: str = "",
    rounding_mode: str = RoundingMode.HALF_UP, cash_rounding: Decimal | None = None,
    actor: Any = None,
) -> RateList:
    """A rate list with its first (empty, open-ended) version from ``effective_from``."""
    errors = Errors()
    name = _name(name, errors)
    currency = _currency(currency, errors)
    options = _money_options(
        {"rounding_mode": rounding_mode, "cash_rounding": cash_rounding}, errors
    )
    if not isinstance(effective_from, date):
        errors.add("effective_from", "Enter the date the prices start (YYYY-MM-DD).")
    if name:
        _unique(RateList, errors, name=name)
    errors.raise_if_any()
    rate_list = RateList.objects.create(
        name=name, currency=currency, description=description or "", **options
    )
    RateListVersion.objects.create(rate_list=rate_list, number=1, effective_from=effective_from)
    _audit("rate_list.create", rate_list, actor, currency=currency, effective_from=effective_from)
    return rate_list


@transaction.atomic
def rate_list_update(*, rate_list: RateList, actor: Any = None, **fields: Any) -> RateList:
    errors = Errors()
    allowed = {"name", "description", "rounding_mode", "cash_rounding", "currency"}
    for key in sorted(set(fields) - allowed):
        errors.add(key, "This field cannot be changed.")
    if "currency" in fields and str(fields["currency"]).upper() != str(rate_list.currency):
        errors.add("currency", f"The currency of a rate list is fixed ({rate_list.currency}); "
                   "create a new rate list for another currency.")
    values = _money_options(fields, errors)
    if "name" in fields:
        values["name"] = _name(fields["name"], errors)
        if values["name"]:
            _unique(RateList, errors, exclude=rate_list, name=values["name"])
    if "description" in fields:
        values["description"] = fields["description"] or ""
    errors.raise_if_any()
    for key, value in values.items():
        setattr(rate_list, key, value)
    rate_list.save()
    _audit("rate_list.update", rate_list, actor, **values)
    return rate_list


@transaction.atomic
def rate_list_end(
    *, rate_list: RateList, effective_to: date | None, actor: Any = None
) -> RateListVersion:
    """Set (or clear, with None) the day the rate list's prices stop: the exclusive end of
    its last version."""
    RateList.objects.select_for_update().filter(pk=rate_list.pk).first()
    last = rate_list.versions.order_by("-effective_from").first()
    if last is None:
        raise ValidationError({"effective_to": ["This rate list has no prices to end."]})
    if effective_to is not None and effective_to <= last.effective_from:
        raise ValidationError({"effective_to": [
            f"Must be after {last.effective_from:%Y-%m-%d}, when the last version starts."
        ]})
    last.effective_to = effective_to
    last.save(update_fields=["effective_to"])
    _audit("rate_list.end", rate_list, actor, effective_to=effective_to or "open")
    return last


@transaction.atomic
def rate_list_version_delete(*, version: RateListVersion, actor: Any = None) -> None:
    """Undo the latest price change: the previous version takes its days back."""
    rate_list = version.rate_list
    RateList.objects.select_for_update().filter(pk=rate_list.pk).first()
    versions = list(rate_list.versions.order_by("-effective_from"))
    if versions[0].pk != version.pk:
        raise Conflict("Only the latest version can be removed; history before it stays.")
    if len(versions) == 1:
        raise Conflict("A rate list keeps at least one version; delete the rate list instead.")
    previous = versions[1]
    end = version.effective_to
    delete(instance=version, actor=actor)
    previous.effective_to = end
    previous.save(update_fields=["effective_to"])


@transaction.atomic
def rate_list_delete(*, rate_list: RateList, actor: Any = None) -> None:
    if rate_list.plans.exists() or rate_list.plan_variants.exists():
        raise Conflict(f"{rate_list.name} is part of a plan; remove it from the plan first.")
    delete(instance=rate_list, actor=actor)


@transaction.atomic
def rate_list_version_create(
    *, rate_list: RateList, effective_from: date, note: str = "", copy_rules: bool = True,
    actor: Any = None,
) -> RateListVersion:
    """New prices from ``effective_from``: closes the current last version on that date and
    copies its rules (to be edited). History is never rewritten: the new version must start
    after the last one starts. Concurrent calls are serialised on the rate list row; the
    exclusion constraint is the last word."""
    RateList.objects.select_for_update().filter(pk=rate_list.pk).first()
    if not isinstance(effective_from, date):
        raise ValidationError({"effective_from": ["Enter the date the new prices start."]})
    latest = rate_list.versions.order_by("-effective_from").first()
    if latest is not None and effective_from <= latest.effective_from:
        raise ValidationError({"effective_from": [
            f"Must be after {latest.effective_from:%Y-%m-%d}, when version {latest.number} "
            "starts; past versions stay as they were."
        ]})
    if latest is not None and latest.effective_to and latest.effective_to < effective_from:
        raise ValidationError({"effective_from": [
            f"Version {latest.number} ends on {latest.effective_to:%Y-%m-%d}; a new version "
            "must start then or earlier so that no days are left without prices."
        ]})
    if latest is not None and (latest.effective_to is None or latest.effective_to > effective_from):
        latest.effective_to = effective_from
        latest.save(update_fields=["effective_to"])
    number = (latest.number if latest else 0) + 1
    try:
        with transaction.atomic():
            version = RateListVersion.objects.create(
                rate_list=rate_list, number=number, effective_from=effective_from,
                note=(note or "")[:200],
            )
    except IntegrityError as exc:
        raise Conflict("Another version was created at the same time; reload and retry.") from exc
    if latest is not None and copy_rules:
        _copy_rules(latest, version)
    _audit("rate_list.version", rate_list, actor, number=number, effective_from=effective_from)
    return version


def _copy_rules(source: RateListVersion, target: RateListVersion) -> None:
    skip = {"id", "organization", "public_id", "version"}
    fields = [f.name for f in ChargeRule._meta.concrete_fields if f.name not in skip]
    ChargeRule.objects.bulk_create([
        ChargeRule(
            organization_id=target.organization_id, version=target,
            **{name: getattr(rule, name) for name in fields},
        )
        for rule in source.rules.all()
    ])


# --- charge rules -----------------------------------------------------------------------


def _rule_data(rule: ChargeRule | None, changes: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = {}
    if rule is not None:
        base = {
            "name": rule.name, "kind": rule.kind, "meter_type": rule.meter_type,
            "unit": rule.unit, "price": rule.price, "per": rule.per, "tiers": rule.tiers,
            "bands": rule.bands, "holiday_calendar": rule.holiday_calendar,
            "allowance": rule.allowance, "minimum_charge": rule.minimum_charge,
            "tax_rate": rule.tax_rate, "position": rule.position,
        }
    return {**base, **changes}


@transaction.atomic
def charge_rule_create(*, version: RateListVersion, actor: Any = None, **fields: Any) -> ChargeRule:
    values = clean_rule(_rule_data(None, fields))
    _rule_name_free(version, values["name"])
    rule = ChargeRule.objects.create(version=version, **values)
    _audit("charge_rule.create", f"{version} · {rule.name}", actor, kind=rule.kind)
    return rule


@transaction.atomic
def charge_rule_update(*, rule: ChargeRule, actor: Any = None, **fields: Any) -> ChargeRule:
    values = clean_rule(_rule_data(rule, fields))
    _rule_name_free(rule.version, values["name"], exclude=rule)
    for key, value in values.items():
        setattr(rule, key, value)
    rule.save()
    _audit("charge_rule.update", f"{rule.version} · {rule.name}", actor, **fields)
    return rule


@transaction.atomic
def charge_rule_delete(*, rule: ChargeRule, actor: Any = None) -> None:
    label = f"{rule.version} · {rule.name}"
    rule.delete()
    _audit("charge_rule.delete", label, actor)


def _rule_name_free(version: RateListVersion, name: str, exclude: ChargeRule | None = None) -> None:
    qs = version.rules.filter(name=name)
    if exclude is not None:
        qs = qs.exclude(pk=exclude.pk)
    if qs.exists():
        raise ValidationError({"name": [f"This version already has a rule named '{name}'."]})


# --- holiday calendars ------------------------------------------------------------------


def _clean_days(days: Any, errors: Errors) -> list[tuple[date, str]]:
    out, seen = [], set()
    for n, item in enumerate(days or [], start=1):
        day, label = (item if isinstance(item, list | tuple) else (item, ""))[:2]
        if isinstance(day, str):
            try:
                day = date.fromisoformat(day)
            except ValueError:
                errors.add("days", f"Row {n}: '{day}' is not a date (YYYY-MM-DD).")
                continue
        if not isinstance(day, date):
            errors.add("days", f"Row {n}: not a date.")
            continue
        if day in seen:
            errors.add("days", f"Row {n}: {day} is listed twice.")
        seen.add(day)
        out.append((day, str(label or "Holiday")[:200]))
    return out


@transaction.atomic
def holiday_calendar_save(
    *, name: str, days: list, calendar: HolidayCalendar | None = None, description: str = "",
    actor: Any = None,
) -> HolidayCalendar:
    """Create or replace a holiday calendar; ``days`` are (date, name) pairs."""
    errors = Errors()
    name = _name(name, errors)
    if name:
        _unique(HolidayCalendar, errors, exclude=calendar, name=name)
    cleaned = _clean_days(days, errors)
    errors.raise_if_any()
    if calendar is None:
        calendar = HolidayCalendar.objects.create(name=name, description=description)
    else:
        calendar.name, calendar.description = name, description
        calendar.save()
        calendar.days.all().delete()
    Holiday.objects.bulk_create(
        [Holiday(organization_id=calendar.organization_id, calendar=calendar, date=d, name=n)
         for d, n in cleaned]
    )
    _audit("holiday_calendar.save", calendar, actor, days=len(cleaned))
    return calendar


# --- add-ons, plans, variants, templates ------------------------------------------------


def _choice(value: Any, choices: Any, field: str, errors: Errors, blank: bool = True) -> str:
    value = value or ""
    if (value or not blank) and value not in choices.values:
        errors.add(field, f"Choose one of {', '.join(choices.values)}.")
    return value


@transaction.atomic
def add_on_save(*, add_on: AddOn | None = None, actor: Any = None, **fields: Any) -> AddOn:
    errors = Errors()
    data = {**(_model_data(add_on) if add_on else {}), **fields}
    name = _name(data.get("name"), errors)
    if name:
        _unique(AddOn, errors, exclude=add_on, name=name)
    currency = _currency(data.get("currency"), errors)
    if add_on is not None and currency != str(add_on.currency) and add_on.plans.exists():
        errors.add("currency", "This add-on is part of a plan; its currency cannot change.")
    from tariffs.validation import decimal

    price = decimal(data.get("price"), "price", errors)
    tax = decimal(data.get("tax_rate"), "tax_rate", errors, allow_none=True) or Decimal(0)
    if tax > 100:
        errors.add("tax_rate", "A tax rate is a percentage between 0 and 100.")
    values = {
        "name": name, "currency": currency, "price": price, "tax_rate": tax,
        "description": data.get("description") or "",
        "per": _choice(data.get("per") or Per.MONTH, Per, "per", errors, blank=False),
        "meter_type": _choice(data.get("meter_type"), MeterType, "meter_type", errors),
        "active": bool(data.get("active", True)),
    }
    errors.raise_if_any()
    add_on = _store(AddOn, add_on, values)
    _audit("add_on.save", add_on, actor, price=price, currency=currency)
    return add_on


def _model_data(instance: models.Model) -> dict[str, Any]:
    return {f.name: getattr(instance, f.name) for f in instance._meta.concrete_fields}


def _store(model: type[models.Model], instance: Any, values: dict[str, Any]) -> Any:
    if instance is None:
        return model.objects.create(**values)
    for key, value in values.items():
        setattr(instance, key, value)
    instance.save()
    return instance


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
    name = _name(name, errors)
    if name:
        _unique(Plan, errors, exclude=plan, name=name)
    _choice(property_kind, Property.Kind, "property_kind", errors)
    rate_lists, add_ons = list(rate_lists or []), list(add_ons or [])
    _same_currency(rate_lists, add_ons, errors)
    errors.raise_if_any()
    plan = _store(Plan, plan, {
        "name": name, "description": description or "", "property_kind": property_kind or "",
        "active": active,
    })
    plan.rate_lists.set(rate_lists)
    plan.add_ons.set(add_ons)
    _audit("plan.save", plan, actor, rate_lists=len(rate_lists), add_ons=len(add_ons))
    return plan


@transaction.atomic
def plan_variant_save(
    *, plan: Plan, name: str, variant: PlanVariant | None = None, description: str = "",
    rate_lists: list[RateList] | None = None, add_ons: list[AddOn] | None = None,
    actor: Any = None,
) -> PlanVariant:
    errors = Errors()
    name = _name(name, errors)
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
    variant = _store(PlanVariant, variant, {
        "plan": plan, "name": name, "description": description or "",
    })
    variant.rate_lists.set(rate_lists)
    variant.add_ons.set(add_ons)
    _audit("plan_variant.save", variant, actor)
    return variant


@transaction.atomic
def pricing_template_save(
    *, name: str, plan: Plan, template: PricingTemplate | None = None,
    variant: PlanVariant | None = None, billing_point_kind: str = "", description: str = "",
    actor: Any = None,
) -> PricingTemplate:
    errors = Errors()
    name = _name(name, errors)
    if name:
        _unique(PricingTemplate, errors, exclude=template, name=name)
    if variant is not None and variant.plan_id != plan.pk:
        errors.add("variant", f"{variant.name} is a variant of {variant.plan.name}, not of "
                   f"{plan.name}.")
    _choice(billing_point_kind, BillingPoint.Kind, "billing_point_kind", errors)
    errors.raise_if_any()
    template = _store(PricingTemplate, template, {
        "name": name, "plan": plan, "variant": variant, "description": description or "",
        "billing_point_kind": billing_point_kind or "",
    })
    _audit("pricing_template.save", template, actor)
    return template


@transaction.atomic
def delete(*, instance: models.Model, actor: Any = None) -> None:
    """Delete a plan, variant, template, add-on or calendar; refused while something uses it."""
    label = str(instance)
    try:
        with transaction.atomic():
            instance.delete()
    except ProtectedError as exc:
        users = sorted({str(o) for o in exc.protected_objects})[:3]
        raise Conflict(f"{label} is still used by {', '.join(users)}.") from exc
    _audit(f"{instance._meta.model_name}.delete", label, actor)


# --- billing point overrides ------------------------------------------------------------


@transaction.atomic
def billing_point_rate_list_set(
    *, billing_point: BillingPoint, rate_list: RateList, meter_type: str = "", note: str = "",
    override: BillingPointRateList | None = None, actor: Any = None,
) -> BillingPointRateList:
    """The billing point's own rate list (for one meter type, or all when empty)."""
    errors = Errors()
    meter_type = _choice(meter_type, MeterType, "meter_type", errors)
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
    override = _store(BillingPointRateList, override, {
        "billing_point": billing_point, "rate_list": rate_list, "meter_type": meter_type,
        "note": (note or "")[:200],
    })
    _audit("billing_point.rate_list", billing_point, actor, rate_list=rate_list.name,
           meter_type=meter_type or "all")
    return override
