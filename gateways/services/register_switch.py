"""Register switches: a meter read from another register is a register replacement.

When the register a meter's readings come from changes (a built-in profile corrected, as
the EM24 in release 13; a meter moved to a profile with another reading register), the
two registers count different things: the EM24's phase-L2 counter and its three-phase
total differ by thousands of kWh. Storing the new register's value after the old one
would bill that difference as consumption.

So the change is made the way a replaced meter is (``meters.services.meter_replace``):
the map keeps the old register while the switch is pending (``RegisterMap.register_switch``);
the next poll reads both registers at the same instant, closes the meter's assignment
there with the old register's value (``final_reading``) and reopens it at the same
billing point with the new register's value (``initial_reading``). Consumption is computed
per assignment segment, so no boundary consumption is ever computed across the switch:
each side is a difference of values of one register, and nothing is lost between them.
The switching poll stores no reading for that meter (a reading at the switch instant
would belong to both segments); the next one does, counted from the initial value.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction

from billspree.core.errors import Conflict
from billspree.core.services import audit_record
from gateways import decoding
from gateways.models import ProfileValue, RegisterMap

SPEC_FIELDS = ("function_code", "address", "data_type", "word_order", "scale")


def reading_spec(value: ProfileValue | None) -> dict[str, Any] | None:
    """What decides a reading register's value, JSON-ready."""
    if value is None:
        return None
    return {f: str(getattr(value, f)) if f == "scale" else getattr(value, f) for f in SPEC_FIELDS}


def same_register(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    if a is None or b is None:
        return a is b
    return all(
        Decimal(str(a[f])) == Decimal(str(b[f])) if f == "scale" else a[f] == b[f]
        for f in SPEC_FIELDS
    )


def register_switch_mark(*, register_map: RegisterMap, before: dict[str, Any] | None,
                         reason: str) -> bool:
    """Make the next poll switch ``register_map`` from the register ``before`` to its
    profile's reading register, if they differ. A switch already pending keeps its
    original register: that is still where the meter's last reading came from."""
    after = reading_spec(register_map.profile.reading_value())
    if before is None or same_register(before, after) or register_map.register_switch:
        return False
    register_map.register_switch = {**before, "reason": reason}
    RegisterMap.objects.filter(pk=register_map.pk).update(
        register_switch=register_map.register_switch
    )
    return True


def old_value(switch: dict[str, Any], registers: list[int] | None) -> Decimal | None:
    """The old register's value from its words, or None if it cannot be decoded."""
    if registers is None:
        return None
    try:
        value = decoding.value_from_registers(
            registers, switch["data_type"], switch["word_order"], Decimal(str(switch["scale"]))
        )
    except decoding.DecodeError:
        return None
    return value if value >= 0 else None


def register_switch_apply(
    *, register_map_id: int, at: datetime, old: Decimal | None, new: Decimal
) -> tuple[bool, str]:
    """Close the meter's open assignment at ``at`` with the old register's value and
    reopen it with the new one's; the switch is then done. Returns (applied, note).

    Not applied (the new value is then stored as an ordinary reading) when there is
    nothing to separate: no open assignment, or no reading of the old register in it
    yet. ``old`` None (the meter refused the old register) closes with the last reading
    instead; the use since that reading is then not counted, and the audit says so.
    Raises ValidationError/Conflict if the assignment cannot be closed there (a later
    assignment, a removal already recorded): the switch stays pending.
    """
    from meters.models import MeterAssignment
    from meters.services.assignments import meter_assign, meter_remove
    from readings.models import MeterReadingState

    register_map = (
        RegisterMap.objects.select_for_update().select_related("meter").get(pk=register_map_id)
    )
    switch = register_map.register_switch
    if not switch:
        return False, "no switch pending"
    meter = register_map.meter
    assignment = (
        MeterAssignment.objects.select_related("billing_point")
        .filter(meter=meter, removed_at__isnull=True)
        .first()
    )
    state = MeterReadingState.objects.filter(meter_id=meter.pk).first()
    last_at = state.last_read_at if state is not None else None
    with transaction.atomic():
        RegisterMap.objects.filter(pk=register_map_id).update(register_switch=None)
        if assignment is None or last_at is None or last_at < assignment.connected_at:
            _audit(meter.serial_number, switch, at, None, new, "nothing to separate: no "
                   "reading of the old register since the meter was connected")
            return False, "nothing to separate"
        if at <= last_at:
            raise Conflict(f"The switch instant {at:%Y-%m-%d %H:%M:%S} UTC is not after "
                           f"the meter's last reading ({last_at:%Y-%m-%d %H:%M:%S} UTC).")
        note = ""
        final = old
        if final is None or final < state.last_value:
            why = ("could not be read" if final is None
                   else f"read {final}, below the last reading")
            final = state.last_value
            note = (f"the old register {why}; closed with the last reading {final} of "
                    f"{last_at:%Y-%m-%d %H:%M} UTC (use since then not counted)")
        meter_remove(assignment=assignment, removed_at=at, final_reading=final)
        meter_assign(billing_point=assignment.billing_point, meter=meter, connected_at=at,
                     initial_reading=new)
        _audit(meter.serial_number, switch, at, final, new, note)
    return True, note


def _audit(serial: str, switch: dict[str, Any], at: datetime, final: Decimal | None,
           initial: Decimal, note: str) -> None:
    audit_record(
        action="register_map.register_switch",
        target=serial,
        detail={
            "at": at.isoformat(),
            "from": {f: switch[f] for f in SPEC_FIELDS},
            "reason": switch.get("reason", ""),
            "final_reading": None if final is None else str(final),
            "initial_reading": str(initial),
            "note": note,
        },
    )

