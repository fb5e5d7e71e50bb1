"""Gateways (with their beat schedule) and register maps."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from billspree.core.models import ApiKey
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from gateways.models import (
    Gateway,
    Profile,
    RegisterMap,
)
from gateways.services.profiles import profile_builtins_ensure
from meters.models import Meter, Property

WATER = {"cold_water", "hot_water"}
THERMAL = {"heat", "cooling"}

#: the poll task beat runs for each gateway (its schedule row names it)
POLL_TASK = "gateways.tasks.gateway_poll_task"


# --- gateways ---------------------------------------------------------------------------------

GATEWAY_FIELDS = (
    "property",
    "name",
    "transport",
    "host",
    "port",
    "timeout_ms",
    "retries",
    "request_delay_ms",
    "poll_interval_s",
    "offline_after",
    "enabled",
    "poll_measurements",
    "notes",
)
"""The fields a person or integrator sets on a gateway (form, API and service)."""

POLL_STATE_FIELDS = (
    "last_poll_at",
    "last_success_at",
    "last_error_at",
    "last_error",
    "error_count",
    "success_count",
    "consecutive_failures",
    "last_latency_ms",
)
"""What polling records on a gateway: read-only everywhere."""


def _schedule_sync(gateway: Gateway) -> None:
    """One django-celery-beat PeriodicTask per gateway, following its interval and switch."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every, _ = IntervalSchedule.objects.get_or_create(
        every=gateway.poll_interval_s, period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=f"gateway-poll-{gateway.public_id}",
        defaults={
            "task": POLL_TASK,
            "interval": every,
            "args": json.dumps([gateway.pk]),
            "enabled": gateway.enabled,
            "description": f"Poll gateway {gateway.name} ({gateway.host}:{gateway.port})",
        },
    )


def _schedule_remove(gateway: Gateway) -> None:
    from django_celery_beat.models import PeriodicTask

    PeriodicTask.objects.filter(name=f"gateway-poll-{gateway.public_id}").delete()


def _gateway_save(gateway: Gateway, fields: dict[str, Any]) -> Gateway:
    unknown = set(fields) - set(GATEWAY_FIELDS)
    if unknown:
        raise ValidationError({k: ["This field cannot be set."] for k in unknown})
    for key, value in fields.items():
        setattr(gateway, key, value.strip() if isinstance(value, str) else value)
    if Gateway.objects.filter(name=gateway.name).exclude(pk=gateway.pk).exists():
        raise ValidationError({"name": ["A gateway with this name exists already."]})
    gateway.full_clean(exclude=["organization"], validate_unique=False)
    gateway.save()
    _schedule_sync(gateway)
    return gateway


@transaction.atomic
def gateway_create(
    *, actor: AbstractBaseUser | None = None, api_key: ApiKey | None = None, **fields: Any
) -> Gateway:
    if not isinstance(fields.get("property"), Property):
        raise ValidationError({"property": ["Choose the property the gateway is installed in."]})
    gateway = _gateway_save(Gateway(organization=require_organization()), fields)
    profile_builtins_ensure()
    audit_record(
        action="gateway.create",
        target=gateway.name,
        detail={"host": gateway.host, "port": gateway.port},
        actor=actor, api_key=api_key,
    )
    return gateway


@transaction.atomic
def gateway_update(
    *,
    gateway: Gateway,
    actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    **fields: Any,
) -> Gateway:
    changed = {k: str(v) for k, v in fields.items() if getattr(gateway, k, None) != v}
    _gateway_save(gateway, fields)
    if changed:
        audit_record(
            action="gateway.update", target=gateway.name, detail=changed, actor=actor,
            api_key=api_key,
        )
    return gateway


@transaction.atomic
def gateway_delete(
    *, gateway: Gateway, actor: AbstractBaseUser | None = None, api_key: ApiKey | None = None
) -> None:
    name = gateway.name
    _schedule_remove(gateway)
    gateway.delete()
    audit_record(action="gateway.delete", target=name, actor=actor, api_key=api_key)


# --- register maps ----------------------------------------------------------------------------


def _compatible(profile: Profile, meter: Meter) -> list[str]:
    problems = []
    same = (
        profile.meter_type == meter.type
        or {profile.meter_type, meter.type} <= WATER
        or {
            profile.meter_type,
            meter.type,
        }
        <= THERMAL
    )
    if not same:
        problems.append(
            f"{profile.name} reads {profile.get_meter_type_display().lower()} meters; "
            f"{meter.serial_number} is {meter.get_type_display().lower()}."
        )
    reading = profile.reading_value()
    if reading is None:
        problems.append(f"{profile.name} has no value marked as the reading register.")
    elif reading.unit != meter.unit:
        problems.append(
            f"{profile.name} reads {reading.unit} but {meter.serial_number} registers "
            f"{meter.unit}; readings would be off by a factor."
        )
    return problems


def _map_save(register_map: RegisterMap, fields: dict[str, Any]) -> RegisterMap:
    allowed = {"meter", "gateway", "device_id", "profile", "enabled"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({k: ["This field cannot be set."] for k in unknown})
    for key, value in fields.items():
        setattr(register_map, key, value)
    # The profile as committed, locked: it cannot change how it reads (profile_update) between
    # this check and the save.
    register_map.profile = (
        Profile.objects.select_for_update()
        .prefetch_related("values")
        .get(pk=register_map.profile.pk)
    )
    errors: dict[str, list[str]] = {}
    try:  # field by field; uniqueness is checked below, naming the field
        register_map.full_clean(
            exclude=["organization"], validate_unique=False, validate_constraints=False
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if problems := _compatible(register_map.profile, register_map.meter):
        errors.setdefault("profile", []).extend(problems)
    others = RegisterMap.objects.exclude(pk=register_map.pk)
    if others.filter(meter=register_map.meter).exists():
        errors["meter"] = [f"{register_map.meter.serial_number} is already mapped to a gateway."]
    if "device_id" not in errors and (
        others.filter(gateway=register_map.gateway, device_id=register_map.device_id).exists()
    ):
        errors["device_id"] = [
            f"Device id {register_map.device_id} is already used on {register_map.gateway.name}."
        ]
    if errors:
        raise ValidationError(errors)
    register_map.save()
    return register_map


@transaction.atomic
def register_map_create(
    *, actor: AbstractBaseUser | None = None, api_key: ApiKey | None = None, **fields: Any
) -> RegisterMap:
    missing = [f for f in ("meter", "gateway", "device_id", "profile") if fields.get(f) is None]
    if missing:
        raise ValidationError({f: ["This field is required."] for f in missing})
    register_map = _map_save(RegisterMap(organization=require_organization()), fields)
    audit_record(
        action="register_map.create",
        target=register_map.meter.serial_number,
        detail={"gateway": register_map.gateway.name, "device_id": register_map.device_id},
        actor=actor, api_key=api_key,
    )
    return register_map


@transaction.atomic
def register_map_update(
    *,
    register_map: RegisterMap,
    actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    **fields: Any,
) -> RegisterMap:
    """Change a map. Moving a meter to a profile with another reading register makes a
    register switch at its next poll (``gateways.services.register_switch``): the two
    registers may count different things, and their difference is not consumption."""
    from gateways.services.register_switch import reading_spec, register_switch_mark

    moves = "profile" in fields and fields.get("meter", register_map.meter) == register_map.meter
    before = reading_spec(register_map.profile.reading_value()) if moves else None
    _map_save(register_map, fields)
    if before is not None:
        register_switch_mark(
            register_map=register_map, before=before,
            reason=f"Moved to profile {register_map.profile.name}, which reads another register.",
        )
    audit_record(
        action="register_map.update",
        target=register_map.meter.serial_number,
        detail={k: str(v) for k, v in fields.items()},
        actor=actor, api_key=api_key,
    )
    return register_map


@transaction.atomic
def register_map_delete(
    *,
    register_map: RegisterMap,
    actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
) -> None:
    serial = register_map.meter.serial_number
    register_map.delete()
    audit_record(action="register_map.delete", target=serial, actor=actor, api_key=api_key)
