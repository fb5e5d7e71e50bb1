"""Polls: claim the slot, read the wire, store readings, errors and health.

Polls do their network I/O outside any transaction (:mod:`gateways.poller`, asyncio, on a
thread of its own). Before it: claiming the poll slots (one conditional UPDATE that moves
``last_slot`` forward; a repeated or concurrent poll of the same slot changes no row and
stops there) and loading the maps (two queries). While it runs, the calling thread
records what has come back so far (:mod:`gateways.services.recording`): readings through
``readings.services.reading_ingest_snapshot`` (one call per batch of values, one upload
per cycle: values that move their meter forward are written by one statement, the rest
get every rule of ``reading_ingest``), errors and per-meter health, each batch in a
short transaction; after it, per-gateway health and the poll runs in one. Invalid values
(NaN, negative, rejected by ingestion as going backwards) become gateway errors, never
readings.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.utils import timezone

from billspree.core.errors import Conflict
from billspree.core.models import ApiKey
from billspree.core.queue import enqueue_on_commit
from billspree.core.scoping import require_organization
from billspree.core.services import audit_record
from gateways import poller
from gateways.models import Gateway, PollRun
from gateways.services import wire_lock
from gateways.services.plans import MapRow, PollPlan, maps_of, sensor_maps_of, target_of
from gateways.services.recording import Cycle, interrupted_runs_close

MANUAL_SLOT_SECONDS = 10
#: Values stored per ingestion call while the wire is still busy (whatever has arrived
#: when the previous batch is stored, at least this many): fewer calls, short tail.
INGEST_BATCH = 500


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
RETURNING g.id, g.consecutive_failures
"""


def _claim(gateways: Sequence[Gateway], manual: bool, now: datetime) -> dict[int, datetime]:
    """Move each gateway's slot forward in one conditional UPDATE; returns the gateways
    this call claimed (id → slot). A slot already taken (a repeated or concurrent poll)
    changes no row, so that gateway is not polled again. The claimed instances get their
    ``consecutive_failures`` as stored (the caller's may be stale)."""
    if not gateways:
        return {}
    field = "last_manual_slot" if manual else "last_slot"
    slots = {
        g.pk: manual_slot(now) if manual else poll_slot(now, g.poll_interval_s) for g in gateways
    }
    values = ", ".join(["(%s::bigint, %s::timestamptz)"] * len(slots))
    params = [x for pk, slot in slots.items() for x in (pk, slot)]
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL.format(field=field, rows=values),
            [*params, require_organization().pk],
        )
        rows = cursor.fetchall()
    # the caller's instances may be stale: what the database says decides who rests
    failing = dict(rows)
    for gateway in gateways:
        if gateway.pk in failing:
            gateway.consecutive_failures = failing[gateway.pk]
    return {pk: slots[pk] for pk, _ in rows}


def _prepare(
    gateways: Sequence[Gateway], manual: bool, now: datetime,
    claimed: dict[int, datetime] | None = None,
) -> tuple[list[PollPlan], dict[int, datetime]]:
    """Claim the gateways' slots and plan their requests; a gateway whose slot is taken
    (or that is disabled, or of another organization) is left out. ``claimed``: slots a
    "Poll now" request claimed already (polled once: a redelivered task finds its run)."""
    if claimed is None:
        claimed = _claim(gateways, manual, now)
    else:
        done = set(
            PollRun.objects.filter(
                gateway_id__in=list(claimed), manual=manual, slot__in=list(claimed.values())
            ).values_list("gateway_id", "slot")
        )
        claimed = {pk: at for pk, at in claimed.items() if (pk, at) not in done}
    maps_by_gateway: dict[int, list[MapRow]] = {}
    for m in maps_of(list(claimed)):
        maps_by_gateway.setdefault(m.gateway_id, []).append(m)
    sensors_by_gateway: dict[int, dict] = {}
    for sensor in sensor_maps_of(list(claimed)):
        sensors_by_gateway.setdefault(sensor.gateway_id, {})[sensor.pk] = sensor
    plans = []
    for gateway in gateways:
        if gateway.pk in claimed:
            maps = maps_by_gateway.get(gateway.pk, [])
            resting = 0
            if not manual and gateway.consecutive_failures == 0:
                asked = [m for m in maps if not _resting(m, gateway.poll_interval_s, now)]
                maps, resting = asked, len(maps) - len(asked)
            sensors = sensors_by_gateway.get(gateway.pk, {})
            plans.append(
                PollPlan(gateway, {m.pk: m for m in maps},
                         target_of(gateway, maps, sensors.values()), None, resting, sensors)
            )
    return plans, claimed


#: A meter that failed this many polls in a row, on a gateway that answers, rests.
REST_AFTER = 3
#: ... for 2, 4, 8, then at most 16 poll intervals between attempts.
REST_MAX_DOUBLINGS = 4


def _resting(m: MapRow, interval_s: int, now: datetime) -> bool:
    """Whether a scheduled poll leaves this meter out: it stopped answering while its
    gateway answers (a dead meter, a cut cable), so every attempt costs a timeout and
    holds the gateway (relay commands wait). It is asked again after 2, 4, 8 … 16 poll
    intervals; "Poll now" always asks it, and one answer ends the rest. Only while the
    gateway answered its last poll: after a gateway outage every meter is asked at once."""
    if m.consecutive_failures < REST_AFTER or m.last_poll_at is None:
        return False
    doublings = min(m.consecutive_failures - REST_AFTER + 1, REST_MAX_DOUBLINGS)
    return (now - m.last_poll_at).total_seconds() < interval_s * 2**doublings - interval_s / 2


def gateways_poll(
    *,
    gateways: Sequence[Gateway],
    manual: bool = False,
    now: datetime | None = None,
    wait_s: float = 0.0,
) -> list[PollRun]:
    """Poll several gateways of the current organization concurrently (one asyncio loop,
    one connection each) and record what came back. Returns the runs that took place;
    a gateway whose slot was already polled is skipped, and so is one that another
    process (a poll, a relay command) is still talking to after ``wait_s``: its own
    scheduled task polls it.

    The wire runs on a thread of its own (:class:`poller.PollStream`) while this thread
    creates the runs and stores each batch of values as it arrives, in short
    transactions of its own (no lock is held across the network I/O); health and runs
    are finished in one last transaction when every gateway is done.
    """
    with wire_lock.gateways_locked([g.pk for g in gateways], wait_s=wait_s) as held:
        return _poll([g for g in gateways if g.pk in held], manual, now or timezone.now())


def gateway_poll(
    *,
    gateway: Gateway,
    manual: bool = False,
    now: datetime | None = None,
    wait_s: float = wire_lock.WAIT_S,
    slot: datetime | None = None,
) -> PollRun | None:
    """Poll one gateway for the slot of ``now``; None if that slot was polled already.
    ``slot``: a manual slot already claimed by :func:`gateway_poll_request`.
    Raises :class:`~gateways.services.wire_lock.GatewayBusy` if another process is still
    talking to the gateway after ``wait_s`` (the task retries a little later)."""
    claimed = {gateway.pk: slot} if slot is not None else None
    with wire_lock.gateway_locked(gateway.pk, wait_s=wait_s):
        runs = _poll([gateway], manual, now or timezone.now(), claimed)
    return runs[0] if runs else None


def _poll(
    gateways: Sequence[Gateway], manual: bool, now: datetime,
    claimed: dict[int, datetime] | None = None,
) -> list[PollRun]:
    """The poll of gateways whose wire locks this process holds."""
    plans, slots = _prepare(gateways, manual, now, claimed)
    if not plans:
        return []
    interrupted_runs_close([p.gateway.pk for p in plans], now)
    stream = poller.PollStream([p.target for p in plans])
    cycle = None
    try:
        cycle = Cycle(plans, slots=slots, manual=manual, now=now)
        for batch in stream.batches(min_items=INGEST_BATCH):
            cycle.store(batch)
    except BaseException as exc:
        stream.stop()  # nobody will record the rest: do not keep the gateways busy
        if cycle is not None:
            cycle.abandon(exc)
        raise
    return cycle.finish(stream.results)


class PollPending(Conflict):
    """ "Poll now" was asked already in this 10-second slot and its worker has not started."""


def gateway_poll_request(
    *,
    gateway: Gateway,
    actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    now: datetime | None = None,
) -> PollRun | None:
    """"Poll now": claim the gateway's manual slot (10-second grain) here, so the answer
    says what happens, and queue its poll for a worker once the transaction commits.

    Returns None when a poll was queued. Inside a slot already claimed (a double click,
    a retried API call) nothing is queued: it returns that slot's run (finished or still
    running), or raises :class:`PollPending` (409) while its worker has not started it.
    """
    if not gateway.enabled:
        raise Conflict("This gateway is disabled; enable it to poll it.")
    now = now or timezone.now()
    claimed = _claim([gateway], True, now)
    if not claimed:
        return _requested_already(gateway)
    at = claimed[gateway.pk]
    audit_record(
        action="gateway.poll_now", target=gateway.name, detail={"slot": at.isoformat()},
        actor=actor, api_key=api_key,
    )
    enqueue_on_commit("gateways.tasks.gateway_poll_task", gateway.pk, manual=True,
                      slot=at.isoformat())
    return None


def _requested_already(gateway: Gateway) -> PollRun:
    gateway.refresh_from_db(fields=["last_manual_slot", "enabled"])
    at = gateway.last_manual_slot
    run = PollRun.objects.filter(gateway=gateway, manual=True, slot=at).first()
    if run is not None:
        return run
    raise PollPending(
        f"A poll of {gateway.name} was requested at {at:%H:%M:%S} UTC and is waiting for a "
        "worker; its result appears in the poll history in a few seconds. Nothing new was "
        "queued.",
        code="poll_pending",
    )
