"""The wire on its own thread, recorded batch by batch (against a real pymodbus server)."""

from __future__ import annotations

import socket

import pytest

from gateways import poller, services
from gateways.models import GatewayError, Health, PollRun
from gateways.services import plans, polling
from gateways.simulator import SimulatedGateway, SimulatorThread, default_layout, make_meters
from readings.models import Reading, Upload
from tests.gateways.helpers import T0, make_gateway, map_default_layout, readings_of, slot


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _target_of(gateway) -> poller.Target:
    return plans.target_of(gateway, plans.maps_of([gateway.pk]))


def test_stream_hands_over_every_item_in_batches_then_the_results(in_org_a, sim):
    gateway = make_gateway(sim)
    maps = map_default_layout(gateway)
    stream = poller.PollStream([_target_of(gateway)])
    batches = list(stream.batches(min_items=3))
    assert batches and stream.expected == 7
    due = 7
    for batch in batches[:-1]:  # at least 3, or half of what is still due near the end
        assert len(batch) >= min(3, (due + 1) // 2)
        due -= len(batch)
    items = [entry for batch in batches for entry in batch]
    assert sorted(ref for _, ref, _ in items) == sorted(m.pk for m in maps)
    assert all(g == gateway.pk and r.registers and r.failure is None for g, _, r in items)
    (result,) = stream.results
    assert result.ref == gateway.pk and result.requests == 7 and result.any_success


def test_stream_of_a_dead_gateway_ends_with_failed_items(in_org_a, sim):
    gateway = make_gateway(None, port=_free_port(), timeout_ms=200, retries=0)
    map_default_layout(gateway, 2)
    stream = poller.PollStream([_target_of(gateway)])
    items = [entry for batch in stream.batches() for entry in batch]
    # the first device finds the gateway refusing; the second is not asked (same socket)
    assert [r.failure.kind for *_, r in items] == ["connection", poller.SKIPPED]
    assert items[0][2].failure.message.startswith("Cannot connect")
    assert not stream.results[0].any_success
    assert stream.results[0].gave_up.message.startswith("Cannot connect")


def test_poller_errors_are_raised_in_the_calling_thread():
    bad = poller.Target(ref=1, host="127.0.0.1", port=1, items=(None,))  # not an Item
    stream = poller.PollStream([bad])
    with pytest.raises(AttributeError):
        list(stream.batches())


def test_cycle_stored_in_several_batches_is_one_upload_one_reading_per_meter(
    in_org_a, sim, monkeypatch
):
    monkeypatch.setattr(polling, "INGEST_BATCH", 2)
    gateway = make_gateway(sim)
    maps = map_default_layout(gateway)
    sim.store.stall_s = 0.04  # values come one by one, as from a slow bus
    calls = []
    from readings.services import ingestion as reading_services  # the module that calls it

    real = reading_services.reading_ingest

    def counting(**kwargs):
        calls.append(len(kwargs["rows"]))
        return real(**kwargs)

    monkeypatch.setattr(reading_services, "reading_ingest", counting)
    run = services.gateway_poll(gateway=gateway, now=T0)
    assert run.status == PollRun.Status.OK, run.summary
    assert run.meters_ok == 7 and run.readings_stored == 7 and run.requests == 7
    assert len(calls) > 1 and sum(calls) == 7  # stored while the wire was busy
    upload = Upload.objects.get(source="gateway")
    assert (upload.status, upload.rows_total, upload.created_count) == ("done", 7, 7)
    assert all(len(readings_of(m)) == 1 for m in maps)
    sim.store.stall_s = 0
    assert services.gateway_poll(gateway=gateway, now=T0) is None  # same slot: nothing
    assert Reading.objects.count() == 7
    for m in maps:
        m.refresh_from_db()
        assert m.success_count == 1 and m.last_value is not None and m.last_poll_at == T0


def test_one_cycle_of_many_gateways_health_per_gateway(in_org_a, sim):
    second = SimulatorThread(SimulatedGateway(make_meters(default_layout(3), spread=False)))
    with second:
        good = make_gateway(sim, name="Good")
        other = make_gateway(second, name="Other")
        dead = make_gateway(None, name="Dead", port=_free_port(), timeout_ms=200, retries=0)
        empty = make_gateway(sim, name="Empty")  # nothing mapped: a connect check only
        map_default_layout(good, 4)
        map_default_layout(other, 3)
        map_default_layout(dead, 2)
        runs = services.gateways_poll(gateways=[good, other, dead, empty], now=T0)
    status = {r.gateway_id: (r.status, r.meters_ok, r.readings_stored) for r in runs}
    assert status == {
        good.pk: ("ok", 4, 4),
        other.pk: ("ok", 3, 3),
        dead.pk: ("failed", 0, 0),
        empty.pk: ("ok", 0, 0),
    }
    assert Reading.objects.count() == 7 and Upload.objects.filter(source="gateway").count() == 1
    for g in (good, other, dead, empty):
        g.refresh_from_db()
    assert good.health(now=T0) == Health.ONLINE and good.last_latency_ms is not None
    assert (good.success_count, good.error_count, good.consecutive_failures) == (1, 0, 0)
    assert empty.last_success_at == T0 and empty.consecutive_failures == 0
    assert dead.last_success_at is None and dead.consecutive_failures == 1
    # the gateway's last error is the root cause, not the meter left unasked after it
    assert dead.error_count == 2 and dead.last_error.startswith("Cannot connect")
    assert GatewayError.objects.filter(gateway=dead, kind="connection").count() == 2
    runs = services.gateways_poll(gateways=[good, dead], now=slot(1))
    dead.refresh_from_db()
    assert dead.consecutive_failures == 2 and dead.error_count == 4
    assert [r.gateway_id for r in runs] == [good.pk, dead.pk]


def test_stop_leaves_the_remaining_requests_unsent(in_org_a, sim):
    gateway = make_gateway(sim, timeout_ms=1000)
    map_default_layout(gateway)
    sim.store.stall_s = 0.2  # 7 requests: 1.4 s if left to run
    before = sim.store.requests
    stream = poller.PollStream([_target_of(gateway)])
    next(stream.batches())
    stream.stop(wait=2)
    assert not stream._thread.is_alive()
    assert sim.store.requests - before < 4


def test_a_failure_while_recording_stops_the_wire_and_is_raised(in_org_a, sim, monkeypatch):
    from gateways.services import recording

    gateway = make_gateway(sim, timeout_ms=1000)
    map_default_layout(gateway)
    sim.store.stall_s = 0.2
    monkeypatch.setattr(polling, "INGEST_BATCH", 1)

    def broken(self, batch):
        raise RuntimeError("database went away")

    monkeypatch.setattr(recording.Cycle, "store", broken)
    before = sim.store.requests
    with pytest.raises(RuntimeError, match="went away"):
        services.gateway_poll(gateway=gateway, now=T0)
    assert sim.store.requests - before < 4
    assert Reading.objects.count() == 0
    assert services.gateway_poll(gateway=gateway, now=T0) is None  # the slot stays claimed


def test_stream_wakes_the_caller_once_per_batch_not_per_request(in_org_a, sim):
    gateway = make_gateway(sim)
    map_default_layout(gateway)
    stream = poller.PollStream([_target_of(gateway)])
    batches = list(stream.batches(min_items=500))  # more than the poll has: one batch
    assert [len(b) for b in batches] == [7] and stream.results[0].requests == 7
