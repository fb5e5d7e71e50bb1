"""Dead meters on a live bus, against a real pymodbus server on 127.0.0.1.

Many gateways send no exception for a device that does not answer: the request just
times out. A few such meters must not stop the rest of the bus, while a gateway that
stops answering is still given up after a few requests."""

from __future__ import annotations

import pytest

from gateways import services
from gateways.models import GatewayError, PollRun
from gateways.poller import ABORT_AFTER
from tests.gateways.helpers import T0, make_gateway, map_default_layout, readings_of, slot


@pytest.fixture
def bus(in_org_a, sim):
    gateway = make_gateway(sim, timeout_ms=150, retries=1)
    return gateway, map_default_layout(gateway, 7)


def _stored(maps) -> list[int]:
    return [m.device_id for m in maps if readings_of(m)]


def test_meters_that_went_silent_do_not_stop_the_rest_of_the_bus(bus, sim):
    gateway, maps = bus
    assert services.gateway_poll(gateway=gateway, now=T0).status == PollRun.Status.OK

    sim.store.silent = {1, 2, 3, 4, 5}  # five meters die at once
    run = services.gateway_poll(gateway=gateway, now=slot(1))
    # three in a row of meters that were answering: the gateway looks down, the rest waits
    assert run.status == PollRun.Status.FAILED and run.readings_stored == 0
    skipped = GatewayError.objects.filter(poll_run=run, message__contains="Skipped")
    assert skipped.count() == 7 - ABORT_AFTER
    for m in maps:
        m.refresh_from_db()
    # the skipped meters were not asked: their health did not change
    assert [m.consecutive_failures for m in maps] == [1, 1, 1, 0, 0, 0, 0]

    run = services.gateway_poll(gateway=gateway, now=slot(2))
    # the meters that answered last time are asked first: 4 and 5 fail, 6 answers, and
    # the gateway is alive; 1-3 (silent last time) are asked once each, at the end
    assert run.status == PollRun.Status.PARTIAL, run.summary
    assert run.readings_stored == 2
    assert [len(readings_of(m)) for m in maps] == [1, 1, 1, 1, 1, 2, 2]
    errors = GatewayError.objects.filter(poll_run=run).order_by("register_map__device_id")
    assert [(e.register_map.device_id, e.kind) for e in errors] == [
        (d, GatewayError.Kind.TIMEOUT) for d in (1, 2, 3, 4, 5)
    ]
    # 6 and 7 once, 4 and 5 with their retry, 1-3 without
    assert run.requests == 2 + 2 * 2 + 3
    gateway.refresh_from_db()
    assert gateway.consecutive_failures == 0  # it answered: not on its way to offline

    sim.store.silent = set()  # repaired: everything is read again at once
    run = services.gateway_poll(gateway=gateway, now=slot(3))
    assert run.status == PollRun.Status.OK and run.readings_stored == 7


def test_silent_meters_on_a_new_gateway_cost_one_poll(bus, sim):
    gateway, maps = bus
    sim.store.silent = {1, 2, 3}
    first = services.gateway_poll(gateway=gateway, now=T0)
    assert first.status == PollRun.Status.FAILED  # nothing known yet: 1-3 look like a dead bus
    second = services.gateway_poll(gateway=gateway, now=slot(1))
    assert second.status == PollRun.Status.PARTIAL, second.summary
    assert _stored(maps) == [4, 5, 6, 7]
    assert second.requests == 4 + 3  # the silent ones once each, last


def test_a_gateway_that_stops_answering_is_still_given_up_quickly(bus, sim):
    """Poll after poll, whatever it knows of which meters were silent, a gateway that
    answers nothing costs a few requests, not one timeout per meter."""
    gateway, maps = bus
    services.gateway_poll(gateway=gateway, now=T0)
    sim.store.silent = set(range(1, 8))
    requests = []
    for n in range(1, 6):
        run = services.gateway_poll(gateway=gateway, now=slot(n))
        assert run.status == PollRun.Status.FAILED and run.readings_stored == 0
        requests.append(run.requests)
    # meters expected to answer get their retry, meters silent last time one attempt
    assert all(ABORT_AFTER <= r <= 2 * ABORT_AFTER for r in requests), requests
    gateway.refresh_from_db()
    assert gateway.consecutive_failures == 5
    assert all(len(readings_of(m)) == 1 for m in maps)


def test_after_an_outage_the_meters_alive_most_recently_are_asked_first(bus, sim):
    """Every meter failed during the outage; the three that were dead before it must not
    be asked first and make the repaired gateway look down, poll after poll."""
    gateway, maps = bus
    sim.store.silent = {1, 2, 3}
    services.gateway_poll(gateway=gateway, now=T0)
    services.gateway_poll(gateway=gateway, now=slot(1))  # 4-7 answer, 1-3 do not
    sim.store.silent = set(range(1, 8))  # the whole gateway goes quiet
    for n in (2, 3, 4, 5):
        services.gateway_poll(gateway=gateway, now=slot(n))
    for m in maps:
        m.refresh_from_db()
    assert all(m.consecutive_failures > 0 for m in maps)  # nobody answered last time

    sim.store.silent = {1, 2, 3}  # back, with its three dead meters
    run = services.gateway_poll(gateway=gateway, now=slot(6))
    assert run.status == PollRun.Status.PARTIAL, run.summary
    assert run.readings_stored == 4
    assert [len(readings_of(m)) for m in maps][3:] == [2, 2, 2, 2]


def test_a_meter_that_keeps_failing_rests_then_is_asked_again(bus, sim):
    """A dead meter on a live gateway costs a timeout per poll and holds the gateway: after
    three failed polls in a row it is asked after 2, 4 … poll intervals; "Poll now" asks
    it anyway, and one answer ends the rest."""
    gateway, maps = bus
    sim.store.silent = {2}
    for n in range(3):
        run = services.gateway_poll(gateway=gateway, now=slot(n))
        assert run.requests == 6 + (2 if n == 0 else 1)  # retried while it was expected
    resting = services.gateway_poll(gateway=gateway, now=slot(3))
    assert resting.status == PollRun.Status.OK and resting.requests == 6
    assert resting.summary.endswith("; 1 not answering, asked again later")
    assert services.gateway_poll(gateway=gateway, now=slot(4)).requests == 7  # 2 intervals on
    assert services.gateway_poll(gateway=gateway, now=slot(5)).requests == 6  # now every 4
    manual = services.gateway_poll(gateway=gateway, manual=True, now=slot(5))
    assert manual.requests == 7 and manual.status == PollRun.Status.PARTIAL

    sim.store.silent = set()  # repaired: still resting (5 failures: every 8 intervals) …
    assert services.gateway_poll(gateway=gateway, now=slot(8)).requests == 6
    # … until someone presses "Poll now" after the repair, or its turn comes
    manual = services.gateway_poll(gateway=gateway, manual=True, now=slot(8))
    assert manual.status == PollRun.Status.OK and manual.meters_ok == 7
    assert manual.readings_stored == 1  # the others were read at this instant already
    run = services.gateway_poll(gateway=gateway, now=slot(9))
    assert run.status == PollRun.Status.OK and run.requests == 7 and run.readings_stored == 7
