"""A real pymodbus TCP server on 127.0.0.1 (a free port), with meters and faults to inject."""

from __future__ import annotations

import pytest

from gateways.simulator import SimulatedGateway, SimulatorThread, make_meters


@pytest.fixture
def sim():
    """A simulated gateway with devices 1..7, one of each built-in profile."""
    from gateways.simulator import default_layout

    store = SimulatedGateway(make_meters(default_layout(7), spread=False))
    with SimulatorThread(store) as thread:
        yield thread
