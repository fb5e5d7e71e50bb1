"""Benchmark ``dashboard``: the energy dashboard page's p95 under load (locust) against a
trivial page (``/healthz/``) measured in the same run, by the same users, on 127.0.0.1.

    .venv/bin/python bench/dashboard.py            # 2,000 meters
    .venv/bin/python bench/dashboard.py --small    # 200 meters, a shorter run

Data (set-based SQL, never a Python loop per row): a "Bench dashboard" organization
(Europe/Zurich) with 20 properties of 100 billing points (with areas), one meter each
(every 10th cold water), connected 25 months ago. The page reads only the consumption
rollups, never readings, so the year (and the year before it, for the comparison) of
15-minute data is built as the rollups those readings would give, exactly as
``bench/reports.py`` builds its rollups by SQL: each local day's quantity is its number of
quarter hours (92, 96 or 100: DST days count) × the meter's quarter-hour use, each month
the sum of its days (``days`` = how many). Each meter's reading state holds its latest
reading: 15 minutes ago, every 50th 30 h ago (amber), every 100th 100 h ago (red), so the
"not read" list has rows. No invoices: the cost query runs and finds none.

Timed: gunicorn (2 sync workers, as the Dockerfile serves) on 127.0.0.1 with the
environment of this process; locust (headless, ``--users`` users, each requesting the
dashboard and ``/healthz/`` in turn with 0.1–0.3 s between requests, logged in with a real
session cookie) for ``--seconds``; every response time is kept and the p95 computed
exactly (not locust's rounded buckets). A non-200 answer fails the run.

``--keep`` leaves the data, ``--reuse`` then skips rebuilding the days and months when
they are complete for today (the reading states are always rebuilt: they are relative to
now). ``--cache-seconds N`` serves with ``DASHBOARD_CACHE_SECONDS=N`` (0: the dashboard's
cache off; ``cache_s`` in the line says which).

Last line: ``BENCH dashboard meters=… dashboard_p95_ms=… baseline_p95_ms=… …``.
``dashboard_p95_ms(small=…)`` runs the same and returns the p95 (for ``bench/reports.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import readings_setup as b  # noqa: F401  (Django set-up)
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from billspree.core.middleware import SESSION_KEY
from billspree.core.models import Membership, Organization, Role
from billspree.core.scoping import organization_context
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from monitoring.selectors.dashboard import add_months

ORG_NAME = "Bench dashboard (bench/dashboard.py)"
EMAIL = "bench-dashboard@example.test"
ZONE = "Europe/Zurich"
MONTHS_BACK = 24
ROOT = Path(__file__).resolve().parents[1]
LOCUSTFILE = Path(__file__).with_name("dashboard_locust.py")


def setup(org: Organization, count: int) -> list[int]:
    """``count`` meters on their own billing points over 20 properties (made once)."""
    ids = list(Meter.objects.filter(serial_number__startswith="DSH-")
               .order_by("serial_number").values_list("id", flat=True))
    if len(ids) >= count:
        return ids[:count]
    props = [Property.objects.get_or_create(name=f"Bench house {n:02d}",
                                            defaults={"time_zone": ZONE})[0] for n in range(20)]
    serials = [f"DSH-{n:05d}" for n in range(len(ids), count)]
    points = BillingPoint.objects.bulk_create([
        BillingPoint(organization=org, property=props[n % 20], connection_id=s, name=f"Unit {s}",
                     area_m2=None if n % 9 == 0 else 40 + n % 80)
        for n, s in enumerate(serials, len(ids))])
    meters = Meter.objects.bulk_create([
        Meter(organization=org, serial_number=s, register_digits=9,
              type=MeterType.COLD_WATER if n % 10 == 0 else MeterType.ELECTRICITY,
              unit="m³" if n % 10 == 0 else "kWh") for n, s in enumerate(serials, len(ids))])
    first = add_months(timezone.localdate(timezone=org.time_zone).replace(day=1), -MONTHS_BACK)
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamp AT TIME ZONE %s", [first, ZONE])
        start = cursor.fetchone()[0]
    MeterAssignment.objects.bulk_create([
        MeterAssignment(organization=org, meter=m, billing_point=p, connected_at=start)
        for m, p in zip(meters, points, strict=True)])
    return setup(org, count)


#: A local day's quantity from 15-minute data: quarter hours in the day × the n-th meter's
#: use per quarter hour ((1 + n mod 7) / 16, with a weekly ripple).
_DAYS = """
INSERT INTO readings_dailyconsumption (organization_id, meter_id, day, quantity)
SELECT %(org)s, m.id, d.day::date,
       round(extract(epoch FROM ((d.day + interval '1 day')::timestamp AT TIME ZONE %(zone)s)
             - (d.day::timestamp AT TIME ZONE %(zone)s)) / 900
             * (1 + m.n %% 7) / 16.0 * (1 + extract(isodow FROM d.day) / 20.0), 4)
FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS m(id, n)
CROSS JOIN generate_series(%(first)s::timestamp, %(last)s::timestamp, interval '1 day') AS d(day)
"""
_MONTHS = """
INSERT INTO readings_monthlyconsumption (organization_id, meter_id, month, quantity, days)
SELECT %(org)s, meter_id, date_trunc('month', day)::date, sum(quantity), count(*)
FROM readings_dailyconsumption WHERE meter_id = ANY(%(ids)s) GROUP BY 2, 3
"""
_STATES = """
INSERT INTO readings_meterreadingstate (organization_id, meter_id, last_read_at, last_value,
                                        last_total, window_days, window_use, updated_at)
SELECT %(org)s, m.id, %(now)s - CASE WHEN m.n %% 100 = 0 THEN interval '100 hours'
                                     WHEN m.n %% 50 = 0 THEN interval '30 hours'
                                     ELSE interval '15 minutes' END, 0, 0, 0, 0, now()
FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS m(id, n)
"""


def build(org: Organization, ids: list[int], *, reuse: bool = False) -> None:
    today = timezone.localdate(timezone=org.time_zone)
    params = {"org": org.pk, "ids": ids, "zone": ZONE, "now": timezone.now(),
              "first": add_months(today.replace(day=1), -MONTHS_BACK),
              "last": today - timedelta(days=1)}  # complete days only
    steps = (("days", _DAYS), ("months", _MONTHS), ("states", _STATES))
    if reuse and _built(ids, params):
        print("reusing the days and months of an earlier --keep run")
        steps = steps[2:]
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM readings_meterreadingstate WHERE meter_id = ANY(%s)",
                           [ids])
    else:
        cleanup(ids)
    with connection.cursor() as cursor:
        for name, sql in steps:
            began = time.perf_counter()
            with transaction.atomic():
                cursor.execute("SET LOCAL jit = off")
                cursor.execute(sql, params)
            print(f"built {name}: {cursor.rowcount:,} rows in {time.perf_counter() - began:.1f} s")
        for table in ("meters_meter", "meters_meterassignment", "meters_billingpoint",
                      "readings_dailyconsumption", "readings_monthlyconsumption",
                      "readings_meterreadingstate"):
            cursor.execute(f"ANALYZE {table}")  # as autovacuum would have


def _built(ids: list[int], params: dict) -> bool:
    """The days (up to yesterday) and months of every meter are there from a --keep run."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT meter_id), min(day), max(day) "
                       "FROM readings_dailyconsumption WHERE meter_id = ANY(%s)", [ids])
        meters, first, last = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM readings_monthlyconsumption "
                       "WHERE meter_id = ANY(%s)", [ids])
        months = cursor.fetchone()[0]
    return (meters == len(ids) and first == params["first"] and last == params["last"]
            and months == len(ids) * (MONTHS_BACK + 1))


def cleanup(ids: list[int]) -> None:
    with connection.cursor() as cursor:
        for table in ("dailyconsumption", "monthlyconsumption", "meterreadingstate"):
            cursor.execute(f"DELETE FROM readings_{table} WHERE meter_id = ANY(%s)",  # noqa: S608
                           [ids])


def session_cookie(org: Organization) -> str:
    """A logged-in session of the organization's manager (the cookie locust sends)."""
    user = get_user_model().objects.filter(email=EMAIL).first() or \
        get_user_model().objects.create_user(EMAIL, "bench-not-a-secret")
    Membership.objects.get_or_create(organization=org, user=user,
                                     defaults={"role": Role.MANAGER})
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = str(org.public_id)
    session.save()
    return session.session_key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, server: subprocess.Popen) -> None:
    for _ in range(200):
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def _warm(port: int, cookie: str) -> None:
    """Both workers booted and each page answered once (not timed)."""
    opener = urllib.request.build_opener()
    opener.addheaders = [("Cookie", f"sessionid={cookie}")]
    for path in ("/healthz/", "/monitoring/") * 4:
        with opener.open(f"http://127.0.0.1:{port}{path}", timeout=120) as answer:
            assert answer.status == 200 and answer.url.endswith(path), (path, answer.url)


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank) of response times in ms."""
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def load(cookie: str, *, users: int, seconds: int,
         cache_seconds: int | None = None) -> dict[str, list[float]]:
    """Serve on 127.0.0.1 with gunicorn, run locust against it; response times by page."""
    port = _free_port()
    python = Path(sys.executable)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "billspree.settings"}
    if cache_seconds is not None:
        env["DASHBOARD_CACHE_SECONDS"] = str(cache_seconds)
    # served as in production: hashed static names from the manifest (as the Dockerfile)
    subprocess.run([str(python), "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT,
                   env=env, check=True)
    server = subprocess.Popen(
        [str(python.with_name("gunicorn")), "billspree.wsgi:application", "-w", "2",
         "-b", f"127.0.0.1:{port}", "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        _wait(port, server)
        _warm(port, cookie)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "times.json"
            subprocess.run(
                [str(python.with_name("locust")), "-f", str(LOCUSTFILE), "--headless",
                 "--only-summary", "-u", str(users), "-r", str(users), "-t", f"{seconds}s",
                 "--host", f"http://127.0.0.1:{port}", "--loglevel", "WARNING"],
                cwd=ROOT, check=True,
                env={**env, "BENCH_SESSION": cookie, "BENCH_TIMES": str(out)})
            return json.loads(out.read_text())
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(*, small: bool, users: int = 4, seconds: int | None = None,
        keep: bool = False, reuse: bool = False,
        cache_seconds: int | None = None) -> dict[str, float]:
    count = 200 if small else 2000
    seconds = seconds or (15 if small else 40)
    org = Organization.objects.filter(name=ORG_NAME).first() or Organization.objects.create(
        name=ORG_NAME, time_zone=ZONE)
    with organization_context(org):
        ids = setup(org, count)
        build(org, ids, reuse=reuse)
        cookie = session_cookie(org)
        try:
            times = load(cookie, users=users, seconds=seconds, cache_seconds=cache_seconds)
        finally:
            if not keep:
                cleanup(ids)
    if times["failures"] or not times["dashboard"]:
        raise RuntimeError(f"failed requests: {times['failures'][:5]}")
    if cache_seconds is None:
        from django.conf import settings
        cache_seconds = settings.DASHBOARD_CACHE_SECONDS
    return {"meters": count, "users": users, "seconds": seconds, "cache_s": cache_seconds,
            "dashboard_p95_ms": p95(times["dashboard"]), "baseline_p95_ms": p95(times["healthz"]),
            "dashboard_n": len(times["dashboard"]), "baseline_n": len(times["healthz"]),
            "dashboard_median_ms": b.median(times["dashboard"])}


def dashboard_p95_ms(*, small: bool) -> float:
    """The dashboard page's p95 in ms (data built, measured, cleaned up): for bench/reports."""
    return run(small=small)["dashboard_p95_ms"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="200 meters, 15 s")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="leave the data for another run")
    parser.add_argument("--reuse", action="store_true",
                        help="use the days and months a --keep run left if they are complete")
    parser.add_argument("--cache-seconds", type=int, default=None,
                        help="DASHBOARD_CACHE_SECONDS for the server (0: no cache; default: "
                             "the setting's)")
    args = parser.parse_args()
    r = run(small=args.small, users=args.users, seconds=args.seconds, keep=args.keep,
            reuse=args.reuse, cache_seconds=args.cache_seconds)
    print(f"BENCH dashboard meters={r['meters']} dashboard_p95_ms={r['dashboard_p95_ms']:.1f} "
          f"baseline_p95_ms={r['baseline_p95_ms']:.1f} "
          f"dashboard_median_ms={r['dashboard_median_ms']:.1f} users={r['users']} "
          f"seconds={r['seconds']} requests={r['dashboard_n']}+{r['baseline_n']} "
          f"cache_s={r['cache_s']} target_ms=150")


if __name__ == "__main__":
    main()
