"""State changes of gateways: configuration, profiles, register maps, polls, relays.

Polls do their network I/O outside any transaction (:mod:`gateways.poller`, asyncio),
between two short transactions: claiming the poll slot (a conditional UPDATE that moves
``last_slot`` forward; a repeated or concurrent poll of the same slot changes no row and
stops there) and recording the outcome (readings through ``readings.services``, errors,
health) in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from billspree.core.errors import Conflict
from billspree.core.models import ApiKey
from billspree.core.services import audit_record
from gateways import decoding, poller
from gateways.models import (
    Gateway,
    GatewayError,
    PollRun,
    RegisterMap,
)
from gateways.services._common import _who

MANUAL_SLOT_SECONDS = 10


# --- polling ----------------------------------------------------------------------------------


def poll_slot(now: datetime, interval_s: int) -> datetime:
    """The scheduled slot a poll at ``now`` belongs to: the nearest multiple of the interval.

    Nearest rather than floor, so a beat that fires a moment early or late still lands on
    consecutive slots instead of skipping one or hitting one twice.
    """
    seconds = now.timestamp()
    return datetime.fromtimestamp(round(seconds / interval_s) * interval_s, tz=UTC)


def manual_slot(now: datetime) -> datetime:
    seconds = int(now.timestamp()) // MANUAL_SLOT_SECONDS * MANUAL_SLOT_SECONDS
    return datetime.fromtimestamp(seconds, tz=UTC)


def _claim(gateway: Gateway, slot: datetime, manual: bool) -> bool:
    """Move the gateway's slot forward; True iff this call did (exactly one row changed)."""
    field = "last_manual_slot" if manual else "last_slot"
    changed = (
        Gateway.objects.filter(pk=gateway.pk)
        .filter(Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": slot}))
        .update(**{field: slot})
    )
    return changed == 1


@dataclass
class PollPlan:
    gateway: Gateway
    run: PollRun
    maps: dict[int, RegisterMap]
    target: poller.Target


def _target(gateway: Gateway, maps: Iterable[RegisterMap]) -> poller.Target:
    items = []
    for m in maps:
        value = m.profile.reading_value()
        if value is None:
            continue
        items.append(
            poller.Item(
                ref=m.pk,
                device_id=m.device_id,
                function_code=value.function_code,
                address=value.address,
                count=value.register_count,
            )
        )
    return poller.Target(
        ref=gateway.pk,
        host=gateway.host,
        port=gateway.port,
        rtu_over_tcp=gateway.transport == "rtu_over_tcp",
        timeout=gateway.timeout_ms / 1000,
        retries=gateway.retries,
        delay=gateway.request_delay_ms / 1000,
        items=tuple(items),
    )


def _maps_of(gateway_ids: list[int]) -> list[RegisterMap]:
    return list(
        RegisterMap.objects.filter(gateway_id__in=gateway_ids, enabled=True)
        .select_related("meter", "profile")
        .prefetch_related("profile__values")
    )


def _prepare(gateways: Sequence[Gateway], manual: bool, now: datetime) -> list[PollPlan]:
    """Claim each gateway's slot; a gateway whose slot is taken is left out."""
    plans = []
    claimed = []
    for gateway in gateways:
        slot = manual_slot(now) if manual else poll_slot(now, gateway.poll_interval_s)
        if gateway.enabled and _claim(gateway, slot, manual):
            claimed.append((gateway, slot))
    maps_by_gateway: dict[int, list[RegisterMap]] = {}
    for m in _maps_of([g.pk for g, _ in claimed]):
        maps_by_gateway.setdefault(m.gateway_id, []).append(m)
    for gateway, slot in claimed:
        run = PollRun.objects.create(
            organization_id=gateway.organization_id,
            gateway=gateway,
            slot=slot,
            manual=manual,
            started_at=now,
        )
        maps = maps_by_gateway.get(gateway.pk, [])
        plans.append(PollPlan(gateway, run, {m.pk: m for m in maps}, _target(gateway, maps)))
    return plans


def gateways_poll(
    *, gateways: Sequence[Gateway], manual: bool = False, now: datetime | None = None
) -> list[PollRun]:
    """Poll several gateways of the current organization concurrently (one asyncio loop,
    one connection each) and record what came back. Returns the runs that took place;
    a gateway whose slot was already polled is skipped."""
    now = now or timezone.now()
    plans = _prepare(gateways, manual, now)
    if not plans:
        return []
    results = poller.run_sync(poller.poll_many([p.target for p in plans]))
    by_ref = {r.ref: r for r in results}
    return [_record(plan, by_ref[plan.gateway.pk], now) for plan in plans]


def gateway_poll(
    *, gateway: Gateway, manual: bool = False, now: datetime | None = None
) -> PollRun | None:
    """Poll one gateway for the slot of ``now``; None if that slot was polled already."""
    runs = gateways_poll(gateways=[gateway], manual=manual, now=now)
    return runs[0] if runs else None


@dataclass
class _Outcome:
    register_map: RegisterMap
    value: Decimal | None = None
    error: GatewayError | None = None
    latency_ms: int | None = None


def _error(plan: PollPlan, kind: str, message: str, *, register_map=None, code=None):
    return GatewayError(
        organization_id=plan.gateway.organization_id,
        gateway=plan.gateway,
        register_map=register_map,
        poll_run=plan.run,
        kind=kind,
        message=message[:300],
        exception_code=code,
        occurred_at=plan.run.started_at,
    )


def _decode(plan: PollPlan, register_map: RegisterMap, item: poller.ItemResult) -> _Outcome:
    outcome = _Outcome(register_map, latency_ms=item.latency_ms)
    if item.failure is not None:
        f = item.failure
        where = f"device {register_map.device_id} ({register_map.meter.serial_number})"
        outcome.error = _error(
            plan, f.kind, f"{where}: {f.message}", register_map=register_map, code=f.exception_code
        )
        return outcome
    spec = register_map.profile.reading_value()
    try:
        value = decoding.value_from_registers(
            item.registers or [], spec.data_type, spec.word_order, spec.scale
        )
    except decoding.DecodeError as exc:
        outcome.error = _error(
            plan,
            GatewayError.Kind.INVALID_VALUE,
            f"{register_map.meter.serial_number}: {exc} Registers {item.registers}.",
            register_map=register_map,
        )
        return outcome
    if value < 0:
        outcome.error = _error(
            plan,
            GatewayError.Kind.INVALID_VALUE,
            f"{register_map.meter.serial_number}: negative register value {value}.",
            register_map=register_map,
        )
        return outcome
    outcome.value = value
    return outcome


def _ingest(rows: list[tuple[RegisterMap, datetime, Decimal]], plan: PollPlan) -> dict[int, str]:
    """Store readings through the one ingestion service; returns map id → rejection reason.

    This is the only place the gateways app writes readings.
    """
    from readings.models import Source, Upload
    from readings.parsing import RowIn
    from readings.services import reading_ingest

    if not rows:
        return {}
    upload = Upload.objects.create(
        organization_id=plan.gateway.organization_id,
        source=Source.GATEWAY,
        status=Upload.Status.PROCESSING,
        note=f"Poll of {plan.gateway.name} at {plan.run.slot:%Y-%m-%d %H:%M:%S} UTC"[:200],
        all_or_nothing=False,
        rows_total=len(rows),
    )
    result = reading_ingest(
        rows=[RowIn(i, m.meter.serial_number, at, value) for i, (m, at, value) in enumerate(rows)],
        source=Source.GATEWAY,
        upload=upload,
    )
    rejected = {}
    for r in result.results:
        if r.status == "rejected":
            reason = "; ".join(f"{field}: {message}" for field, message in r.errors)
            rejected[rows[r.line][0].pk] = reason or "rejected"
    Upload.objects.filter(pk=upload.pk).update(
        status=Upload.Status.DONE,
        rows_done=result.rows,
        created_count=result.counts.get("created", 0),
        unchanged_count=result.counts.get("unchanged", 0),
        anomaly_count=result.counts.get("anomalies", 0),
        error_count=result.error_count,
        finished_at=timezone.now(),
    )
    plan.run.readings_stored = result.counts.get("created", 0)
    return rejected


def _apply_map_health(outcome: _Outcome, now: datetime) -> None:
    m = outcome.register_map
    m.last_poll_at = now
    if outcome.error is None:
        m.last_success_at = now
        m.success_count = F("success_count") + 1
        m.consecutive_failures = 0
        m.last_value = outcome.value
        m.last_latency_ms = outcome.latency_ms
    else:
        m.last_error_at = now
        m.last_error = outcome.error.message
        m.error_count = F("error_count") + 1
        m.consecutive_failures = F("consecutive_failures") + 1


MAP_HEALTH_FIELDS = [
    "last_poll_at",
    "last_success_at",
    "last_error_at",
    "last_error",
    "error_count",
    "success_count",
    "consecutive_failures",
    "last_value",
    "last_latency_ms",
]


def _gateway_health(plan: PollPlan, result: poller.TargetResult, errors, now: datetime) -> None:
    answered = (
        result.any_success
        or any(e.kind == GatewayError.Kind.EXCEPTION for e in errors)
        or (not plan.target.items)
    )
    updates: dict[str, Any] = {"last_poll_at": now}
    if answered:
        updates.update(
            last_success_at=now, consecutive_failures=0, success_count=F("success_count") + 1
        )
        if result.latency_ms is not None:
            updates["last_latency_ms"] = result.latency_ms
    else:
        updates["consecutive_failures"] = F("consecutive_failures") + 1
    if errors:
        updates.update(
            last_error_at=now,
            last_error=errors[-1].message,
            error_count=F("error_count") + len(errors),
        )
    Gateway.objects.filter(pk=plan.gateway.pk).update(**updates)


@transaction.atomic
def _record(plan: PollPlan, result: poller.TargetResult, now: datetime) -> PollRun:
    """Store what one gateway answered: readings, errors, health, the run (one transaction).

    All readings of a poll carry the poll's instant (to the second)."""
    outcomes = [
        _decode(plan, plan.maps[ref], item)
        for ref, item in result.items.items()
        if ref in plan.maps
    ]
    read_at = now.replace(microsecond=0)
    good = [(o.register_map, read_at, o.value) for o in outcomes if o.error is None]
    rejected = _ingest(good, plan)
    for o in outcomes:
        if o.register_map.pk in rejected:
            o.error = _error(
                plan,
                GatewayError.Kind.REJECTED,
                f"{o.register_map.meter.serial_number}: value {o.value} not stored: "
                f"{rejected[o.register_map.pk]}",
                register_map=o.register_map,
            )
        _apply_map_health(o, now)
    errors = [o.error for o in outcomes if o.error is not None]
    GatewayError.objects.bulk_create(errors)
    RegisterMap.objects.bulk_update([o.register_map for o in outcomes], MAP_HEALTH_FIELDS)
    _gateway_health(plan, result, errors, now)
    return _finish_run(plan.run, result, outcomes, errors, now)


def _finish_run(run: PollRun, result, outcomes, errors, now: datetime) -> PollRun:
    ok = sum(o.error is None for o in outcomes)
    run.status = (
        PollRun.Status.OK
        if not errors
        else PollRun.Status.FAILED
        if ok == 0
        else PollRun.Status.PARTIAL
    )
    run.finished_at = now
    run.requests = result.requests
    run.meters_ok = ok
    run.error_count = len(errors)
    run.latency_ms = result.latency_ms
    run.summary = (
        f"{ok} of {len(outcomes)} meters read, {run.readings_stored} readings stored, "
        f"{len(errors)} errors, {result.requests} requests in {result.duration_s:.2f} s"
    )[:300]
    run.save()
    return run


def gateway_poll_request(
    *, gateway: Gateway, actor: AbstractBaseUser | None = None, api_key: ApiKey | None = None
) -> None:
    """Queue a manual poll ("Poll now") for a worker, once the transaction commits."""
    from gateways.tasks import gateway_poll_task

    if not gateway.enabled:
        raise Conflict("This gateway is disabled; enable it to poll it.")
    audit_record(action="gateway.poll_now", target=gateway.name, **_who(actor, api_key))
    transaction.on_commit(lambda: gateway_poll_task.delay(gateway.pk, manual=True))
