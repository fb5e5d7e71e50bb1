"""Gateways that close the connection, never answer or refuse it; the poll's time budget;
when a poll ended; "Poll now" inside a slot already polled.

The faulty gateways are real TCP servers on 127.0.0.1 (a socket that accepts and closes,
one that accepts and never answers); the healthy one is the pymodbus simulator.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from django.test import override_settings

from gateways import services
from gateways.models import GatewayError, PollRun
from tests.conftest import api_client, login_client
from tests.gateways.helpers import T0, make_gateway, map_default_layout

API = "/api/v1/"


class BadGateway:
    """A TCP server on 127.0.0.1 that accepts connections and then closes each at once
    (``close``) or keeps it open and never answers (``silent``)."""

    def __init__(self, mode: str):
        self.mode = mode
        self.accepted = 0
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            if self.mode == "close":
                conn.close()
            else:
                self.held.append(conn)

    def __enter__(self) -> BadGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


class Port:
    """What ``make_gateway`` needs of a simulator: its port."""

    def __init__(self, port: int):
        self.port = port


def _poll(gateway) -> tuple[PollRun, float]:
    started = time.monotonic()
    run = services.gateway_poll(gateway=gateway, now=T0)
    return run, time.monotonic() - started


def test_a_gateway_that_closes_the_connection_is_seen_closed_at_once(in_org_a):
    with BadGateway("close") as bad:
        # 1 s timeout, 2 retries, 7 meters: waiting out the timeout on every attempt would
        # take 3 requests × 3 attempts × 1 s before the gateway is given up
        gateway = make_gateway(Port(bad.port), timeout_ms=1000, retries=2)
        map_default_layout(gateway, 7)
        run, took = _poll(gateway)
    assert took < 1.5, f"the poll took {took:.2f} s"
    assert bad.accepted >= 3  # it did reconnect and retry, quickly
    assert run.status == PollRun.Status.FAILED
    gateway.refresh_from_db()
    assert gateway.last_error.startswith("Connection closed by the gateway"), gateway.last_error
    assert "Skipped" not in gateway.last_error
    first = GatewayError.objects.filter(poll_run=run, kind="connection").order_by("pk").first()
    assert "Connection closed by the gateway" in first.message


def test_a_gateway_that_never_answers_is_stopped_by_the_poll_budget(in_org_a):
    with override_settings(GATEWAY_POLL_BUDGET_S=1.2), BadGateway("silent") as bad:
        # without a budget: 3 requests × 3 attempts × 2 s + backoff, about 18 s
        gateway = make_gateway(Port(bad.port), timeout_ms=2000, retries=2)
        map_default_layout(gateway, 7)
        run, took = _poll(gateway)
    assert 1.1 < took < 2.5, f"the poll took {took:.2f} s"
    assert run.status == PollRun.Status.FAILED
    assert "time budget of 1.2 s ran out" in run.summary
    gateway.refresh_from_db()
    assert "time budget of 1.2 s ran out" in gateway.last_error
    # finished_at is when the poll ended, not when it started
    assert 1.1 < (run.finished_at - run.started_at).total_seconds() < 2.5
    # the wire lock was let go: a relay command or the next poll gets the gateway at once
    from gateways.services import wire_lock

    with wire_lock.gateway_locked(gateway.pk, wait_s=0):
        pass


def test_a_refused_connection_names_the_cause_and_asks_no_further_device(in_org_a):
    gateway = make_gateway(None, timeout_ms=500, retries=1)  # port 1: nobody listens
    map_default_layout(gateway, 5)
    run, took = _poll(gateway)
    assert took < 1.0
    gateway.refresh_from_db()
    assert gateway.last_error.startswith("Cannot connect: 127.0.0.1:1"), gateway.last_error
    errors = list(GatewayError.objects.filter(poll_run=run).order_by("pk"))
    assert len(errors) == 5
    assert all("Cannot connect" in e.message for e in errors)
    # the first device found the gateway refusing; the others were not asked again
    assert sum("Skipped (not asked)" in e.message for e in errors) == 4


def test_finished_at_is_when_the_poll_ended(in_org_a, sim):
    sim.store.stall_s = 0.25  # every answer takes a quarter of a second
    gateway = make_gateway(sim, timeout_ms=1000)
    map_default_layout(gateway, 2)
    run, took = _poll(gateway)
    assert run.status == PollRun.Status.OK
    run.refresh_from_db()
    assert run.started_at == T0
    assert 0.5 <= (run.finished_at - run.started_at).total_seconds() <= took + 0.05


def _early_in_a_manual_slot() -> None:
    """Wait until the 10-second "Poll now" slot has most of its time left, so that two
    requests a moment apart are in the same slot."""
    while time.time() % services.polling.MANUAL_SLOT_SECONDS > 5:
        time.sleep(0.2)


def test_poll_now_twice_in_a_slot_answers_with_the_existing_run(
    in_org_a, sim, django_capture_on_commit_callbacks
):
    gateway = make_gateway(sim)
    map_default_layout(gateway, 2)
    operator = api_client(user=in_org_a.operator)
    url = API + f"gateways/{gateway.public_id}/poll/"
    _early_in_a_manual_slot()
    with django_capture_on_commit_callbacks(execute=True):
        first = operator.post(url)
    assert first.status_code == 202 and first.json()["queued"] is True
    run = PollRun.objects.get()
    with django_capture_on_commit_callbacks(execute=True) as queued:
        again = operator.post(url)
    assert again.status_code == 200, again.content
    body = again.json()
    assert body["queued"] is False and body["run"]["id"] == str(run.public_id)
    assert body["run"]["status"] == "ok" and "nothing new was queued" in body["detail"]
    assert queued == [] and PollRun.objects.count() == 1


def test_poll_now_while_the_first_is_still_queued_is_a_clear_409(
    in_org_a, sim, django_capture_on_commit_callbacks
):
    gateway = make_gateway(sim)
    map_default_layout(gateway, 1)
    operator = api_client(user=in_org_a.operator)
    url = API + f"gateways/{gateway.public_id}/poll/"
    _early_in_a_manual_slot()
    with django_capture_on_commit_callbacks(execute=False) as queued:  # no worker yet
        assert operator.post(url).status_code == 202
        again = operator.post(url)
    assert len(queued) == 1  # one poll queued, not two
    assert again.status_code == 409
    assert "waiting for a worker" in again.content.decode()
    queued[0]()  # the worker runs it: one poll of the claimed slot
    assert PollRun.objects.get().manual
    queued[0]()  # a redelivered task polls nothing twice
    assert PollRun.objects.count() == 1


def test_portal_poll_now_twice_says_it_was_just_polled(
    in_org_a, sim, django_capture_on_commit_callbacks
):
    gateway = make_gateway(sim)
    map_default_layout(gateway, 1)
    client = login_client(in_org_a.operator, in_org_a.org)
    _early_in_a_manual_slot()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/gateways/{gateway.public_id}/poll/")
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(f"/gateways/{gateway.public_id}/poll/", follow=True)
    text = page.content.decode()
    assert "was polled moments ago" in text and "nothing new was queued" in text
    assert PollRun.objects.count() == 1


def test_relay_command_to_a_gateway_that_closes_fails_fast(in_org_a):
    """The same session serves relay commands: a closing gateway is not waited for."""
    from billspree.core.errors import Conflict
    from gateways.models import Profile
    from tests.gateways.helpers import map_meter

    with BadGateway("close") as bad:
        gateway = make_gateway(Port(bad.port), timeout_ms=1500, retries=1)
        m = map_meter(gateway, 7, Profile.objects.get(builtin="prepaid-relay"))
        started = time.monotonic()
        with pytest.raises(Conflict):
            services.relay_switch(register_map=m, on=False, reason="Arrears")
        took = time.monotonic() - started
    assert took < 1.0, f"{took:.2f} s"
