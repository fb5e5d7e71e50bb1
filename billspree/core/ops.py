"""What operators watch: the platform's moving parts, across organizations.

Two audiences. A load balancer or ``docker compose`` asks ``/healthz/`` whether this web
process can serve: the database and the broker, nothing slower (it is asked every few
seconds). Staff open ``/ops/status/`` to see everything: those two, the Celery workers
(asked over the broker), beat (its last dispatch), unapplied migrations, and what each app
contributes from an ``ops.py`` with ``checks() -> list[Check]`` (gateways offline, bill
runs stalled, statements failed...). Discovery, as for the dashboard, keeps the core free
of imports of the apps above it.

Checks never raise: a broken component is a red check with its error, not a 500 on the
page meant to show that it is broken.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import DatabaseError, connection
from django.db.models import Max
from django.utils import timezone

from billspree.core.discovery import app_modules

#: Beat dispatches ``bill-runs-sweep`` every minute, but the database scheduler saves
#: ``last_run_at`` only when it syncs (every 3 minutes, Celery's ``sync_every``), so the
#: stored time ages up to ~4 minutes while all is well. Silence beyond this: beat is down.
BEAT_SILENCE = timedelta(minutes=7)
WORKER_PING_S = 1.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: a warning, or nothing to tell (amber)
    detail: str
    #: ``/healthz/`` answers 503 when a critical check fails.
    critical: bool = False


def _guard(name: str, check: Callable[[], Check], critical: bool = False) -> Check:
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - a status page reports, it does not crash
        return Check(name, False, f"{type(exc).__name__}: {exc}"[:300], critical)


def database() -> Check:
    def run() -> Check:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        ms = (time.perf_counter() - started) * 1000
        return Check("Database", True, f"PostgreSQL answered in {ms:.0f} ms", critical=True)

    try:
        return run()
    except DatabaseError as exc:
        return Check("Database", False, f"{exc}".strip()[:300], critical=True)


def broker() -> Check:
    from billspree.celery import app

    def run() -> Check:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)
            return Check("Broker", True, f"Connected to {conn.as_uri()}", critical=True)

    return _guard("Broker", run, critical=True)


def workers() -> Check:
    """Ask every worker over the broker; a broker that cannot broadcast (the filesystem
    broker of a development checkout) cannot tell."""
    from billspree.celery import app

    def run() -> Check:
        if app.conf.broker_url.startswith("filesystem"):
            return Check("Workers", None, "The filesystem broker cannot ask workers; see "
                                          "the worker's console.")
        answers = app.control.ping(timeout=WORKER_PING_S) or []
        names = sorted(name for answer in answers for name in answer)
        if not names:
            return Check("Workers", False, f"No worker answered within {WORKER_PING_S:g} s.")
        return Check("Workers", True, f"{len(names)} answering: {', '.join(names)}"[:300])

    return _guard("Workers", run)


def beat() -> Check:
    def run() -> Check:
        from django_celery_beat.models import PeriodicTask

        last = PeriodicTask.objects.filter(enabled=True).aggregate(last=Max("last_run_at"))["last"]
        if last is None:
            return Check("Beat", False, "Beat has not dispatched any task yet.")
        ago = timezone.now() - last
        seconds = int(ago.total_seconds())
        if ago > BEAT_SILENCE:
            return Check("Beat", False, f"Last dispatch {seconds} s ago: beat looks down.")
        return Check("Beat", True, f"Last dispatch {seconds} s ago")

    return _guard("Beat", run)


def migrations() -> Check:
    def run() -> Check:
        from django.db.migrations.executor import MigrationExecutor

        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
            return Check("Migrations", False, f"{len(plan)} not applied: {names}")
        return Check("Migrations", True, "All applied")

    return _guard("Migrations", run)


def liveness() -> list[Check]:
    """What ``/healthz/`` asks: cheap, and enough to say whether this process can serve."""
    return [database(), broker()]


def collect_checks() -> list[Check]:
    """Everything ``/ops/status/`` shows: the core's checks, then each app's."""
    checks = [*liveness(), workers(), beat(), migrations()]
    for module in app_modules("ops"):
        checks.extend(_app_checks(module))
    return checks


def _app_checks(module) -> list[Check]:
    """An app's checks; one that raises shows as a red check named after its module."""
    try:
        return list(module.checks())
    except Exception as exc:  # noqa: BLE001
        return [Check(module.__name__, False, f"{type(exc).__name__}: {exc}"[:300])]
