"""Benchmark: one full poll cycle of many gateways vs a bare pymodbus client, same registers.

    .venv/bin/python bench/poll.py            # 20 gateways × 100 meters
    .venv/bin/python bench/poll.py --small    # 4 gateways × 25 meters

20 simulated gateways (pymodbus TCP servers on 127.0.0.1, in a separate process so they
do not share the poller's interpreter) each carry 100 meters of the built-in profiles.
The service path is ``gateways.services.gateways_poll``: claim each gateway's slot, read
the energy register of every meter over one connection per gateway (all gateways
concurrently, on the poller's thread), decode, and store readings through the readings
ingestion service batch by batch while the wire is still busy, with errors, health and
poll runs. Two baselines, storing nothing: ``tight_loop_*`` is the issue's, "a bare
pymodbus client reading the same registers in a tight loop" (one ``AsyncModbusTcpClient``,
gateway after gateway), the one the target (≥ 0.8) is read against; ``bare_*`` (and
``ratio``) is stricter, a bare client per gateway with all gateways at once, the same
concurrency as the poller. With gateways that answer at once that strict comparison
measures the box's two cores more than the poller (bench/README.md, "poll");
``--bus-ms`` shows it with a wire that takes time. Every run measures each path once,
alternating; medians are reported.

More paths show where the time goes: ``poller_only`` is the asyncio poller alone on the
same targets (wire, retries machinery, no database); ``snapshot_only_s`` is
``readings.services.reading_ingest_snapshot`` (what the cycle stores through: one
statement for readings that move their meter forward) alone storing the same number of
values for the same meters, ``ingest_only_s`` the general ``reading_ingest`` doing the
same (no wire). The ingestion's CPU, in Python and in PostgreSQL, competes with the wire
(the poller and the simulated gateways) for the box's cores.

The first run of each bench stores every meter's first reading, which the snapshot
statement leaves to the general engine (it needs a previous reading); later runs are the
steady state of a poller. The medians cover all runs.

Cycles commit as in production (each batch of values, then the cycle's health and runs);
the bench's organization and everything it wrote are deleted at the end. ``--rollback``
runs everything in one transaction instead (commits become savepoints, and every cycle's
dead row versions stay visible to the next, so later runs get slower).

``--bus-ms N`` makes every simulated gateway answer N ms after each request, as a
gateway does whose meters sit on an RS-485 bus (at 9,600 baud a two-register read alone
takes ~20 ms on the wire; 5 ms is a fast bus): the comparison where the wire, not the
box's two cores, sets the pace. By default the simulator answers at once, so every path
is bound by CPU and the storage's CPU shows in full.

Last line: ``BENCH poll cycle_s=... requests_per_s=... bare_requests_per_s=... ratio=...``
(targets: cycle ≤ 5 s, ``tight_loop_ratio`` ≥ 0.8). ``requests_per_s`` counts the whole
cycle (claims, wire, decoding, ingestion, health).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billspree.settings")

import django  # noqa: E402

django.setup()

from django.db import IntegrityError, connection, transaction  # noqa: E402
from pymodbus.client import AsyncModbusTcpClient  # noqa: E402

from billspree.core.models import Organization  # noqa: E402
from billspree.core.scoping import organization_context  # noqa: E402
from gateways import services  # noqa: E402
from gateways.decoding import register_count  # noqa: E402
from gateways.models import Gateway, Profile, RegisterMap  # noqa: E402
from gateways.poller import poll_many, run_sync  # noqa: E402
from gateways.profiles import BUILTIN_PROFILES  # noqa: E402
from gateways.services.plans import maps_of, target_of  # noqa: E402
from gateways.simulator import (  # noqa: E402
    SimulatedGateway,
    SimulatorServer,
    default_layout,
    make_meters,
)
from meters.models import BillingPoint, Meter, MeterAssignment, Property  # noqa: E402
from readings.models import Reading, Source  # noqa: E402
from readings.parsing import RowIn  # noqa: E402
from readings.services import reading_ingest, reading_ingest_snapshot  # noqa: E402

T0 = datetime(2026, 1, 5, tzinfo=UTC)
UNITS = {"electricity": "kWh", "cold_water": "m³", "heat": "kWh"}


def serve(count: int, meters: int, ports: multiprocessing.Queue, bus_ms: float = 0) -> None:
    """Child process: ``count`` simulated gateways in one event loop, each answering
    ``bus_ms`` after a request (0: at once)."""
    import logging

    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

    async def run_servers() -> None:
        servers = []
        for _ in range(count):
            store = SimulatedGateway(make_meters(default_layout(meters)))
            store.stall_s = bus_ms / 1000
            server = SimulatorServer(store, port=0)
            await server.serve_forever(background=True)
            servers.append(server)
        ports.put([s.bound_port for s in servers])
        await asyncio.Event().wait()

    asyncio.run(run_servers())


def setup(ports: list[int], meters: int) -> list[Gateway]:
    prop = Property.objects.create(name="Bench poll site", time_zone="UTC")
    services.profile_builtins_ensure()
    profiles = {p.builtin: p for p in Profile.objects.exclude(builtin="")}
    layout = default_layout(meters)
    gateways = []
    for g, port in enumerate(ports):
        gateway = services.gateway_create(
            property=prop, name=f"Bench gateway {g}", host="127.0.0.1", port=port,
            timeout_ms=2000, retries=1, request_delay_ms=0, poll_interval_s=900,
        )
        points = BillingPoint.objects.bulk_create(
            BillingPoint(property=prop, connection_id=f"BP-{g}-{d}", name=f"Unit {g}-{d}",
                         organization=prop.organization)
            for d in layout
        )
        meter_rows = Meter.objects.bulk_create(
            Meter(serial_number=f"BENCH-{g}-{d}", type=BUILTIN_PROFILES[key].meter_type,
                  unit=UNITS[BUILTIN_PROFILES[key].meter_type], register_digits=12,
                  organization=prop.organization)
            for d, key in layout.items()
        )
        MeterAssignment.objects.bulk_create(
            MeterAssignment(meter=m, billing_point=p, connected_at=T0 - timedelta(days=1),
                            organization=prop.organization)
            for m, p in zip(meter_rows, points, strict=True)
        )
        RegisterMap.objects.bulk_create(
            RegisterMap(meter=m, gateway=gateway, device_id=d, profile=profiles[key],
                        organization=prop.organization)
            for m, (d, key) in zip(meter_rows, layout.items(), strict=True)
        )
        gateways.append(gateway)
    return gateways


async def bare(ports: list[int], meters: int) -> int:
    """The baseline: one bare client per gateway, the same registers, a tight loop."""
    layout = default_layout(meters)

    async def one(port: int) -> int:
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=1)
        await client.connect()
        done = 0
        for device, key in layout.items():
            spec = BUILTIN_PROFILES[key].reading
            read = client.read_input_registers if spec.function_code == 4 else (
                client.read_holding_registers
            )
            response = await read(spec.address, count=register_count(spec.data_type),
                                  device_id=device)
            assert not response.isError()
            done += 1
        client.close()
        return done

    return sum(await asyncio.gather(*(one(p) for p in ports)))


async def bare_tight_loop(ports: list[int], meters: int) -> int:
    """The issue's words taken literally: one bare client reading every register in a
    tight loop, gateway after gateway (no concurrency between gateways)."""
    done = 0
    for port in ports:
        done += await bare([port], meters)
    return done


def ingest_only(at: datetime) -> tuple[float, int]:
    """``reading_ingest`` alone: the values the last cycle stored, again one second later
    (same meters, valid, not backwards), as one batch. Returns (seconds, stored)."""
    rows = [
        RowIn(i, serial, at, value)
        for i, (serial, value) in enumerate(
            RegisterMap.objects.order_by().values_list("meter__serial_number", "last_value")
        )
    ]
    started = time.perf_counter()
    result = reading_ingest(rows=rows, source=Source.GATEWAY, keep_results=False)
    elapsed = time.perf_counter() - started
    assert result.error_count == 0, result.results[:3]
    return elapsed, result.counts["created"]


def snapshot_only(at: datetime) -> tuple[float, int]:
    """``reading_ingest_snapshot`` alone (the service the cycle stores through), on the
    same values as :func:`ingest_only`, one second after it. Returns (seconds, stored)."""
    rows = list(
        RegisterMap.objects.order_by().values_list("meter_id", "meter__serial_number", "last_value")
    )
    started = time.perf_counter()
    result = reading_ingest_snapshot(rows=rows, read_at=at, source=Source.GATEWAY)
    elapsed = time.perf_counter() - started
    assert result.error_count == 0, result.results[:3]
    return elapsed, result.counts["created"]


def measure(ports: list[int], count: int, meters: int, runs: int) -> dict[str, list]:
    """Each path once per run, alternating; returns the timings of every run."""
    gateways = setup(ports, meters)
    maps = maps_of([g.pk for g in gateways])
    targets = [target_of(g, [m for m in maps if m.gateway_id == g.pk]) for g in gateways]
    out: dict[str, list[float]] = {
        "cycles": [], "rates": [], "bare": [], "wire": [], "ingest": [], "snapshot": [],
        "tight": [],
    }
    for run in range(runs):
        started = time.perf_counter()
        results = run_sync(poll_many(targets))
        out["wire"].append(sum(r.requests for r in results) / (time.perf_counter() - started))

        started = time.perf_counter()
        requests = asyncio.run(bare(ports, meters))
        out["bare"].append(requests / (time.perf_counter() - started))

        started = time.perf_counter()
        requests = asyncio.run(bare_tight_loop(ports, meters))
        out["tight"].append(requests / (time.perf_counter() - started))

        now = T0 + timedelta(hours=run)
        started = time.perf_counter()
        polls = services.gateways_poll(gateways=gateways, now=now)
        elapsed = time.perf_counter() - started
        assert all(p.status == "ok" for p in polls), [p.summary for p in polls][:3]
        assert sum(p.readings_stored for p in polls) == count * meters
        out["cycles"].append(elapsed)
        out["rates"].append(sum(p.requests for p in polls) / elapsed)

        seconds, created = ingest_only(now + timedelta(seconds=1))
        assert created == count * meters
        out["ingest"].append(seconds)
        seconds, created = snapshot_only(now + timedelta(seconds=2))
        assert created == count * meters
        out["snapshot"].append(seconds)
    out["stored"] = [Reading.objects.count()]
    return out


def purge(org_id: int) -> None:
    """Delete every row of the bench's organization, table by table (``organization.delete()``
    meets PROTECTed foreign keys): each table with an ``organization_id`` column, retried
    until the foreign keys between them allow it, then the organization."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name FROM information_schema.columns c "
            "JOIN information_schema.tables t USING (table_schema, table_name) "
            "WHERE c.column_name = 'organization_id' AND c.table_schema = 'public' "
            "AND t.table_type = 'BASE TABLE' AND c.table_name NOT LIKE %s",
            ["readings_reading_p%"],  # partitions: deleted through their parent
        )
        left = [name for (name,) in cursor.fetchall()]
        for _ in range(len(left) + 1):
            failed = []
            for table in left:
                try:
                    with transaction.atomic():
                        cursor.execute(
                            f'DELETE FROM "{table}" WHERE organization_id = %s',  # noqa: S608
                            [org_id],
                        )
                except IntegrityError:
                    failed.append(table)
            if not failed:
                break
            left = failed
        cursor.execute("DELETE FROM core_organization WHERE id = %s", [org_id])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="4 gateways × 25 meters")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--bus-ms", type=float, default=0,
        help="each simulated gateway answers this many ms after a request, as a gateway "
        "with meters on an RS-485 bus does (0, the default: at once)",
    )
    parser.add_argument(
        "--rollback", action="store_true",
        help="run everything in one transaction rolled back at the end (commits are savepoints)",
    )
    args = parser.parse_args()
    count, meters = (4, 25) if args.small else (20, 100)

    queue: multiprocessing.Queue = multiprocessing.Queue()
    child = multiprocessing.Process(
        target=serve, args=(count, meters, queue, args.bus_ms), daemon=True
    )
    child.start()
    ports = queue.get(timeout=30)
    org = Organization.objects.create(name="Bench poll (bench/poll.py)")
    try:
        with organization_context(org):
            if args.rollback:
                with transaction.atomic():
                    out = measure(ports, count, meters, args.runs)
                    transaction.set_rollback(True)
            else:
                out = measure(ports, count, meters, args.runs)
    finally:
        purge(org.pk)
        child.terminate()
    cycles, rates, baselines, wires, ingests, snapshots, tights = (
        out[k] for k in ("cycles", "rates", "bare", "wire", "ingest", "snapshot", "tight")
    )
    stored = out["stored"][0]
    cycle, rate, baseline, wire, ingest, snapshot, tight = (
        statistics.median(x)
        for x in (cycles, rates, baselines, wires, ingests, snapshots, tights)
    )
    print(f"gateways={count} meters_per_gateway={meters} runs={args.runs} "
          f"readings_stored={stored} cycles_s={[round(c, 3) for c in cycles]} "
          f"bare_s={[round(count * meters / b, 3) for b in baselines]} "
          f"ingest_only_s={[round(i, 3) for i in ingests]} "
          f"snapshot_only_s={[round(i, 3) for i in snapshots]}")
    print(
        f"BENCH poll cycle_s={cycle:.3f} requests_per_s={rate:.0f} "
        f"bare_requests_per_s={baseline:.0f} ratio={rate / baseline:.2f} "
        f"poller_only_requests_per_s={wire:.0f} poller_only_ratio={wire / baseline:.2f} "
        f"ingest_only_s={ingest:.3f} snapshot_only_s={snapshot:.3f} "
        f"tight_loop_requests_per_s={tight:.0f} tight_loop_ratio={rate / tight:.2f} "
        f"bare_s={count * meters / baseline:.3f} "
        f"meters={count * meters} runs={args.runs} bus_ms={args.bus_ms:g}"
    )


if __name__ == "__main__":
    main()
