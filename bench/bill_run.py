"""Benchmark: a bill run of 10,000 billing points × 3 meters (electricity, cold water, gas;
monthly register readings), a tariff with a standing charge, tiers and VAT, through the real
services: ``bill_run_start`` → one ``bill_run_chunk`` task per 200 subscriptions →
``bill_run_process_chunk`` (claim, engine, drafts + billed periods + lines written
set-based, items, one audit row per chunk) → the run settled for review.

* ``local``: the chunk tasks run in this process one after the other (Celery eager mode:
  the same task → service path a worker takes, without the broker);
* ``workers``: 2 real ``celery worker`` processes (``--pool=solo``) against Redis
  (``REDIS_URL``), timed from the start to the run's settling (skipped without Redis or with
  ``--no-workers``);
* baseline, in the same run: ``invoice_create_draft`` one subscription at a time for a
  sample of 200 subscriptions (the engine and the writes for one invoice per call).

Everything lives in its own organization ("Bench bill runs …"), set up once with bulk
INSERTs and COPY and reused; between runs the drafts and run rows are deleted. The bench
bills January 2003 (readings on 1 Dec 2002, 1 Jan and 1 Feb 2003, Europe/Berlin).

    .venv/bin/python bench/bill_run.py --small     # 1,000 billing points
    .venv/bin/python bench/bill_run.py             # 10,000 billing points
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "billspree.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from billing import services  # noqa: E402
from billing.models import BillingBatch, BillRun, Subscription  # noqa: E402
from billing.services import runs  # noqa: E402
from billspree.celery import app  # noqa: E402
from billspree.core.models import Organization  # noqa: E402
from billspree.core.scoping import organization_context  # noqa: E402
from meters import services as meter_services  # noqa: E402
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType  # noqa: E402
from readings.ingest_sql import COPY_COLUMNS  # noqa: E402
from readings.partitions import partitions_ensure  # noqa: E402
from tariffs import services as tariff_services  # noqa: E402
from tenants.models import Occupancy, Ownership, Tenant  # noqa: E402

ORG_NAME = "Bench bill runs (bench/bill_run.py)"
BERLIN = ZoneInfo("Europe/Berlin")
JAN, FEB = date(2003, 1, 1), date(2003, 2, 1)
SINCE = datetime(2002, 6, 1, tzinfo=BERLIN)
READ_DAYS = [date(2002, 12, 1), JAN, FEB]
PER_PROPERTY = 1000
TYPES = [(MeterType.ELECTRICITY, "kWh"), (MeterType.COLD_WATER, "m³"), (MeterType.GAS, "m³")]
TIERS = [{"up_to": "100", "price": "0.20"}, {"up_to": "300", "price": "0.25"},
         {"up_to": None, "price": "0.30"}]


def log(msg: str) -> None:
    print(msg, flush=True)


# --- set-up -------------------------------------------------------------------------------


def _plan(name: str):
    rate_list = tariff_services.rate_list_create(name=f"{name} utilities", currency="EUR",
                                                 effective_from=date(2002, 1, 1))
    version = rate_list.versions.get()
    rule = tariff_services.charge_rule_create
    rule(version=version, name="Standing charge", kind="standing", price=Decimal("9.90"),
         per="month", tax_rate=Decimal("19"))
    rule(version=version, name="Electricity", kind="tiered", meter_type=MeterType.ELECTRICITY,
         tiers=TIERS, tax_rate=Decimal("19"))
    rule(version=version, name="Water", kind="flat", meter_type=MeterType.COLD_WATER,
         price=Decimal("2.10"), tax_rate=Decimal("7"))
    rule(version=version, name="Gas", kind="tiered", meter_type=MeterType.GAS,
         tiers=[{"up_to": "50", "price": "1.10"}, {"up_to": None, "price": "0.95"}],
         tax_rate=Decimal("19"))
    return tariff_services.plan_save(name=f"{name} plan", rate_lists=[rate_list])


def _readings(org: Organization, meters: list[Meter]) -> None:
    partitions_ensure([(2002, 11), (2002, 12), (2003, 1), (2003, 2)])
    created = datetime.now(UTC).isoformat()
    buf = StringIO()
    for n, m in enumerate(meters):
        use = 40 + (n * 37) % 400  # a different monthly use per meter
        for k, day in enumerate(READ_DAYS):
            at = datetime.combine(day, datetime.min.time(), tzinfo=BERLIN).isoformat()
            value = 1000 + k * use
            buf.write(f"{org.pk}\t{m.pk}\t{at}\t{value}\t{value}\tapi\tactual\t\tf\t{created}\n")
    buf.seek(0)
    with connection.cursor() as cur:
        cur.copy_expert(f"COPY readings_reading ({COPY_COLUMNS}) FROM STDIN "
                        "WITH (FORMAT text, NULL '')", buf)


def setup(points: int) -> tuple[Organization, BillingBatch]:
    """The bench organization with ``points`` billing points (created once, reused)."""
    org = Organization.objects.filter(name=ORG_NAME).first() or Organization.objects.create(
        name=ORG_NAME)
    name = f"Bench {points}"
    with organization_context(org):
        batch = BillingBatch.objects.filter(name=name).first()
        if batch is not None:
            return org, batch
        began = time.perf_counter()
        with transaction.atomic():
            batch = _populate(org, name, points)
        log(f"set-up: {points} billing points × 3 meters, 3 readings each, "
            f"{time.perf_counter() - began:.1f}s")
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    return org, batch


def _populate(org, name: str, points: int) -> BillingBatch:
    plan = _plan(name)
    batch = services.batch_create(name=name, send_statements=False)
    for p in range(points // PER_PROPERTY):
        _property(org, batch, plan, f"{name} property {p + 1}")
    return batch


def _property(org, batch, plan, name: str) -> None:
    prop = meter_services.property_create(name=name, time_zone="Europe/Berlin",
                                          currency="EUR")
    owner = Tenant.objects.create(name=f"Owner of {name}", kind="company",
                                  customer_number=f"O{prop.pk}")
    Ownership.objects.create(owner=owner, property=prop)
    bps = BillingPoint.objects.bulk_create([
        BillingPoint(organization=org, property=prop, connection_id=f"{prop.pk}-{i:05d}",
                     name=f"Unit {i:05d}") for i in range(PER_PROPERTY)])
    meters = Meter.objects.bulk_create([
        Meter(organization=org, type=t, unit=u, serial_number=f"BR{prop.pk}-{t[:2]}-{i:05d}")
        for i in range(PER_PROPERTY) for t, u in TYPES])
    MeterAssignment.objects.bulk_create([
        MeterAssignment(organization=org, meter=m, billing_point=bps[n // 3], connected_at=SINCE,
                        initial_reading=Decimal(1000)) for n, m in enumerate(meters)])
    tenants = Tenant.objects.bulk_create([
        Tenant(organization=org, name=f"Tenant {prop.pk}-{i:05d}",
               customer_number=f"C{prop.pk}-{i:05d}", email=f"t{prop.pk}-{i}@bench.test")
        for i in range(PER_PROPERTY)])
    Occupancy.objects.bulk_create([
        Occupancy(organization=org, tenant=t, billing_point=bp, move_in=SINCE)
        for t, bp in zip(tenants, bps, strict=True)])
    Subscription.objects.bulk_create([
        Subscription(organization=org, billing_point=bp, plan=plan, start_date=SINCE.date(),
                     batch=batch) for bp in bps])
    _readings(org, meters)


def clean(org: Organization) -> None:
    """Delete the bench drafts and runs (drafts may be deleted; nothing here is issued)."""
    with connection.cursor() as cur:
        for sql in (
            "DELETE FROM billing_invoiceline WHERE organization_id = %s",
            "DELETE FROM billing_billedperiod WHERE organization_id = %s",
            "DELETE FROM billing_invoice WHERE organization_id = %s",
            "DELETE FROM billing_billrunitem WHERE organization_id = %s",
            "DELETE FROM billing_billrunchunk WHERE organization_id = %s",
            "DELETE FROM billing_billrun WHERE organization_id = %s",
            "DELETE FROM core_auditevent WHERE organization_id = %s",
        ):
            cur.execute(sql, [org.pk])


# --- measurements ---------------------------------------------------------------------------


def run_local(org, batch) -> tuple[float, int]:
    app.conf.task_always_eager = True
    with organization_context(org):
        began = time.perf_counter()
        run = runs.bill_run_start(batch=batch, period_start=JAN, period_end=FEB, trigger="api")
        seconds = time.perf_counter() - began
        run.refresh_from_db()
        assert run.status == "review", run.status
        count = run.invoices.count()
    return seconds, count


def _database_url() -> str:
    d = connection.settings_dict
    auth = d["USER"] + (f":{d['PASSWORD']}" if d["PASSWORD"] else "")
    return f"postgres://{auth}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{d['NAME']}"


def start_workers(n: int) -> list[subprocess.Popen]:
    env = {**os.environ, "DATABASE_URL": _database_url()}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "billspree", "worker", "--pool=solo",
         "-n", f"bench{i}@%h", "-l", "warning", "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True) for i in range(n)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1.0) or []) >= n:
            return procs
    raise RuntimeError("the workers did not answer")


def run_workers(org, batch) -> tuple[float, int]:
    app.conf.task_always_eager = False
    with organization_context(org):
        began = time.perf_counter()
        run = runs.bill_run_start(batch=batch, period_start=JAN, period_end=FEB, trigger="api")
        while BillRun.objects.get(pk=run.pk).status in runs.LIVE:
            time.sleep(0.05)
        seconds = time.perf_counter() - began
        run.refresh_from_db()
        assert run.status == "review", run.status
        return seconds, run.invoices.count()


def baseline(org, batch, sample: int) -> tuple[float, int]:
    with organization_context(org):
        subs = list(Subscription.objects.filter(batch=batch).select_related(
            "billing_point__property").order_by("pk")[:sample])
        began = time.perf_counter()
        made = 0
        for sub in subs:
            made += len(services.invoice_create_draft(subscriptions=[sub], start=JAN, end=FEB))
        return time.perf_counter() - began, made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", action="store_true", help="1,000 billing points")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=200, help="baseline subscriptions")
    parser.add_argument("--no-workers", action="store_true")
    args = parser.parse_args()
    points = 1000 if args.small else 10_000
    org, batch = setup(points)
    clean(org)
    local, base, workers = [], [], []
    invoices = 0
    for r in range(args.runs):
        seconds, made = baseline(org, batch, args.sample)
        base.append(made / seconds)
        clean(org)
        seconds, invoices = run_local(org, batch)
        local.append(invoices / seconds)
        clean(org)
        log(f"run {r + 1}: local {invoices} invoices in {seconds:.2f}s = {local[-1]:.0f}/s; "
            f"baseline {base[-1]:.1f}/s")
    if settings.REDIS_URL and not args.no_workers:
        app.control.purge()
        procs = start_workers(2)
        try:
            for r in range(args.runs):
                seconds, made = run_workers(org, batch)
                workers.append(made / seconds)
                clean(org)
                log(f"run {r + 1}: 2 workers {made} invoices in {seconds:.2f}s = "
                    f"{workers[-1]:.0f}/s")
        finally:
            for p in procs:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(30)
    per_s, base_s = statistics.median(local), statistics.median(base)
    extra = f" workers2_per_s={statistics.median(workers):.0f}" if workers else ""
    print(f"BENCH bill_run invoices={invoices} seconds={invoices / per_s:.2f} "
          f"invoices_per_s={per_s:.0f} baseline_per_s={base_s:.1f} "
          f"speedup={per_s / base_s:.1f} runs={args.runs} chunk={runs.chunk_size()}{extra}")


if __name__ == "__main__":
    main()
