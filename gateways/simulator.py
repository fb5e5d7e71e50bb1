"""A Modbus TCP gateway emulator (pymodbus server) with meters of the built-in profiles.

Each meter's cumulative register is a closed-form function of wall-clock time: an
average load shaped by a daily curve (night trough, morning and evening peaks), so the
register only grows, follows a realistic profile, and continues where it was after the
simulator restarts. A relay or valve written off stops consumption until written on.

The same class serves the tests and the benchmark, with faults to inject: a stall
(answers late), dropped connections, exception codes per device, fixed values (NaN,
a value going backwards).

pymodbus 3.16 builds its datastore from ``SimDevice``/``SimData`` blocks of fixed
registers; values computed per request need a datastore of our own. The server only
calls ``context.async_getValues/async_setValues/device_ids`` (see
``pymodbus/server/requesthandler.py`` and the PDUs' ``datastore_update``), so
:class:`SimulatorServer` installs :class:`SimulatedGateway` as its context.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from pymodbus import FramerType
from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.constants import ExcCodes
from pymodbus.exceptions import NoSuchIdException
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler
from pymodbus.simulator import SimData, SimDevice
from pymodbus.simulator.simutils import DataType as SimDataType

from gateways.profiles import BUILTIN_PROFILES, ProfileDef, ValueDef

#: 2026-01-01T00:00:00Z: registers count from here.
EPOCH = 1767225600.0
#: Device id → profile of the default layout, cycled.
LAYOUT_CYCLE = (
    "eastron-sdm630",
    "eastron-sdm120",
    "carlo-gavazzi-em24",
    "schneider-iem3255",
    "mbus-water",
    "mbus-heat",
    "prepaid-relay",
)
#: Average use per hour by meter type, in the reading's unit.
AVERAGE_PER_HOUR = {"electricity": 0.8, "cold_water": 0.012, "hot_water": 0.006, "heat": 1.5}


def device_per_hour(meter_type: str, device_id: int) -> float:
    """The average use an hour of a ``--from-db`` device: the type's average, spread 0.6–1.4×
    by device id so the demo's meters differ (the demo's history and capacities use it too)."""
    return AVERAGE_PER_HOUR.get(meter_type, 0.8) * (0.6 + (device_id * 37 % 80) / 100)


_DATATYPE = ModbusClientMixin.DATATYPE
PYMODBUS_TYPES = {
    "u16": _DATATYPE.UINT16,
    "i16": _DATATYPE.INT16,
    "u32": _DATATYPE.UINT32,
    "i32": _DATATYPE.INT32,
    "u64": _DATATYPE.UINT64,
    "i64": _DATATYPE.INT64,
    "f32": _DATATYPE.FLOAT32,
    "f64": _DATATYPE.FLOAT64,
}


def encode(value: int | float, data_type: str, word_order: str) -> list[int]:
    """Registers for a value, by pymodbus's own converter: the poller decodes with
    ``gateways.decoding``, so end-to-end tests check one implementation against the other."""
    return ModbusClientMixin.convert_to_registers(
        value,
        PYMODBUS_TYPES[data_type],
        word_order=word_order,  # type: ignore[arg-type]
    )


def _factor(value: ValueDef) -> float:
    """Stored unit per profile unit of a measurement value (1000 for a power in kW)."""
    from readings.measurements.models import CONVERSIONS, UNITS

    stored = UNITS[value.quantity]
    return 1.0 if value.unit == stored else CONVERSIONS[(stored, value.unit)]


def default_layout(count: int) -> dict[int, str]:
    """Device ids 1..count with profiles cycling through the built-ins."""
    return {i: LAYOUT_CYCLE[(i - 1) % len(LAYOUT_CYCLE)] for i in range(1, count + 1)}


def _daily_integral(hours: float) -> float:
    """∫ of the daily shape 1 + 0.45·sin(ω(h−13)) + 0.3·sin(2ω(h−4.5)) (mean 1, never < 0.25)
    from 0 to ``hours``; ω = 2π/24. Peaks come out near 8 h and 19 h."""
    w = 2 * math.pi / 24
    return (
        hours
        - 0.45 / w * (math.cos(w * (hours - 13)) - math.cos(w * -13))
        - 0.3 / (2 * w) * (math.cos(2 * w * (hours - 4.5)) - math.cos(2 * w * -4.5))
    )


def daily_shape(hour_of_day: float) -> float:
    w = 2 * math.pi / 24
    return 1 + 0.45 * math.sin(w * (hour_of_day - 13)) + 0.3 * math.sin(2 * w * (hour_of_day - 4.5))


@dataclass
class SimMeter:
    device_id: int
    profile: ProfileDef
    base: float = 0.0  # register value at EPOCH, in the reading's unit
    per_hour: float = 0.8  # average use per hour
    relay_on: bool = True
    #: Values pinned by a test (key → number, may be NaN); they bypass the simulation.
    fixed: dict[str, float] = field(default_factory=dict)
    paused_use: float = 0.0  # use skipped while the relay was off
    off_since: float | None = None
    #: Where the meter came from (e.g. a register map), so a reload can tell it apart.
    origin: str = ""
    #: Register words pinned by a test, by function code and address (e.g. encoded by hand
    #: from a maker's manual): they are served as they are, over whatever the profile says.
    pinned_words: dict[int, dict[int, int]] = field(default_factory=dict)

    def same_device(self, other: SimMeter) -> bool:
        """Whether ``other`` describes this very device (a reload keeps this one, so its
        register, relay and pinned values go on where they were)."""
        return (self.device_id, self.origin, self.profile) == (
            other.device_id,
            other.origin,
            other.profile,
        )

    def use_until(self, now: float) -> float:
        hours = (now - EPOCH) / 3600
        return self.per_hour * _daily_integral(hours)

    def reading(self, now: float) -> float:
        until = self.off_since if self.off_since is not None else now
        return self.base + self.use_until(until) - self.paused_use

    def set_relay(self, on: bool, now: float) -> None:
        if on == self.relay_on:
            return
        if on and self.off_since is not None:
            self.paused_use += self.use_until(now) - self.use_until(self.off_since)
            self.off_since = None
        elif not on:
            self.off_since = now
        self.relay_on = on

    def quantity(self, value: ValueDef, now: float) -> float:
        if value.key in self.fixed:
            return self.fixed[value.key]
        if value.is_reading:
            return self.reading(now)
        hour = ((now - EPOCH) / 3600) % 24
        load = self.per_hour * daily_shape(hour) if self.relay_on else 0.0
        if value.quantity:
            return self.measurement(value.quantity, load, now) / _factor(value)
        if value.key == "power":
            watts = load * 1000
            return watts if value.unit == "W" else watts / 1000
        if value.key.startswith("voltage"):
            return 230.0 + 2 * math.sin(now / 60)
        if value.key == "flow":
            return load
        if value.key == "energy_export":
            return 0.0
        return self.reading(now) / 3  # a secondary register that also grows

    def measurement(self, quantity: str, load_kw: float, now: float) -> float:
        """A plausible instantaneous value in the quantity's stored unit, moving with the
        load (power, current), slowly around its nominal value (voltage, frequency, power
        factor) or with the time of day (temperature, humidity)."""
        phase = int(quantity[-1]) if quantity[-3:-1] == "_l" else 0
        watts = load_kw * 1000
        share = (1.0, 0.36, 0.31, 0.33)[phase]
        volts = 230.0 + 2 * math.sin(now / 60 + 2.1 * phase)
        pf = 0.94 + 0.03 * math.sin(now / 300 + phase)
        day = 2 * math.pi * (((now - EPOCH) / 3600) % 24) / 24
        kind = quantity.rsplit("_l", 1)[0] if phase else quantity
        return {
            "active_power": watts * share,
            "voltage": volts,
            "current": watts * share / volts / pf,
            "power_factor": pf,
            "frequency": 50.0 + 0.03 * math.sin(now / 45),
            "temperature": 21.0 + 2.5 * math.sin(day - 2.0) + 0.2 * math.sin(now / 90),
            "humidity": 45.0 + 6.0 * math.sin(day + 1.0),
        }[kind]

    def raw(self, value: ValueDef, now: float) -> int | float:
        number = self.quantity(value, now) / float(value.scale)
        if value.data_type.startswith("f") or math.isnan(number):
            return number
        whole = int(round(number))
        if value.data_type.startswith("u"):  # an unsigned register rolls over
            whole %= 2 ** int(value.data_type[1:])
        return whole

    def words(self, function_code: int, now: float) -> dict[int, int]:
        """Address → register word for every value this meter has under a function code."""
        out: dict[int, int] = {}
        for value in self.profile.values:
            if value.function_code != function_code:
                continue
            raw = self.raw(value, now)
            if not value.data_type.startswith("f") and isinstance(raw, float):
                raw = 0
            for offset, word in enumerate(encode(raw, value.data_type, value.word_order)):
                out[value.address + offset] = word
        if function_code == 3 and self.profile.relay_kind == "register":
            on, off = self.profile.relay_on_value, self.profile.relay_off_value
            out[self.profile.relay_address] = on if self.relay_on else off
        out.update(self.pinned_words.get(function_code, {}))
        return out


class SimulatedGateway:
    """The datastore the server asks: meters by device id, plus injectable faults."""

    def __init__(self, meters: Iterable[SimMeter], clock=time.time):
        self.meters: dict[int, SimMeter] = {m.device_id: m for m in meters}
        self.clock = clock
        self.stall_s = 0.0  # answer this late (simulates a hung gateway)
        self.drop_next = 0  # close the connection instead of answering this many requests
        self.exceptions: dict[int, int] = {}  # device id → exception code to answer
        self.write_exceptions: dict[int, int] = {}  # … to writes only (reads are answered)
        #: devices that never answer (dead on the bus, behind a gateway that sends no 0x0B)
        self.silent: set[int] = set()
        self.requests = 0
        self.writes: list[tuple[int, int, int, list]] = []  # device, fc, address, values
        self.reads: list[tuple[int, int, int, int]] = []  # device, fc, address, count

    def device_ids(self) -> list[int]:
        return list(self.meters)

    def replace_meters(self, meters: Iterable[SimMeter]) -> tuple[list[int], list[int]]:
        """Put exactly these meters on the bus (a reloaded layout) and return the device
        ids added (or changed) and removed. A meter that is already on the bus as the same
        device stays as it is, so its register continues without a jump."""
        wanted = {m.device_id: m for m in meters}
        current = self.meters
        merged = {
            i: current[i] if i in current and current[i].same_device(m) else m
            for i, m in wanted.items()
        }
        added = sorted(i for i, m in merged.items() if current.get(i) is not m)
        removed = sorted(set(current) - set(merged))
        self.meters = merged  # one assignment: requests see the old bus or the new one
        return added, removed

    def meter(self, device_id: int) -> SimMeter:
        if device_id not in self.meters:
            raise NoSuchIdException(f"device {device_id} is not on this bus")
        return self.meters[device_id]

    async def _fault(self, device_id: int) -> ExcCodes | None:
        self.requests += 1
        if device_id in self.silent:
            await asyncio.sleep(3600)  # cancelled when the connection or the server closes
        if self.stall_s:
            await asyncio.sleep(self.stall_s)
        code = self.exceptions.get(device_id)
        return ExcCodes(code) if code else None

    async def async_getValues(self, device_id: int, func_code: int, address: int, count: int = 1):
        self.reads.append((device_id, func_code, address, count))
        if fault := await self._fault(device_id):
            return fault
        meter = self.meter(device_id)
        if func_code in (1, 5, 15):
            if meter.profile.relay_kind != "coil" or address != meter.profile.relay_address:
                return ExcCodes.ILLEGAL_ADDRESS
            return [meter.relay_on] + [False] * (count - 1)
        words = meter.words(4 if func_code == 4 else 3, self.clock())
        try:
            return [words[a] for a in range(address, address + count)]
        except KeyError:
            return ExcCodes.ILLEGAL_ADDRESS

    async def async_setValues(self, device_id: int, func_code: int, address: int, values):
        if fault := await self._fault(device_id):
            return fault
        if code := self.write_exceptions.get(device_id):
            return ExcCodes(code)
        meter = self.meter(device_id)
        self.writes.append((device_id, func_code, address, list(values)))
        profile = meter.profile
        if address != profile.relay_address or not profile.relay_kind:
            return ExcCodes.ILLEGAL_ADDRESS
        if func_code in (5, 15) and profile.relay_kind == "coil":
            meter.set_relay(bool(values[0]), self.clock())
            return None
        if func_code in (6, 16) and profile.relay_kind == "register":
            if values[0] not in (profile.relay_on_value, profile.relay_off_value):
                return ExcCodes.ILLEGAL_VALUE
            meter.set_relay(values[0] == profile.relay_on_value, self.clock())
            return None
        return ExcCodes.ILLEGAL_FUNCTION


class _Handler(ServerRequestHandler):
    async def handle_request(self):
        store: SimulatedGateway = self.server.context
        if store.drop_next > 0 and self.last_pdu:
            store.drop_next -= 1
            self.close()
            return
        await super().handle_request()


class SimulatorServer(ModbusTcpServer):
    """A pymodbus TCP server answering from a :class:`SimulatedGateway`."""

    def __init__(
        self,
        store: SimulatedGateway,
        host: str = "127.0.0.1",
        port: int = 5020,
        rtu_over_tcp: bool = False,
    ):
        placeholder = SimDevice(id=0, simdata=[SimData(0, datatype=SimDataType.REGISTERS)])
        framer = FramerType.RTU if rtu_over_tcp else FramerType.SOCKET
        super().__init__(placeholder, address=(host, port), framer=framer)
        self.context = store  # type: ignore[assignment]

    def callback_new_connection(self):
        return _Handler(self, self.trace_packet, self.trace_pdu, self.trace_connect)

    @property
    def bound_port(self) -> int:
        return self.transport.sockets[0].getsockname()[1]  # type: ignore[union-attr]


def make_meters(layout: dict[int, str], *, spread: bool = True) -> list[SimMeter]:
    meters = []
    for device_id, key in layout.items():
        profile = BUILTIN_PROFILES[key]
        per_hour = AVERAGE_PER_HOUR.get(profile.meter_type, 0.8)
        factor = 0.5 + (device_id * 37 % 100) / 50 if spread else 1.0
        base = 1000.0 + (device_id * 7919 % 20000) if profile.meter_type == "electricity" else 50.0
        meters.append(SimMeter(device_id, profile, base=base, per_hour=per_hour * factor))
    return meters


class SimulatorThread:
    """A simulator in a background thread with its own event loop (tests, benchmark)."""

    def __init__(
        self,
        store: SimulatedGateway,
        host: str = "127.0.0.1",
        port: int = 0,
        rtu_over_tcp: bool = False,
    ):
        self.store = store
        self.rtu_over_tcp = rtu_over_tcp
        self.host = host
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.server: SimulatorServer | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="modbus-simulator")

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        self.server = SimulatorServer(self.store, self.host, self.port, self.rtu_over_tcp)
        await self.server.serve_forever(background=True)
        self.port = self.server.bound_port

    def start(self) -> SimulatorThread:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("The Modbus simulator did not start")
        return self

    def stop(self) -> None:
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    async def _shutdown(self) -> None:
        await self.server.shutdown()  # type: ignore[union-attr]
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in pending:  # e.g. answers still stalling
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
