"""One conversation with a gateway at a time across processes (the wire lock, a real
PostgreSQL advisory lock held from a second connection), and polls that fail half-way
(a real database error) or whose worker died (a run left "running")."""

from __future__ import annotations

import threading
import time

import psycopg2
import pytest
from django.db import connection

from gateways import services
from gateways.models import PollRun
from gateways.services.wire_lock import LOCK_SPACE, GatewayBusy
from readings.models import Reading
from tests.gateways.helpers import T0, make_gateway, map_default_layout, readings_of, slot


class OtherProcess:
    """A second database session, as another worker or the web process would have."""

    def __init__(self):
        s = connection.settings_dict
        self.conn = psycopg2.connect(
            dbname=s["NAME"], user=s["USER"], host=s["HOST"] or None,
            port=s["PORT"] or None, password=s["PASSWORD"] or None,
        )
        self.conn.autocommit = True

    def execute(self, sql: str, params: list) -> list[tuple]:
        with self.conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.conn.close()


other_process = OtherProcess


@pytest.fixture
def gateway(in_org_a, sim):
    gateway = make_gateway(sim)
    map_default_layout(gateway, 3)
    return gateway


def test_a_gateway_busy_in_another_process_is_not_polled_at_the_same_time(gateway, sim):
    with other_process() as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_SPACE, gateway.pk])
        requests = sim.store.requests
        with pytest.raises(GatewayBusy, match="busy"):
            services.gateway_poll(gateway=gateway, now=T0, wait_s=0.2)
        # the batch form leaves it out; its own scheduled task polls it
        assert services.gateways_poll(gateways=[gateway], now=T0, wait_s=0.1) == []
        assert sim.store.requests == requests  # nothing was sent
        assert not PollRun.objects.exists() and not Reading.objects.exists()
        gateway.refresh_from_db()
        assert gateway.last_slot is None  # the slot is still free for the retry

        # released while we wait: the poll goes ahead
        threading.Timer(0.3, lambda: other.execute(
            "SELECT pg_advisory_unlock(%s, %s)", [LOCK_SPACE, gateway.pk])).start()
        started = time.monotonic()
        run = services.gateway_poll(gateway=gateway, now=T0, wait_s=10)
        assert run.status == PollRun.Status.OK and time.monotonic() - started >= 0.25

        # and our lock is released after the poll: the other process can take it at once
        (taken,), = other.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", [LOCK_SPACE, gateway.pk])
        assert taken


def test_a_run_left_running_by_a_dead_worker_is_closed_by_the_next_poll(gateway):
    left = PollRun.objects.create(gateway=gateway, slot=T0, started_at=T0)
    run = services.gateway_poll(gateway=gateway, now=slot(1))
    assert run.status == PollRun.Status.OK
    left.refresh_from_db()
    assert left.status == PollRun.Status.FAILED and left.finished_at == slot(1)
    assert left.summary.startswith("Interrupted")


def test_a_poll_that_fails_half_way_says_so_on_its_run(gateway):
    """A real database error while storing (a trigger refuses new readings): the
    run ends failed with the reason, nothing half-written stays, the lock is released
    and the next slot polls normally."""
    maps = list(gateway.register_maps.all())
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_refuse() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'disk full (test)'; END $$ LANGUAGE plpgsql; "
            "CREATE TRIGGER test_refuse BEFORE INSERT ON readings_reading "
            "FOR EACH ROW EXECUTE FUNCTION test_refuse()"
        )
    with pytest.raises(Exception, match="disk full"):
        services.gateway_poll(gateway=gateway, now=T0)
    run = PollRun.objects.get()
    assert run.status == PollRun.Status.FAILED and "disk full" in run.summary
    assert run.finished_at is not None
    assert all(readings_of(m) == [] for m in maps)
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_refuse ON readings_reading")
    assert services.gateway_poll(gateway=gateway, now=T0) is None  # this slot was polled
    run = services.gateway_poll(gateway=gateway, now=slot(1), wait_s=0.5)  # lock released
    assert run.status == PollRun.Status.OK
    assert all(len(readings_of(m)) == 1 for m in maps)
