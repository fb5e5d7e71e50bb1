"""Relays and valves: switching a meter's supply, audited."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from billspree.core.errors import Conflict
from billspree.core.models import ApiKey
from billspree.core.services import audit_record
from gateways import poller
from gateways.models import (
    Gateway,
    GatewayError,
    PollRun,
    Profile,
    RegisterMap,
    RelayKind,
    RelayState,
)
from gateways.services._common import _who
from gateways.services.polling import _target

# --- relays and valves ------------------------------------------------------------------------


def _relay_of(register_map: RegisterMap, verb: str) -> tuple[Profile, Gateway]:
    """The meter's profile and gateway, if it has a relay on a gateway that may be used."""
    profile, gateway = register_map.profile, register_map.gateway
    if not profile.has_relay:
        raise Conflict(f"{profile.name} has no relay or valve to {verb}.", code="no_relay")
    if not gateway.enabled:
        raise Conflict(f"This gateway is disabled; enable it to {verb} relays.")
    return profile, gateway


def relay_switch(
    *,
    register_map: RegisterMap,
    on: bool,
    reason: str,
    actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
) -> RegisterMap:
    """Switch a meter's supply on or off by writing its relay coil or register.

    The write happens on the wire first (outside a transaction); then the new state and
    an audit event (who, when, why) are saved. A failed write is recorded as a gateway
    error and an audit event, and raises :class:`Conflict`; the state stays as it was.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": ["Say why the supply is switched (kept in the audit log)."]}
        )
    profile, gateway = _relay_of(register_map, "switch")
    value = profile.relay_on_value if on else profile.relay_off_value
    target = _target(gateway, [])
    result = poller.run_sync(
        poller.write_target(
            target,
            device_id=register_map.device_id,
            coil=profile.relay_kind == RelayKind.COIL,
            address=profile.relay_address or 0,
            value=value,
        )
    )
    failure = result.items["write"].failure
    detail = {
        "reason": reason,
        "gateway": gateway.name,
        "device_id": register_map.device_id,
        "kind": profile.relay_kind,
        "address": profile.relay_address,
        "value": value,
    }
    serial = register_map.meter.serial_number
    if failure is not None:
        _relay_failed(register_map, failure, detail, actor, api_key)
        raise Conflict(
            f"The gateway did not confirm the switch: {failure.message}. Nothing changed.",
            code="device_unreachable",
        )
    with transaction.atomic():
        register_map.relay_state = RelayState.CONNECTED if on else RelayState.DISCONNECTED
        register_map.relay_changed_at = register_map.relay_read_at = timezone.now()
        register_map.save(update_fields=["relay_state", "relay_changed_at", "relay_read_at"])
        audit_record(
            action="relay.on" if on else "relay.off",
            target=serial,
            detail=detail,
            **_who(actor, api_key),
        )
    return register_map


def relay_state_read(*, register_map: RegisterMap) -> RegisterMap:
    """Read where the meter's relay or valve stands (its coil or register) and keep it.

    The position can change without us: a prepaid meter cuts its own supply when credit
    runs out, a technician switches it on site. So the relay page asks the meter before
    anyone decides, and a position that differs from the one we knew is saved and audited
    as observed (not as anyone's action). A failed read changes nothing and raises
    :class:`Conflict` with the gateway's answer.
    """
    profile, gateway = _relay_of(register_map, "read")
    coil = profile.relay_kind == RelayKind.COIL
    asked_at = timezone.now()
    result = poller.run_sync(
        poller.read_point_target(
            _target(gateway, []),
            device_id=register_map.device_id,
            coil=coil,
            address=profile.relay_address or 0,
        )
    )
    read = result.items["read"]
    if read.failure is not None:
        raise Conflict(
            f"Could not read the relay: {read.failure.message}.", code="device_unreachable"
        )
    raw = read.registers[0]
    if coil:
        state = RelayState.CONNECTED if raw else RelayState.DISCONNECTED
    elif raw == profile.relay_on_value:
        state = RelayState.CONNECTED
    elif raw == profile.relay_off_value:
        state = RelayState.DISCONNECTED
    else:
        raise Conflict(
            f"The relay register holds {raw}, which is neither the profile's 'on' value "
            f"({profile.relay_on_value}) nor its 'off' value ({profile.relay_off_value}).",
            code="relay_value_unknown",
        )
    with transaction.atomic():
        # The row as it is now: someone may have switched the relay while we were asking.
        current = RegisterMap.objects.select_for_update().get(pk=register_map.pk)
        # switched after we asked: our answer may predate the switch and says nothing new
        stale = current.relay_changed_at is not None and current.relay_changed_at >= asked_at
        if not stale:
            now = timezone.now()
            fields = ["relay_read_at"]
            if state != current.relay_state:
                audit_record(
                    action="relay.observed",
                    target=register_map.meter.serial_number,
                    detail={"from": current.relay_state, "to": state, "gateway": gateway.name,
                            "device_id": register_map.device_id},
                )
                current.relay_state, current.relay_changed_at = state, now
                fields += ["relay_state", "relay_changed_at"]
            current.relay_read_at = now
            current.save(update_fields=fields)
    register_map.relay_state = current.relay_state
    register_map.relay_changed_at = current.relay_changed_at
    register_map.relay_read_at = current.relay_read_at
    return register_map


@transaction.atomic
def _relay_failed(register_map, failure, detail, actor, api_key) -> None:
    GatewayError.objects.create(
        organization_id=register_map.organization_id,
        gateway=register_map.gateway,
        register_map=register_map,
        kind=GatewayError.Kind.RELAY,
        message=f"{register_map.meter.serial_number}: relay write failed: {failure.message}"[:300],
        exception_code=failure.exception_code,
        occurred_at=timezone.now(),
    )
    audit_record(
        action="relay.failed",
        target=register_map.meter.serial_number,
        detail={**detail, "error": failure.message},
        **_who(actor, api_key),
    )


def errors_prune(*, older_than: timedelta = timedelta(days=90)) -> int:
    """Delete gateway errors and poll runs older than ``older_than`` (current organization)."""
    cutoff = timezone.now() - older_than
    deleted, _ = GatewayError.objects.filter(occurred_at__lt=cutoff).delete()
    runs, _ = PollRun.objects.filter(started_at__lt=cutoff).delete()
    return deleted + runs
