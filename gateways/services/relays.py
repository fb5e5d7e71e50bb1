"""Relays and valves: switching a meter's supply, audited.

Every conversation with the meter's gateway (the write, the read, the read-back after an
unconfirmed write) happens under the gateway's wire lock (:mod:`.wire_lock`), so a relay
command never talks to a gateway while a poll or another relay command from another
process does; what it learnt is saved before the lock is released, so a read in another
process cannot take a switch that is not saved yet for a change made outside billspree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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
from gateways.services.plans import target_of
from gateways.services.wire_lock import gateway_locked

#: How long a relay command (or a relay read) waits for a poll or another relay command on
#: the same gateway to end before it answers "busy". Shorter than the wire lock's default:
#: the portal's request must end within the web server's timeout (gunicorn: 30 s) with the
#: write, and perhaps a read-back, still to come after the wait.
LOCK_WAIT_S = 10.0
#: Modbus exception answers after which a write may still be carried out: 0x05
#: "acknowledge" (accepted, still working on it) and 0x0B (the gateway passed the request
#: to the device on its bus and got no answer). Other exception answers say it was not.
MAYBE_DONE_EXCEPTIONS = frozenset({0x05, 0x0B})

_SUPPLY = {RelayState.CONNECTED: "ON", RelayState.DISCONNECTED: "OFF"}


def _relay_of(register_map: RegisterMap, verb: str) -> tuple[Profile, Gateway]:
    """The meter's profile and gateway, if it has a relay on a gateway that may be used."""
    profile, gateway = register_map.profile, register_map.gateway
    if not profile.has_relay:
        raise Conflict(f"{profile.name} has no relay or valve to {verb}.", code="no_relay")
    if not gateway.enabled:
        raise Conflict(f"This gateway is disabled; enable it to {verb} relays.")
    return profile, gateway


# --- the wire (called with the gateway's wire lock held) -----------------------------------


def _wire_write(register_map: RegisterMap, value: int) -> poller.TargetResult:
    profile = register_map.profile
    return poller.run_sync(
        poller.write_target(
            target_of(register_map.gateway, []),
            device_id=register_map.device_id,
            coil=profile.relay_kind == RelayKind.COIL,
            address=profile.relay_address or 0,
            value=value,
        )
    )


def _may_have_arrived(result: poller.TargetResult) -> bool:
    """Whether a failed write may have been carried out all the same: a request went out
    and no answer came back (a timeout, a connection lost mid-request), or the answer says
    the device may still do it. A refused connection sent nothing; any other exception
    answer says the device did not do it."""
    failure = result.items["write"].failure
    if failure is None:
        return False
    if failure.kind == "timeout" or result.requests > len(result.latencies_ms):
        return True
    return failure.exception_code in MAYBE_DONE_EXCEPTIONS


def _wire_read(register_map: RegisterMap) -> RelayState:
    """Where the relay stands, read from the meter; :class:`Conflict` if it cannot be told."""
    profile = register_map.profile
    coil = profile.relay_kind == RelayKind.COIL
    result = poller.run_sync(
        poller.read_point_target(
            target_of(register_map.gateway, []),
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
    return _state_of(profile, read.registers[0], coil=coil)


def _state_of(profile: Profile, raw: int, *, coil: bool) -> RelayState:
    """The supply's state from the relay's coil bit or register, by the profile's values
    (a coil wired the other way round has on = 0, off = 1)."""
    on, off = profile.relay_on_value, profile.relay_off_value
    if coil:
        if bool(on) == bool(off):  # a profile saved before coil values were checked
            raise Conflict(
                f"The profile's 'on' ({on}) and 'off' ({off}) values are the same coil "
                "position, so the relay's position cannot be told: copy the profile, set "
                "its on/off values, and move the meters to the copy.",
                code="relay_value_unknown",
            )
        return RelayState.CONNECTED if bool(raw) == bool(on) else RelayState.DISCONNECTED
    if raw == on:
        return RelayState.CONNECTED
    if raw == off:
        return RelayState.DISCONNECTED
    raise Conflict(
        f"The relay register holds {raw}, which is neither the profile's 'on' value "
        f"({on}) nor its 'off' value ({off}).",
        code="relay_value_unknown",
    )


# --- switching --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ReadBack:
    """What the meter said when asked after a write that was not confirmed."""

    state: RelayState | None  # None: it could not be read either
    asked_at: datetime
    error: str = ""


def _read_back(register_map: RegisterMap) -> _ReadBack:
    asked_at = timezone.now()
    try:
        return _ReadBack(_wire_read(register_map), asked_at)
    except Conflict as exc:
        return _ReadBack(None, asked_at, exc.message)


def relay_switch(
    *,
    register_map: RegisterMap,
    on: bool,
    reason: str,
    actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
) -> RegisterMap:
    """Switch a meter's supply on or off by writing its relay coil or register.

    The write happens on the wire first (outside a transaction, under the gateway's wire
    lock: :class:`~gateways.services.wire_lock.GatewayBusy` if a poll or another command
    keeps the gateway busy for :data:`LOCK_WAIT_S`, and then nothing is sent or recorded);
    then the new state and an audit event (who, when, why) are saved.

    A failed write is recorded as a gateway error and an audit event, and raises
    :class:`Conflict`. If the request certainly did not reach the meter (connection
    refused, an exception answer) nothing changed. If it may have (a timeout, a connection
    lost mid-request) the relay is read back at once: in the requested position, the
    switch is saved as done; in the other, the observed state is kept and the error says
    so; unreadable, the state becomes unknown (``relay_state_unknown``).
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": ["Say why the supply is switched (kept in the audit log)."]}
        )
    profile, gateway = _relay_of(register_map, "switch")
    value = profile.relay_on_value if on else profile.relay_off_value
    detail = {
        "reason": reason,
        "gateway": gateway.name,
        "device_id": register_map.device_id,
        "kind": profile.relay_kind,
        "address": profile.relay_address,
        "value": value,
    }
    who = {"actor": actor, "api_key": api_key}
    with gateway_locked(gateway.pk, wait_s=LOCK_WAIT_S):
        result = _wire_write(register_map, value)
        failure = result.items["write"].failure
        if failure is None:
            return _switched(register_map, on, detail, who)
        if not _may_have_arrived(result):
            _relay_failed(register_map, failure, detail, who)
            raise Conflict(
                f"The gateway did not confirm the switch: {failure.message}. Nothing changed.",
                code="device_unreachable",
            )
        return _unconfirmed(register_map, on, failure, _read_back(register_map), detail, who)


def _switched(register_map: RegisterMap, on: bool, detail: dict, who: dict) -> RegisterMap:
    with transaction.atomic():
        register_map.relay_state = RelayState.CONNECTED if on else RelayState.DISCONNECTED
        register_map.relay_changed_at = register_map.relay_read_at = timezone.now()
        register_map.save(update_fields=["relay_state", "relay_changed_at", "relay_read_at"])
        audit_record(
            action="relay.on" if on else "relay.off",
            target=register_map.meter.serial_number,
            detail=detail,
            **who,
        )
    return register_map


def _unconfirmed(
    register_map: RegisterMap,
    on: bool,
    failure: poller.Failure,
    read_back: _ReadBack,
    detail: dict,
    who: dict,
) -> RegisterMap:
    """A write that may or may not have reached the meter, and what reading it back said."""
    wanted = RelayState.CONNECTED if on else RelayState.DISCONNECTED
    said = f"The gateway did not confirm the switch: {failure.message}"
    if read_back.state == wanted:  # it did reach the meter (or the supply was so already)
        with transaction.atomic():
            _gateway_error(
                register_map,
                failure,
                f"relay write not confirmed: {failure.message}; reading the relay right after "
                f"showed the supply {_SUPPLY[wanted]} as requested",
            )
            return _switched(
                register_map, on, {**detail, "unconfirmed_write": failure.message}, who
            )
    # 0x05 "acknowledge": accepted and still being carried out, so the old position read
    # right after says nothing yet
    in_progress = failure.exception_code == 0x05 and read_back.state is not None
    if read_back.state is not None and not in_progress:  # it did not
        _state_keep(register_map, read_back.state, read_back.asked_at)
        _relay_failed(register_map, failure, {**detail, "read_back": read_back.state}, who)
        raise Conflict(
            f"{said}. Read back right after, the meter says the supply is "
            f"{_SUPPLY[read_back.state]}: the switch did not take effect.",
            code="device_unreachable",
        )
    with transaction.atomic():  # nobody knows: say so, here and on every page
        RegisterMap.objects.filter(pk=register_map.pk).update(
            relay_state=RelayState.UNKNOWN, relay_changed_at=timezone.now()
        )
        register_map.refresh_from_db(fields=["relay_state", "relay_changed_at"])
        why = (
            "The meter accepted the command and may still be carrying it out."
            if in_progress
            else read_back.error
        )
        _relay_failed(register_map, failure, {**detail, "read_back_error": why}, who)
    raise Conflict(
        f"{said}; the command may still have reached the meter. {why} "
        "The relay's position is unknown: read the relay before switching again.",
        code="relay_state_unknown",
    )


@transaction.atomic
def _relay_failed(
    register_map: RegisterMap, failure: poller.Failure, detail: dict, who: dict
) -> None:
    _gateway_error(register_map, failure, f"relay write failed: {failure.message}")
    audit_record(
        action="relay.failed",
        target=register_map.meter.serial_number,
        detail={**detail, "error": failure.message},
        **who,
    )


def _gateway_error(register_map: RegisterMap, failure: poller.Failure, what: str) -> None:
    GatewayError.objects.create(
        organization_id=register_map.organization_id,
        gateway=register_map.gateway,
        register_map=register_map,
        kind=GatewayError.Kind.RELAY,
        message=f"{register_map.meter.serial_number}: {what}"[:300],
        exception_code=failure.exception_code,
        occurred_at=timezone.now(),
    )


# --- reading ----------------------------------------------------------------------------------


def relay_state_read(*, register_map: RegisterMap) -> RegisterMap:
    """Read where the meter's relay or valve stands (its coil or register) and keep it.

    The position can change without us: a prepaid meter cuts its own supply when credit
    runs out, a technician switches it on site. So the relay page asks the meter before
    anyone decides, and a position that differs from the one we knew is saved and audited
    as observed (not as anyone's action). A failed read changes nothing and raises
    :class:`Conflict` with the gateway's answer (:class:`GatewayBusy` if the gateway stays
    busy for :data:`LOCK_WAIT_S`).
    """
    _relay_of(register_map, "read")
    with gateway_locked(register_map.gateway.pk, wait_s=LOCK_WAIT_S):
        asked_at = timezone.now()
        state = _wire_read(register_map)
        return _state_keep(register_map, state, asked_at)


def _state_keep(register_map: RegisterMap, state: RelayState, asked_at: datetime) -> RegisterMap:
    """Save a position read from the meter (audited as observed if it is news)."""
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
                    detail={
                        "from": current.relay_state,
                        "to": state,
                        "gateway": register_map.gateway.name,
                        "device_id": register_map.device_id,
                    },
                )
                current.relay_state, current.relay_changed_at = state, now
                fields += ["relay_state", "relay_changed_at"]
            current.relay_read_at = now
            current.save(update_fields=fields)
    register_map.relay_state = current.relay_state
    register_map.relay_changed_at = current.relay_changed_at
    register_map.relay_read_at = current.relay_read_at
    return register_map


def errors_prune(*, older_than: timedelta = timedelta(days=90)) -> int:
    """Delete gateway errors and poll runs older than ``older_than`` (current organization)."""
    cutoff = timezone.now() - older_than
    deleted, _ = GatewayError.objects.filter(occurred_at__lt=cutoff).delete()
    runs, _ = PollRun.objects.filter(started_at__lt=cutoff).delete()
    return deleted + runs
