"""Two database connections assigning the same meter at once: one wins, the other 409s."""

from __future__ import annotations

import json
import threading
import time
from datetime import date

import pytest
from django.db import connection, connections, transaction

from billspree.core.errors import Conflict
from billspree.core.scoping import organization_context
from meters import services
from meters.models import MeterAssignment, MeterType
from tests.conftest import api_client
from tests.meters.factories import make_registry

pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(fn, results, key):
    def run():
        try:
            results[key] = fn()
        except Exception as exc:  # noqa: BLE001 - the result is asserted by the test
            results[key] = exc
        finally:
            connections.close_all()

    return threading.Thread(target=run)


def test_two_concurrent_api_assignments_one_wins(transactional_db, world_a):
    with organization_context(world_a.org):
        prop, bp, meters = make_registry()
        other = services.billing_point_create(property=prop, connection_id="SHOP-2", name="Shop 2")
    meter = meters[MeterType.ELECTRICITY]
    start = threading.Barrier(2)
    results: dict[str, object] = {}

    def assign(connection_id):
        def call():
            client = api_client(key=world_a.write_key)
            start.wait()
            return client.post(
                "/api/v1/meter-assignments/",
                data=json.dumps(
                    {
                        "connectionID": connection_id,
                        "meterNumber": meter.serial_number,
                        "connectionDate": "2026-03-01",
                        "status": "active",
                    }
                ),
                content_type="application/json",
            )

        return call

    threads = [
        _in_thread(assign(bp.connection_id), results, "a"),
        _in_thread(assign(other.connection_id), results, "b"),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    codes = sorted(r.status_code for r in results.values())
    assert codes == [201, 409], results
    loser = next(r for r in results.values() if r.status_code == 409)
    winner = next(r for r in results.values() if r.status_code == 201)
    assert winner.json()["connectionID"] in loser.json()["error"]["message"]
    with organization_context(world_a.org):
        assert MeterAssignment.objects.filter(meter=meter).count() == 1


def _waiting_for_lock(pid: int) -> bool:
    with connection.cursor() as cur:
        cur.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cur.fetchone()
    return bool(row) and row[0] == "Lock"


def test_constraint_refusal_is_mapped_to_conflict(transactional_db, world_a):
    """Force the race the Python check cannot see: the first transaction has inserted but not
    committed when the second checks; the unique index blocks the second until the first
    commits, and its IntegrityError becomes the same Conflict naming the billing point."""
    with organization_context(world_a.org):
        prop, bp, meters = make_registry()
        other = services.billing_point_create(property=prop, connection_id="SHOP-2", name="Shop 2")
    meter = meters[MeterType.GAS]
    first_inserted, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}
    pids: dict[str, int] = {}

    def first():
        with organization_context(world_a.org), transaction.atomic():
            a = services.meter_assign(billing_point=bp, meter=meter, connected_at=date(2026, 1, 1))
            first_inserted.set()
            release.wait(20)
            return a

    def second():
        first_inserted.wait(20)
        pids["second"] = connections["default"].cursor().connection.info.backend_pid
        with organization_context(world_a.org):
            return services.meter_assign(
                billing_point=other, meter=meter, connected_at=date(2026, 2, 1)
            )

    t1, t2 = _in_thread(first, results, "first"), _in_thread(second, results, "second")
    t1.start()
    t2.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (
        "second" in pids and _waiting_for_lock(pids["second"])
    ):
        time.sleep(0.05)
    assert _waiting_for_lock(pids["second"]), "the second insert should wait on the index"
    release.set()
    t1.join(30)
    t2.join(30)
    assert isinstance(results["first"], MeterAssignment)
    assert isinstance(results["second"], Conflict), results["second"]
    assert "Flat 1" in results["second"].message
    with organization_context(world_a.org):
        assert MeterAssignment.objects.filter(meter=meter).count() == 1
