"""Recording a poll cycle while its wire is still busy: decoding, readings, errors, health.

:class:`Cycle` lives in the thread that called ``gateways_poll`` (it owns the Django
connection, and the caller's transaction if there is one); the wire runs meanwhile on the
poller's thread. Each batch of values that has come back is stored in a short transaction
of its own (one ``reading_ingest_snapshot`` call, one bulk insert of errors, one
set-based update of per-meter health), so nothing is locked across network I/O; when
every gateway is done, per-gateway health and the runs are written in one last
transaction. All readings of a cycle carry its instant (to the second) and belong to one
upload.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import Error, connection, transaction

from billspree.core.errors import Conflict
from gateways import decoding, poller
from gateways.models import GatewayError, PollRun, SensorMap
from gateways.services.plans import MEASURE, SENSOR, MapRow, PollPlan
from readings.measurements.ingest import measurements_store, series_ensure
from readings.measurements.models import CONVERSIONS, RANGES, UNITS
from readings.models import Source
from readings.services import reading_ingest_snapshot, upload_close, upload_open

_RUNS_SQL = """
UPDATE gateways_pollrun AS r SET
    status = v.status, finished_at = v.finished_at, requests = v.requests,
    readings_stored = v.stored, meters_ok = v.ok, error_count = v.errors,
    latency_ms = v.latency, summary = v.summary
FROM unnest(%s::bigint[], %s::varchar[], %s::timestamptz[], %s::integer[], %s::integer[],
            %s::integer[], %s::integer[], %s::integer[], %s::varchar[])
    AS v(id, status, finished_at, requests, stored, ok, errors, latency, summary)
WHERE r.id = v.id AND r.organization_id = %s
"""
_RUN_FIELDS = (
    "pk", "status", "finished_at", "requests", "readings_stored", "meters_ok", "error_count",
    "latency_ms", "summary",
)


@dataclass(slots=True)
class _Outcome:
    plan: PollPlan
    register_map: MapRow
    value: Decimal | None = None
    error: GatewayError | None = None
    latency_ms: int | None = None
    stored: bool = False
    skipped: bool = False  # not asked (the gateway was given up): its health is unchanged
    switched: bool = False  # its register switch was made: the value opened a new segment


def _error(plan: PollPlan, kind: str, message: str, *, register_map=None, code=None):
    return GatewayError(
        organization_id=plan.gateway.organization_id,
        gateway_id=plan.gateway.pk,
        register_map_id=register_map.pk if register_map is not None else None,
        poll_run=plan.run,
        kind=kind,
        message=message[:300],
        exception_code=code,
        occurred_at=plan.run.started_at,
    )


def _decode(plan: PollPlan, register_map: MapRow, item: poller.ItemResult) -> _Outcome:
    outcome = _Outcome(plan, register_map, latency_ms=item.latency_ms)
    serial = register_map.serial_number
    if item.failure is not None:
        f = item.failure
        where = f"device {register_map.device_id} ({serial})"
        outcome.skipped = f.kind == poller.SKIPPED
        kind = GatewayError.Kind.CONNECTION if outcome.skipped else f.kind
        outcome.error = _error(
            plan, kind, f"{where}: {f.message}", register_map=register_map, code=f.exception_code
        )
        return outcome
    spec = register_map.value
    try:
        value = decoding.value_from_registers(
            item.registers or [], spec.data_type, spec.word_order, spec.scale
        )
    except decoding.DecodeError as exc:
        message = f"{serial}: {exc} Registers {item.registers}."
        outcome.error = _error(
            plan, GatewayError.Kind.INVALID_VALUE, message, register_map=register_map
        )
        return outcome
    if value < 0:
        message = f"{serial}: negative register value {value}."
        outcome.error = _error(
            plan, GatewayError.Kind.INVALID_VALUE, message, register_map=register_map
        )
        return outcome
    outcome.value = value
    return outcome


class Cycle:
    """The records of one poll cycle, written batch by batch as the wire delivers."""

    def __init__(
        self, plans: list[PollPlan], *, slots: dict[int, datetime], manual: bool, now: datetime
    ):
        self.plans = {p.gateway.pk: p for p in plans}
        self.now = now
        self._clock = time.monotonic()
        self.read_at = now.replace(microsecond=0)
        self.organization_id = plans[0].gateway.organization_id
        self.outcomes: dict[int, list[_Outcome]] = {pk: [] for pk in self.plans}
        self.upload = None
        self.counts = {"rows": 0, "created": 0, "unchanged": 0, "anomalies": 0, "errors": 0}
        # maps with a register switch pending: their new and old register, until both came
        self._held: dict[int, tuple[PollPlan, MapRow, poller.ItemResult]] = {}
        self._old: dict[int, poller.ItemResult] = {}
        # measurements: the profile values polled, and per gateway [stored, failed, why]
        self._specs = {v.pk: v for p in plans for m in p.maps.values() for v in m.measures}
        self.measured: dict[int, list] = {pk: [0, 0, ""] for pk in self.plans}
        runs = PollRun.objects.bulk_create(
            PollRun(
                organization_id=self.organization_id,
                gateway=p.gateway,
                slot=slots[p.gateway.pk],
                manual=manual,
                started_at=now,
            )
            for p in plans
        )
        for plan, run in zip(plans, runs, strict=True):
            plan.run = run

    @transaction.atomic
    def store(self, batch: Sequence[poller.StreamItem]) -> None:
        """Decode a batch of values, store the good ones as readings, the rest as errors,
        and update the health of these meters."""
        _commit_without_flush()
        outcomes = []
        measures = []
        for gateway_id, ref, item in batch:
            plan = self.plans[gateway_id]
            if ref.__class__ is tuple and ref[0] == MEASURE:  # (MEASURE, map id, value id)
                register_map = plan.maps.get(ref[1])
                measures.append((gateway_id, "meter", register_map and register_map.meter_id,
                                 self._specs[ref[2]], item))
                continue
            if ref.__class__ is tuple and ref[0] == SENSOR:  # (SENSOR, sensor map id, key)
                sensor = plan.sensors[ref[1]]
                measures.append((gateway_id, "sensor", sensor.sensor_id,
                                 sensor.value(ref[2]), item))
                continue
            if ref.__class__ is tuple:  # (OLD_REGISTER, map id): a pending register switch
                self._old[ref[1]] = item
                continue
            register_map = plan.maps.get(ref)
            if register_map is None:
                continue
            if register_map.switch:
                self._held[ref] = (plan, register_map, item)
            else:
                outcomes.append(_decode(plan, register_map, item))
        for pk in [pk for pk in self._held if pk in self._old]:
            outcomes.append(self._switch(*self._held.pop(pk), self._old.pop(pk)))
        rejected = self._ingest([o for o in outcomes if o.error is None and not o.switched])
        for o in outcomes:
            if o.register_map.pk in rejected:
                o.error = _error(
                    o.plan,
                    GatewayError.Kind.REJECTED,
                    f"{o.register_map.serial_number}: value {o.value} not stored: "
                    f"{rejected[o.register_map.pk]}",
                    register_map=o.register_map,
                )
            self.outcomes[o.plan.gateway.pk].append(o)
        GatewayError.objects.bulk_create([o.error for o in outcomes if o.error is not None])
        _update_maps(outcomes, self.organization_id, self.now)
        self._measure(measures)

    def _measure(self, measures: list) -> None:
        """Store the measurements of a batch (one statement for the series, one for the
        values, with the cycle's instant). A value that was not read or is implausible is
        counted on its run's summary; it never touches the readings or the health."""
        rows = []
        for gateway_id, kind, device_id, spec, item in measures:
            value, why = _measurement(spec, item)
            counts = self.measured[gateway_id]
            if why is not None or device_id is None:
                counts[1] += 1
                counts[2] = counts[2] or f"{spec.label}: {why}"
            else:
                rows.append((gateway_id, kind, device_id, spec.quantity, value))
        if not rows:
            return
        series = {}
        for kind in ("meter", "sensor"):
            pairs = {(d, q) for _, k, d, q, _ in rows if k == kind}
            series.update({(kind, *key): pk for key, pk in series_ensure(kind, pairs).items()})
        inserted = measurements_store(
            [(series[(k, d, q)], self.read_at, v) for _, k, d, q, v in rows],
            source=Source.GATEWAY,
        )
        for gateway_id, k, d, q, _ in rows:
            self.measured[gateway_id][0] += (series[(k, d, q)], self.read_at) in inserted
        if sensors := {d for _, k, d, _, _ in rows if k == "sensor"}:
            SensorMap.objects.filter(sensor_id__in=sensors).update(last_success_at=self.now)

    def _switch(self, plan: PollPlan, register_map: MapRow, item: poller.ItemResult,
                old_item: poller.ItemResult) -> _Outcome:
        """The poll of a meter whose register switch is pending: both registers were read
        at this instant; make the switch (``register_switch_apply``) and keep the new
        value as the meter's state, or store it as a plain reading if there was nothing
        to separate. A switch that cannot be made yet stays pending (an error says why)."""
        from gateways.services import register_switch

        outcome = _decode(plan, register_map, item)
        if outcome.error is not None:
            return outcome
        serial = register_map.serial_number
        old = None
        if old_item.failure is None:
            old = register_switch.old_value(register_map.switch, old_item.registers)
        elif old_item.failure.kind != "exception":  # not asked, or no answer: try next poll
            outcome.value, outcome.error = None, _error(
                plan, old_item.failure.kind if old_item.failure.kind != poller.SKIPPED
                else GatewayError.Kind.CONNECTION,
                f"{serial}: register switch waits: the previous register was not read "
                f"({old_item.failure.message})", register_map=register_map,
            )
            return outcome
        try:
            with transaction.atomic():
                applied, _ = register_switch.register_switch_apply(
                    register_map_id=register_map.pk, at=self.read_at, old=old, new=outcome.value
                )
        except (ValidationError, Conflict) as exc:
            reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else exc.message
            outcome.value, outcome.error = None, _error(
                plan, GatewayError.Kind.CONFIG,
                f"{serial}: register switch not made, the meter keeps its previous register: "
                f"{reason}", register_map=register_map,
            )
            return outcome
        outcome.switched = applied
        return outcome

    def _ingest(self, good: list[_Outcome]) -> dict[int, str]:
        """Store good values through the readings ingestion service; returns register map
        id → rejection reason. This is the only place the gateways app writes readings.

        ``reading_ingest_snapshot``: values that move their meter forward are written by
        one statement; the rest (a meter's first reading, a repeated slot, a value going
        backwards, a jump, a moved meter) get every rule of ``reading_ingest``."""
        if not good:
            return {}
        result = reading_ingest_snapshot(
            rows=[(o.register_map.meter_id, o.register_map.serial_number, o.value) for o in good],
            read_at=self.read_at,
            source=Source.GATEWAY,
            upload=self._upload(),
        )
        for key in ("created", "unchanged", "anomalies"):
            self.counts[key] += result.counts.get(key, 0)
        self.counts["rows"] += result.rows
        self.counts["errors"] += result.error_count
        for line in result.stored_lines:
            good[line].stored = True
        rejected = {}
        for r in result.results:
            outcome = good[r.line]
            if r.status == "rejected":
                reason = "; ".join(f"{field}: {message}" for field, message in r.errors)
                rejected[outcome.register_map.pk] = reason or "rejected"
            elif r.status == "created":
                outcome.stored = True
        return rejected

    def _upload(self):
        """The cycle's one upload, opened (``readings.services.upload_open``) with its
        first readings."""
        if self.upload is None:
            plans = list(self.plans.values())
            names = ", ".join(p.gateway.name for p in plans[:3]) + (" …" if len(plans) > 3 else "")
            self.upload = upload_open(
                source=Source.GATEWAY,
                note=f"Poll of {names} at {self.read_at:%Y-%m-%d %H:%M:%S} UTC",
                all_or_nothing=False,
            )
        return self.upload

    @transaction.atomic
    def finish(self, results: Sequence[poller.TargetResult]) -> list[PollRun]:
        """Connection errors, per-gateway health, the runs and the upload, in one
        transaction; returns the runs. This commit waits for its flush: a lost one would
        leave the runs "running" with their slots claimed."""
        by_ref = {r.ref: r for r in results}
        errors: dict[int, list[GatewayError]] = {}
        unreachable = []
        for pk, plan in self.plans.items():
            errors[pk] = [o.error for o in self.outcomes[pk] if o.error is not None]
            failure = by_ref[pk].connect_failure
            if failure is not None:
                unreachable.append(_error(plan, failure.kind, failure.message))
                errors[pk].append(unreachable[-1])
        GatewayError.objects.bulk_create(unreachable)
        _update_gateways(
            [(plan, by_ref[pk], errors[pk], _root_cause(by_ref[pk], self.outcomes[pk]))
             for pk, plan in self.plans.items()],
            self.organization_id,
            self.now,
        )
        ended = self.ended()
        runs = [
            _finish_run(plan.run, by_ref[pk], self.outcomes[pk], errors[pk], ended,
                        plan.resting, self.measured[pk])
            for pk, plan in self.plans.items()
        ]
        _update_runs(runs, self.organization_id)
        self._finish_upload()
        return runs

    def ended(self) -> datetime:
        """When the poll ended: its start (``now``, which the runs and readings carry)
        plus the time it took, so ``finished_at − started_at`` is its true duration."""
        return self.now + timedelta(seconds=time.monotonic() - self._clock)

    def abandon(self, exc: BaseException) -> None:
        """The poll failed half-way (a database error, the worker stopping): say so on its
        runs rather than leave them "running". Best effort: if the database is what
        failed, the next poll of these gateways closes them (``interrupted_runs_close``).
        The slots stay taken: what was stored is kept, and the next slot reads again."""
        summary = f"The poll failed: {type(exc).__name__}: {exc}"[:300]
        try:
            with transaction.atomic():
                PollRun.objects.filter(
                    pk__in=[p.run.pk for p in self.plans.values()],
                    status=PollRun.Status.RUNNING,
                ).update(status=PollRun.Status.FAILED, finished_at=self.ended(),
                         summary=summary)
                self._finish_upload()
        except Error:  # also a connection already closed (InterfaceError)
            pass

    def _finish_upload(self) -> None:
        """The cycle's upload done, with what it stored (``readings.services.upload_close``)."""
        if self.upload is None:
            return
        c = self.counts
        upload_close(
            upload=self.upload, rows=c["rows"], created=c["created"], unchanged=c["unchanged"],
            anomalies=c["anomalies"], errors=c["errors"],
        )


def interrupted_runs_close(gateway_ids: list[int], now: datetime) -> int:
    """Close the runs of these gateways still marked running. Called under their wire
    locks, so no poll of them is in progress: such a run was left by a worker that died
    (or lost its database) half-way."""
    return PollRun.objects.filter(
        gateway_id__in=gateway_ids, status=PollRun.Status.RUNNING
    ).update(
        status=PollRun.Status.FAILED,
        finished_at=now,
        summary="Interrupted: the poll stopped before it finished (the worker or the "
        "database was lost); the next slot read the meters again.",
    )


def _commit_without_flush() -> None:
    """Let this batch's transaction commit without waiting for its WAL flush (a few ms
    each, while the wire is busy): a server crash may lose a batch of readings, which costs
    nothing, because registers are cumulative and the next slot reads them again. Only when
    the cycle owns the transaction: a caller's own transaction keeps its guarantees."""
    if len(connection.atomic_blocks) == 1:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


_MAPS_OK_SQL = """
UPDATE gateways_registermap AS m SET
    last_poll_at = %s, last_success_at = %s, success_count = m.success_count + 1,
    consecutive_failures = 0, last_value = v.value, last_latency_ms = v.latency
FROM unnest(%s::bigint[], %s::numeric[], %s::integer[]) AS v(id, value, latency)
WHERE m.id = v.id AND m.organization_id = %s
"""
_MAPS_FAILED_SQL = """
UPDATE gateways_registermap AS m SET
    last_poll_at = %s, last_error_at = %s, last_error = v.message,
    error_count = m.error_count + 1, consecutive_failures = m.consecutive_failures + 1
FROM unnest(%s::bigint[], %s::varchar[]) AS v(id, message)
WHERE m.id = v.id AND m.organization_id = %s
"""


def _update_maps(outcomes: list[_Outcome], organization_id: int, now: datetime) -> None:
    """Per-meter health of a batch in at most two statements (UPDATE … FROM unnest).
    Meters that were not asked (skipped) keep theirs: the next poll asks the ones that
    were answering first."""
    ok = [o for o in outcomes if o.error is None]
    failed = [o for o in outcomes if o.error is not None and not o.skipped]
    with connection.cursor() as cursor:
        if ok:
            columns = [
                [o.register_map.pk for o in ok],
                [o.value for o in ok],
                [o.latency_ms for o in ok],
            ]
            cursor.execute(_MAPS_OK_SQL, [now, now, *columns, organization_id])
        if failed:
            columns = [[o.register_map.pk for o in failed], [o.error.message for o in failed]]
            cursor.execute(_MAPS_FAILED_SQL, [now, now, *columns, organization_id])


_GATEWAYS_SQL = """
UPDATE gateways_gateway AS g SET
    last_poll_at = %(now)s,
    last_success_at = CASE WHEN v.answered THEN %(now)s ELSE g.last_success_at END,
    consecutive_failures = CASE WHEN v.answered THEN 0 ELSE g.consecutive_failures + 1 END,
    success_count = g.success_count + CASE WHEN v.answered THEN 1 ELSE 0 END,
    last_latency_ms = CASE WHEN v.answered AND v.latency IS NOT NULL THEN v.latency
                           ELSE g.last_latency_ms END,
    last_error_at = CASE WHEN v.errors > 0 THEN %(now)s ELSE g.last_error_at END,
    last_error = CASE WHEN v.errors > 0 THEN v.message ELSE g.last_error END,
    error_count = g.error_count + v.errors
FROM unnest(%(ids)s::bigint[], %(answered)s::boolean[], %(latency)s::integer[],
            %(errors)s::integer[], %(message)s::varchar[])
    AS v(id, answered, latency, errors, message)
WHERE g.id = v.id AND g.organization_id = %(org)s
"""


def _root_cause(result: poller.TargetResult, outcomes: list[_Outcome]) -> str:
    """What the gateway's "last error" says: why it was given up (cannot connect, the
    connection closed, no answer N times in a row, the time budget), else the last error
    of a meter that was asked; never "skipped", which is a consequence, not a cause."""
    for failure in (result.gave_up, result.connect_failure):
        if failure is not None:
            return failure.message
    asked = [o.error for o in outcomes if o.error is not None and not o.skipped]
    return asked[-1].message if asked else ""


def _answered(plan: PollPlan, result: poller.TargetResult, errors: list[GatewayError]) -> bool:
    return (
        result.any_success
        or any(e.kind == GatewayError.Kind.EXCEPTION for e in errors)
        or (not plan.target.items and result.connect_failure is None)
    )


def _update_gateways(rows, organization_id: int, now: datetime) -> None:
    """Per-gateway health of the cycle in one statement: a gateway that answered anything
    is a success; one that did not counts a consecutive failure (offline after N)."""
    with connection.cursor() as cursor:
        cursor.execute(
            _GATEWAYS_SQL,
            {
                "now": now,
                "ids": [plan.gateway.pk for plan, _, _, _ in rows],
                "answered": [_answered(p, result, errors) for p, result, errors, _ in rows],
                "latency": [result.latency_ms for _, result, _, _ in rows],
                "errors": [len(errors) for _, _, errors, _ in rows],
                "message": [
                    (cause or errors[-1].message)[:300] if errors else ""
                    for _, _, errors, cause in rows
                ],
                "org": organization_id,
            },
        )


def _update_runs(runs: list[PollRun], organization_id: int) -> None:
    """The outcome of every run of the cycle in one statement (``bulk_update`` builds a
    CASE per field and row: slower to build than to run)."""
    columns = [[getattr(run, name) for run in runs] for name in _RUN_FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(_RUNS_SQL, [*columns, organization_id])


def _measurement(spec, item: poller.ItemResult) -> tuple[float | None, str | None]:
    """A measurement value in its quantity's unit, or why there is none."""
    if item.failure is not None:
        return None, item.failure.message
    try:
        raw = decoding.decode(item.registers or [], spec.data_type, spec.word_order)
        number = decoding.scaled(raw, spec.scale, spec.data_type)
    except decoding.DecodeError as exc:
        return None, str(exc)
    stored = UNITS[spec.quantity]
    factor = 1.0 if spec.unit == stored else CONVERSIONS[(stored, spec.unit)]
    value = float(number * Decimal(repr(factor))) if factor != 1.0 else float(number)
    low, high = RANGES[stored]
    if not low <= value <= high:
        return None, f"{value:g} is not a plausible {spec.quantity}"
    return value, None


def _measured_summary(measured: list | None) -> str:
    if not measured or not (measured[0] or measured[1]):
        return ""
    stored, failed, why = measured
    return f"; {stored} measurements stored" + (
        f", {failed} values not read ({why})" if failed else "")


def _finish_run(run: PollRun, result, outcomes, errors, ended: datetime, resting: int = 0,
                measured: list | None = None) -> PollRun:
    ok = sum(o.error is None for o in outcomes)
    run.status = (
        PollRun.Status.OK
        if not errors
        else PollRun.Status.FAILED
        if ok == 0
        else PollRun.Status.PARTIAL
    )
    run.finished_at = ended
    run.requests = result.requests
    run.readings_stored = sum(o.stored for o in outcomes)
    run.meters_ok = ok
    run.error_count = len(errors)
    run.latency_ms = result.latency_ms
    run.summary = (
        f"{ok} of {len(outcomes)} meters read, {run.readings_stored} readings stored, "
        f"{len(errors)} errors, {result.requests} requests in {result.duration_s:.2f} s"
        + (f"; {switched} switched to a corrected register (assignment closed and "
           "reopened, no reading stored this time)" if (switched := sum(
               o.switched for o in outcomes)) else "")
        + (f"; {resting} not answering, asked again later" if resting else "")
        + _measured_summary(measured)
        + (f"; gateway given up: {result.gave_up.message}" if result.gave_up else "")
    )[:300]
    return run
