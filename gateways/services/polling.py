"""Polls: claim the slot, read the wire, store readings, errors and health.

Polls do their network I/O outside any transaction (:mod:`gateways.poller`, asyncio),
between two short steps: claiming the poll slots (one conditional UPDATE that moves
``last_slot`` forward; a repeated or concurrent poll of the same slot changes no row and
stops there) and recording the outcome of the whole cycle in one transaction (readings
through ``readings.services.reading_ingest`` in one call, errors, per-meter and
per-gateway health, poll runs). Invalid values (NaN, negative, rejected by ingestion as
going backwards) become gateway errors, never readings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from billspree.core.errors import Conflict
from billspree.core.models import ApiKey
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from gateways import decoding, poller
from gateways.models import (
    Gateway,
    GatewayError,
    PollRun,
    Profile,
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


_CLAIM_SQL = """
UPDATE gateways_gateway AS g SET {field} = v.slot
FROM (VALUES {rows}) AS v(id, slot)
WHERE g.id = v.id AND g.organization_id = %s AND g.enabled
  AND (g.{field} IS NULL OR g.{field} < v.slot)
RETURNING g.id
"""


def _claim(gateways: Sequence[Gateway], manual: bool, now: datetime) -> dict[int, datetime]:
    """Move each gateway's slot forward in one conditional UPDATE; returns the gateways
    this call claimed (id → slot). A slot already taken (a repeated or concurrent poll)
    changes no row, so that gateway is not polled again."""
    if not gateways:
        return {}
    field = "last_manual_slot" if manual else "last_slot"
    slots = {
        g.pk: manual_slot(now) if manual else poll_slot(now, g.poll_interval_s) for g in gateways
    }
    rows = ", ".join(["(%s::bigint, %s::timestamptz)"] * len(slots))
    params = [x for pk, slot in slots.items() for x in (pk, slot)]
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL.format(field=field, rows=rows),
            [*params, require_organization().pk],
        )
        return {pk: slots[pk] for (pk,) in cursor.fetchall()}


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
    """The enabled maps of these gateways with just what a poll needs: thousands of rows
    per cycle, so narrow columns, and each profile (with its values) loaded once."""
    maps = list(
        RegisterMap.objects.filter(gateway_id__in=gateway_ids, enabled=True)
        .select_related("meter")
        .only(
            "id", "organization_id", "gateway_id", "device_id", "profile_id", "meter_id",
            "meter__serial_number", "meter__organization_id",
        )
    )
    profiles = {
        p.pk: p
        for p in Profile.objects.filter(pk__in={m.profile_id for m in maps}).prefetch_related(
            "values"
        )
    }
    for m in maps:
        m.profile = profiles[m.profile_id]
    return maps


def _prepare(gateways: Sequence[Gateway], manual: bool, now: datetime) -> list[PollPlan]:
    """Claim the gateways' slots and plan their requests; a gateway whose slot is taken
    (or that is disabled, or of another organization) is left out."""
    claimed = _claim(gateways, manual, now)
    chosen = [g for g in gateways if g.pk in claimed]
    maps_by_gateway: dict[int, list[RegisterMap]] = {}
    for m in _maps_of(list(claimed)):
        maps_by_gateway.setdefault(m.gateway_id, []).append(m)
    runs = PollRun.objects.bulk_create(
        PollRun(
            organization_id=g.organization_id,
            gateway=g,
            slot=claimed[g.pk],
            manual=manual,
            started_at=now,
        )
        for g in chosen
    )
    plans = []
    for gateway, run in zip(chosen, runs, strict=True):
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
    return _record(plans, {r.ref: r for r in results}, now)


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
    stored: bool = False


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


def _ingest(outcomes: list[_Outcome], plans: list[PollPlan], read_at: datetime) -> dict[int, str]:
    """Store the good values of a cycle through the one ingestion service, in one call
    (set-based however many gateways); returns register map id → rejection reason.

    This is the only place the gateways app writes readings.
    """
    from readings.models import Source, Upload
    from readings.parsing import RowIn
    from readings.services import reading_ingest

    good = [o for o in outcomes if o.error is None]
    if not good:
        return {}
    names = ", ".join(p.gateway.name for p in plans[:3]) + (" …" if len(plans) > 3 else "")
    upload = Upload.objects.create(
        organization_id=plans[0].gateway.organization_id,
        source=Source.GATEWAY,
        status=Upload.Status.PROCESSING,
        note=f"Poll of {names} at {read_at:%Y-%m-%d %H:%M:%S} UTC"[:200],
        all_or_nothing=False,
        rows_total=len(good),
    )
    result = reading_ingest(
        rows=[
            RowIn(i, o.register_map.meter.serial_number, read_at, o.value)
            for i, o in enumerate(good)
        ],
        source=Source.GATEWAY,
        upload=upload,
        keep_results=True,
    )
    rejected = {}
    for r in result.results:
        outcome = good[r.line]
        if r.status == "rejected":
            reason = "; ".join(f"{field}: {message}" for field, message in r.errors)
            rejected[outcome.register_map.pk] = reason or "rejected"
        elif r.status == "created":
            outcome.stored = True
    Upload.objects.filter(pk=upload.pk).update(
        status=Upload.Status.DONE,
        rows_done=result.rows,
        created_count=result.counts.get("created", 0),
        unchanged_count=result.counts.get("unchanged", 0),
        anomaly_count=result.counts.get("anomalies", 0),
        error_count=result.error_count,
        finished_at=timezone.now(),
    )
    return rejected


_MAPS_OK_SQL = """
UPDATE gateways_registermap AS m SET
    last_poll_at = %s, last_success_at = %s, success_count = m.success_count + 1,
    consecutive_failures = 0, last_value = v.value, last_latency_ms = v.latency
FROM (VALUES {rows}) AS v(id, value, latency)
WHERE m.id = v.id AND m.organization_id = %s
"""
_MAPS_FAILED_SQL = """
UPDATE gateways_registermap AS m SET
    last_poll_at = %s, last_error_at = %s, last_error = v.message,
    error_count = m.error_count + 1, consecutive_failures = m.consecutive_failures + 1
FROM (VALUES {rows}) AS v(id, message)
WHERE m.id = v.id AND m.organization_id = %s
"""


def _update_maps(outcomes: list[_Outcome], organization_id: int, now: datetime) -> None:
    """Per-meter health of a whole cycle in two statements (an UPDATE … FROM VALUES each),
    not one round-trip per meter."""
    ok = [o for o in outcomes if o.error is None]
    failed = [o for o in outcomes if o.error is not None]
    with connection.cursor() as cursor:
        if ok:
            rows = ", ".join(["(%s::bigint, %s::numeric, %s::integer)"] * len(ok))
            params = [x for o in ok for x in (o.register_map.pk, o.value, o.latency_ms)]
            cursor.execute(_MAPS_OK_SQL.format(rows=rows), [now, now, *params, organization_id])
        if failed:
            rows = ", ".join(["(%s::bigint, %s::varchar)"] * len(failed))
            params = [x for o in failed for x in (o.register_map.pk, o.error.message)]
            cursor.execute(_MAPS_FAILED_SQL.format(rows=rows), [now, now, *params, organization_id])


def _gateway_health(plan: PollPlan, result: poller.TargetResult, errors, now: datetime) -> None:
    answered = (
        result.any_success
        or any(e.kind == GatewayError.Kind.EXCEPTION for e in errors)
        or (not plan.target.items and result.connect_failure is None)
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
def _record(
    plans: list[PollPlan], results: dict[int, poller.TargetResult], now: datetime
) -> list[PollRun]:
    """Store what the gateways of a cycle answered: readings (one ingestion call), errors,
    health and runs, in one transaction. All readings of a poll carry its instant (to the
    second)."""
    by_plan = [
        [
            _decode(plan, plan.maps[ref], item)
            for ref, item in results[plan.gateway.pk].items.items()
            if ref in plan.maps
        ]
        for plan in plans
    ]
    outcomes = [o for group in by_plan for o in group]
    rejected = _ingest(outcomes, plans, now.replace(microsecond=0))
    for plan, group in zip(plans, by_plan, strict=True):
        for o in group:
            if o.register_map.pk in rejected:
                o.error = _error(
                    plan,
                    GatewayError.Kind.REJECTED,
                    f"{o.register_map.meter.serial_number}: value {o.value} not stored: "
                    f"{rejected[o.register_map.pk]}",
                    register_map=o.register_map,
                )
    GatewayError.objects.bulk_create([o.error for o in outcomes if o.error is not None])
    _update_maps(outcomes, plans[0].gateway.organization_id, now)
    runs = []
    for plan, group in zip(plans, by_plan, strict=True):
        result = results[plan.gateway.pk]
        errors = [o.error for o in group if o.error is not None]
        if result.connect_failure is not None:
            failure = result.connect_failure
            errors.append(_error(plan, failure.kind, failure.message))
            errors[-1].save()
        _gateway_health(plan, result, errors, now)
        runs.append(_finish_run(plan.run, result, group, errors, now))
    return runs


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
    run.readings_stored = sum(o.stored for o in outcomes)
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
