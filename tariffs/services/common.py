"""Helpers shared by the tariffs services (cleaning input, uniqueness, storing, auditing),
and the one guarded delete."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import ProtectedError

from billspree.core.errors import Conflict
from billspree.core.services import audit_record
from tariffs.models import (
    RoundingMode,
)
from tariffs.validation import Errors


def audit(action: str, target: Any, actor: Any = None, **detail: Any) -> None:
    audit_record(
        action=action, actor=actor, target=str(target),
        detail={k: str(v) for k, v in detail.items()},
    )


def clean_name(value: Any, errors: Errors, field: str = "name") -> str:
    text = str(value or "").strip()
    if not text:
        errors.add(field, "This field is required.")
    elif len(text) > 200:
        errors.add(field, "At most 200 characters.")
    return text


def clean_currency(value: Any, errors: Errors) -> str:
    code = str(value or "").strip().upper()
    if code not in settings.CURRENCIES:
        errors.add("currency", f"Choose one of {', '.join(settings.CURRENCIES)}.")
    return code


def check_unique(
    model: type[models.Model], errors: Errors, exclude: Any = None, **lookup: Any
) -> None:
    qs = model.objects.filter(**lookup)
    if exclude is not None and exclude.pk:
        qs = qs.exclude(pk=exclude.pk)
    if qs.exists():
        field = "name" if "name" in lookup else next(iter(lookup))
        errors.add(field, f"{model._meta.verbose_name.capitalize()} '{lookup.get(field)}' "
                   "already exists.")


def clean_unique_name(
    model: type[models.Model], value: Any, errors: Errors, exclude: Any = None
) -> str:
    """A required name of at most 200 characters that no other ``model`` row has."""
    name = clean_name(value, errors)
    if name:
        check_unique(model, errors, exclude=exclude, name=name)
    return name


CASH_ROUNDING_MOVED = (
    "Cash rounding is an organization setting per currency, not a rate list's: set it under "
    "Tariffs › Cash rounding (API: /api/v1/cash-roundings/)."
)


def money_options(data: dict[str, Any], errors: Errors) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "rounding_mode" in data:
        if data["rounding_mode"] not in RoundingMode.values:
            errors.add("rounding_mode", f"Choose one of {', '.join(RoundingMode.values)}.")
        out["rounding_mode"] = data["rounding_mode"]
    if data.get("cash_rounding") not in (None, ""):
        errors.add("cash_rounding", CASH_ROUNDING_MOVED)
    return out


def clean_choice(value: Any, choices: Any, field: str, errors: Errors, blank: bool = True) -> str:
    value = value or ""
    if (value or not blank) and value not in choices.values:
        errors.add(field, f"Choose one of {', '.join(choices.values)}.")
    return value


def model_data(instance: models.Model) -> dict[str, Any]:
    return {f.name: getattr(instance, f.name) for f in instance._meta.concrete_fields}


def store(model: type[models.Model], instance: Any, values: dict[str, Any]) -> Any:
    if instance is None:
        return model.objects.create(**values)
    for key, value in values.items():
        setattr(instance, key, value)
    instance.save()
    return instance


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
    audit(f"{instance._meta.model_name}.delete", label, actor)
