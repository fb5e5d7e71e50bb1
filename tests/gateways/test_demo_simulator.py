"""The demo's Modbus simulator, end to end: ``make demo`` seeds gateways that point at a
simulator it starts with ``modbus_simulator --from-db``; the seeded gateways, polled by
the real poll service, get a reading from every mapped meter. The simulator is the real
command in a process of its own (the demo's own arguments, on a free port), reading the
real test database; a map added while it runs joins the bus at the next reload."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from pymodbus.client import ModbusTcpClient

from billspree.core.management.commands.demo import simulator_args
from billspree.core.models import Organization
from billspree.core.scoping import organization_context
from gateways import demo as gateways_demo
from gateways import services
from gateways.models import Gateway, PollRun, Profile, RegisterMap
from gateways.simulator import (
    SimulatedGateway,
    SimulatorThread,
    default_layout,
    make_meters,
)
from readings.models import Reading
from tests.conftest import child_database_url
from tests.factories import make_org_world
from tests.gateways.helpers import make_gateway, map_meter, slot

ROOT = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(check, seconds: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {seconds} s; simulator log:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


@contextmanager
def simulator_process(args: list[str], port: int, log: Path) -> Iterator[subprocess.Popen]:
    """``manage.py <args>`` as the demo starts it, on the test database, until the block
    ends; waits until it listens on ``port``."""
    env = {**os.environ, "DATABASE_URL": child_database_url(), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for(
            lambda: proc.poll() is None and _listening(port) or proc.poll() is not None,
            60,
            "The simulator did not listen",
            log,
        )
        assert proc.poll() is None, log.read_text()
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def _gateway_readings(register_map: RegisterMap) -> int:
    return (
        Reading.objects.unscoped().filter(meter_id=register_map.meter_id, source="gateway").count()
    )


def test_demo_gateways_read_every_meter_from_the_demo_simulator(
    demo_db_copy, monkeypatch, tmp_path
):
    # the demo (``manage.py demo_seed``, tests/demo_db.py) was seeded with
    # GATEWAYS_SIMULATOR_PORT set to a free port, as `make demo` seeds it
    port = demo_db_copy.simulator_port
    monkeypatch.setenv("GATEWAYS_SIMULATOR_PORT", str(port))  # as `make demo` reads it
    gateways = list(Gateway.objects.unscoped().filter(name=gateways_demo.DEMO_NAME).order_by("pk"))
    assert len(gateways) == Organization.objects.count() == 2  # one per demo organization
    assert {(g.host, g.port) for g in gateways} == {("127.0.0.1", port)}
    log = tmp_path / "simulator.log"
    assert not _listening(port), f"port {port} of the demo's simulator is taken"
    with simulator_process(simulator_args(str(port)), port, log):
        for gateway in gateways:
            with organization_context(Organization.objects.get(pk=gateway.organization_id)):
                maps = list(gateway.register_maps.select_related("meter").order_by("device_id"))
                assert 0 < len(maps) <= sum(gateways_demo.QUOTA.values())
                before = {m.pk: _gateway_readings(m) for m in maps}
                run = services.gateway_poll(gateway=gateway)  # the beat's scheduled poll
                assert run is not None
                errors = list(gateway.errors.values_list("message", flat=True))
                assert run.status == PollRun.Status.OK, (run.summary, errors, log.read_text())
                assert run.meters_ok == run.readings_stored == len(maps)
                assert run.error_count == 0 and errors == []
                for register_map in maps:
                    register_map.refresh_from_db()
                    assert _gateway_readings(register_map) == before[register_map.pk] + 1, (
                        register_map.meter.serial_number
                    )
                    assert register_map.last_success_at == run.started_at
                    assert register_map.consecutive_failures == 0
                    assert register_map.error_count == 0
                gateway.refresh_from_db()
                assert gateway.health() == "online"
    assert "Modbus simulator on 127.0.0.1" in log.read_text()


def _answers(port: int, device_id: int, function_code: int, address: int) -> bool:
    """Whether the device answers a read of its reading register (a real Modbus client);
    a device id not on the bus gets exception 0x0B (the target device did not respond)."""
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
    try:
        assert client.connect()
        read = client.read_input_registers if function_code == 4 else client.read_holding_registers
        response = read(address, count=2, device_id=device_id)
        if response.isError():
            assert response.exception_code == 0x0B
        return not response.isError()
    finally:
        client.close()


def test_from_db_simulator_picks_up_maps_added_and_removed_while_it_runs(
    transactional_db, tmp_path
):
    world = make_org_world("Reload Estates", "RELOAD")
    port = _free_port()
    with organization_context(world.org):
        services.profile_builtins_ensure()
        sdm630 = Profile.objects.get(builtin="eastron-sdm630")
        gateway = make_gateway(None, port=port, timeout_ms=1000)
        first = map_meter(gateway, 1, sdm630)
        value = sdm630.reading_value()
        reading_register = (value.function_code, value.address)
    log = tmp_path / "simulator.log"
    args = ["modbus_simulator", "--port", str(port), "--from-db", "--reload-every", "0.3"]
    with simulator_process([*args, "--quiet"], port, log):
        assert _answers(port, 1, *reading_register)
        assert not _answers(port, 2, *reading_register)  # nothing mapped there yet
        with organization_context(world.org):
            assert services.gateway_poll(gateway=gateway, now=slot(0)).status == "ok"
            second = map_meter(gateway, 2, Profile.objects.get(builtin="eastron-sdm120"))
        _wait_for(lambda: "+ device 2" in log.read_text(), 15, "Device 2 did not join", log)
        assert "+ device 1" not in log.read_text()  # kept as it was, register running on
        with organization_context(world.org):
            run = services.gateway_poll(gateway=gateway, now=slot(1))
            assert (run.status, run.readings_stored) == ("ok", 2), run.summary
            values = list(
                Reading.objects.filter(meter=first.meter)
                .order_by("read_at")
                .values_list("value", flat=True)
            )
            assert len(values) == 2 and values[1] >= values[0]
            assert Reading.objects.filter(meter=second.meter).count() == 1
            services.register_map_delete(register_map=first)
            value = second.profile.reading_value()
        _wait_for(lambda: "- device 1" in log.read_text(), 15, "Device 1 did not leave", log)
        assert not _answers(port, 1, *reading_register)
        assert _answers(port, 2, value.function_code, value.address)


def test_a_reloaded_layout_keeps_the_meters_already_on_the_bus():
    """``SimulatedGateway.replace_meters``: the same device stays the same object (its
    register, relay state and pinned values go on); new and changed devices come in, the
    others leave; requests over the wire see the new bus."""
    now = time.time()
    store = SimulatedGateway(make_meters(default_layout(3)))
    kept = store.meters[1]
    kept.set_relay(False, now)
    reading = kept.reading(now)
    fresh = {m.device_id: m for m in make_meters(default_layout(4))}
    fresh[1].base += 500  # a reload computes a new start; the meter on the bus wins
    fresh[3].origin = "map:9:meter:9"  # another meter mapped at device 3
    del fresh[2]
    with SimulatorThread(store) as sim:
        added, removed = store.replace_meters(fresh.values())
        assert (added, removed) == ([3, 4], [2])
        assert store.meters[1] is kept and not kept.relay_on
        assert kept.reading(now) == reading
        assert store.meters[3] is fresh[3] and store.meters[4] is fresh[4]
        value = store.meters[4].profile.reading
        assert _answers(sim.port, 4, value.function_code, value.address)
        assert not _answers(sim.port, 2, value.function_code, value.address)
