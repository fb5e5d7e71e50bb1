"""Meter profiles: the built-in copies of each organization and custom ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from billspree.core.errors import Conflict
from billspree.core.models import ApiKey
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from gateways import decoding
from gateways.models import (
    Profile,
    ProfileValue,
)
from gateways.profiles import BUILTIN_PROFILES, ProfileDef

# --- profiles ---------------------------------------------------------------------------------


def _profile_from_def(definition: ProfileDef) -> Profile:
    return Profile(
        name=definition.name,
        builtin=definition.key,
        manufacturer=definition.manufacturer,
        meter_type=definition.meter_type,
        description=_described(definition),
        relay_kind=definition.relay_kind,
        relay_address=definition.relay_address,
        relay_on_value=definition.relay_on_value,
        relay_off_value=definition.relay_off_value,
    )


def _described(definition: ProfileDef) -> str:
    """The description of a built-in copy: what it reads, and the maker's document."""
    if not definition.source:
        return definition.description
    return f"{definition.description}\n\nSource: {definition.source}"


@transaction.atomic
def profile_builtins_ensure() -> list[Profile]:
    """Give the current organization its read-only copy of each built-in profile (idempotent)."""
    org = require_organization()
    have = set(Profile.objects.exclude(builtin="").values_list("builtin", flat=True))
    builtin_measurements_sync(Profile, ProfileValue, org)
    created = []
    for key, definition in BUILTIN_PROFILES.items():
        if key in have:
            continue
        profile = _profile_from_def(definition)
        profile.organization = org
        if Profile.objects.filter(name=profile.name).exists():
            profile.name = f"{profile.name} (built-in)"
        profile.save()
        ProfileValue.objects.bulk_create(
            ProfileValue(organization=org, profile=profile, **vars(v)) for v in definition.values
        )
        created.append(profile)
    return created


def builtin_measurements_sync(profile_model, value_model, org) -> int:
    """Give the built-in copies of ``org`` the measurement values their definitions gained
    (a value added, or a quantity given to a value they have at the same register); the
    reading value is never touched, so what the meters' readings are does not change.
    Takes the models as arguments so migration 0010 runs it with its historical models.
    Returns how many values were added or changed."""
    changed = 0
    present: dict[int, dict[str, Any]] = {}
    builtin_of: dict[int, str] = {}
    for value in value_model.objects.filter(organization=org).exclude(profile__builtin=""
                                                                      ).select_related("profile"):
        present.setdefault(value.profile_id, {})[value.key] = value
        builtin_of[value.profile_id] = value.profile.builtin
    for profile_id, values in present.items():
        definition = BUILTIN_PROFILES.get(builtin_of[profile_id])
        for d in definition.values if definition is not None else ():
            if not d.quantity or d.is_reading:
                continue
            value = values.get(d.key)
            if value is None:
                value_model.objects.create(organization=org, profile_id=profile_id, **vars(d))
                changed += 1
            elif not value.quantity and (value.function_code, value.address, value.data_type,
                                         value.word_order, value.scale, value.unit) == (
                    d.function_code, d.address, d.data_type, d.word_order, d.scale, d.unit):
                value.quantity = d.quantity
                value.save(update_fields=["quantity"])
                changed += 1
    return changed


def _check_values(values: Sequence[dict[str, Any]]) -> dict[str, list[str]]:
    """Errors of a profile's value list, by field, naming the row."""
    errors: dict[str, list[str]] = {}
    if not values:
        errors["values"] = ["A profile needs at least one value."]
        return errors
    keys = [str(v.get("key", "")) for v in values]
    if len(set(keys)) != len(keys):
        errors.setdefault("values", []).append("Each value needs its own key.")
    readings = sum(bool(v.get("is_reading")) for v in values)
    if readings != 1:
        errors.setdefault("values", []).append(
            "Exactly one value must be the cumulative register stored as readings "
            f"(is_reading); {readings} are."
        )
    for index, v in enumerate(values, start=1):
        count = decoding.FORMATS.get(v.get("data_type", ""), ("", 0))[1]
        if count and int(v.get("address", 0)) + count > 65536:
            errors.setdefault("values", []).append(
                f"Value {index} ({v.get('key')}): address + {count} registers passes 65535."
            )
    return errors


def _build_values(profile: Profile, values: Sequence[dict[str, Any]]) -> list[ProfileValue]:
    built = []
    for index, data in enumerate(values, start=1):
        value = ProfileValue(organization=profile.organization, profile=profile, **data)
        try:
            value.full_clean(exclude=["profile"], validate_unique=False)
        except ValidationError as exc:
            raise ValidationError(
                {
                    "values": [
                        f"Value {index}: {f}: {' '.join(m)}" for f, m in exc.message_dict.items()
                    ]
                }
            ) from exc
        built.append(value)
    return built


PROFILE_FIELDS = (
    "name",
    "manufacturer",
    "meter_type",
    "description",
    "relay_kind",
    "relay_address",
    "relay_on_value",
    "relay_off_value",
)
"""The fields a person or integrator sets on a profile (form, API and service)."""


def _profile_save(
    profile: Profile, values: Sequence[dict[str, Any]] | None, *, before: ReadSetup | None = None
) -> Profile:
    """Validate, then save the profile and (if given) replace its values. ``before`` is how
    the profile read its meters before this change; meters mapped to it forbid changing it."""
    profile.full_clean(exclude=["organization"])
    if values is not None and (errors := _check_values(values)):
        raise ValidationError(errors)
    built = _build_values(profile, values) if values is not None else None
    if before is not None:
        _refuse_read_changes(profile, before, built)
    profile.save()
    if built is not None:
        profile.values.all().delete()
        ProfileValue.objects.bulk_create(built)
    return profile


# --- what a profile changes for the meters mapped to it ----------------------------------------

#: Profile fields that decide what its meters read or how their relay is switched.
READ_FIELDS = ("meter_type", "relay_kind", "relay_address", "relay_on_value", "relay_off_value")
RELAY_FIELDS = ("relay_address", "relay_on_value", "relay_off_value")
#: Fields of the reading value (``is_reading``) that decide the stored readings.
READING_VALUE_FIELDS = ("function_code", "address", "data_type", "word_order", "scale", "unit")

ReadSetup = dict[str, Any]


def _read_setup(profile: Profile, values: Sequence[ProfileValue] | None = None) -> ReadSetup:
    """The settings of ``profile`` (and its reading value) that decide what meters read."""
    setup: ReadSetup = {f: getattr(profile, f) for f in READ_FIELDS}
    if values is None:
        values = list(ProfileValue.objects.filter(profile=profile))
    reading = next((v for v in values if v.is_reading), None)
    for f in READING_VALUE_FIELDS:
        setup[f"value.{f}"] = getattr(reading, f) if reading is not None else None
    return setup


def _in_use_message(profile: Profile) -> str | None:
    """Why a profile mapped to meters cannot change how it reads them; None when unused."""
    maps = profile.register_maps.order_by("meter__serial_number")
    if not (count := maps.count()):
        return None
    examples = ", ".join(maps.values_list("meter__serial_number", flat=True)[:3])
    used_by = f"{count} meter ({examples})" if count == 1 else f"{count} meters (e.g. {examples})"
    return (
        f"This profile is used by {used_by}; changing how they are read would change their "
        "readings. Copy the profile and move the meters instead."
    )


def _changed_read_fields(before: ReadSetup, after: ReadSetup) -> list[str]:
    changed = [k for k in before if before[k] != after[k]]
    if not before["relay_kind"] and not after["relay_kind"]:  # no relay: its values are unused
        changed = [k for k in changed if k not in RELAY_FIELDS]
    return changed


def _refuse_read_changes(
    profile: Profile, before: ReadSetup, values: Sequence[ProfileValue] | None
) -> None:
    """Refuse, field by field, changes to what the meters mapped to ``profile`` read."""
    after = _read_setup(profile, values)
    changed = _changed_read_fields(before, after)
    if not changed or (message := _in_use_message(profile)) is None:
        return
    errors: dict[str, list[str]] = {}
    value_fields = [k.removeprefix("value.") for k in changed if k.startswith("value.")]
    for field in changed:
        if not field.startswith("value."):
            label = Profile._meta.get_field(field).verbose_name
            errors[field] = [f"The {label} cannot change. {message}"]
    if value_fields:
        what = ", ".join(v.replace("_", " ") for v in value_fields)
        errors["values"] = [f"The reading value's {what} cannot change. {message}"]
    raise ValidationError(errors)


@transaction.atomic
def profile_create(
    *,
    values: Sequence[dict[str, Any]],
    actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    **fields: Any,
) -> Profile:
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError({k: ["Unknown field."] for k in unknown})
    if Profile.objects.filter(name=str(fields.get("name", "")).strip()).exists():
        raise ValidationError({"name": ["A profile with this name exists already."]})
    profile_builtins_ensure()
    profile = Profile(organization=require_organization(), **fields)
    _profile_save(profile, values)
    audit_record(action="profile.create", target=profile.name, actor=actor, api_key=api_key)
    return profile


@transaction.atomic
def profile_update(
    *,
    profile: Profile,
    values: Sequence[dict[str, Any]] | None = None,
    actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    **fields: Any,
) -> Profile:
    if profile.is_builtin:
        raise Conflict("Built-in profiles cannot be changed; copy it into a custom profile.")
    unknown = set(fields) - set(PROFILE_FIELDS)
    if unknown:
        raise ValidationError({k: ["Unknown field."] for k in unknown})
    name = str(fields.get("name", profile.name)).strip()
    if Profile.objects.filter(name=name).exclude(pk=profile.pk).exists():
        raise ValidationError({"name": ["A profile with this name exists already."]})
    # Locked so that no meter is mapped to it between the check and the save.
    before = _read_setup(Profile.objects.select_for_update().get(pk=profile.pk))
    for key, value in fields.items():
        setattr(profile, key, value)
    _profile_save(profile, values, before=before)
    audit_record(action="profile.update", target=profile.name, actor=actor, api_key=api_key)
    return profile


@transaction.atomic
def profile_copy(
    *,
    profile: Profile,
    name: str,
    actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
) -> Profile:
    """A custom, editable copy of any profile (typically a built-in one)."""
    values = [{f: getattr(v, f) for f in VALUE_FIELDS} for v in profile.values.all()]
    fields = {f: getattr(profile, f) for f in PROFILE_FIELDS}
    fields["name"] = name.strip()
    return profile_create(values=values, actor=actor, api_key=api_key, **fields)


VALUE_FIELDS = (
    "key",
    "label",
    "function_code",
    "address",
    "data_type",
    "word_order",
    "scale",
    "unit",
    "is_reading",
    "quantity",
)


@transaction.atomic
def profile_delete(
    *, profile: Profile, actor: AbstractBaseUser | None = None, api_key: ApiKey | None = None
) -> None:
    if profile.is_builtin:
        raise Conflict("Built-in profiles cannot be deleted.")
    if profile.register_maps.exists():
        raise Conflict("Meters are read with this profile; map them to another one first.")
    name = profile.name
    profile.delete()
    audit_record(action="profile.delete", target=name, actor=actor, api_key=api_key)
