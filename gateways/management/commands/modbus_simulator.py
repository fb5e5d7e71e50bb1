"""Run a Modbus TCP gateway emulator (pymodbus server) until interrupted.

    manage.py modbus_simulator --port 5020 --meters 14       # devices 1..14, built-in profiles
    manage.py modbus_simulator --port 5020 --from-db         # the meters mapped to 127.0.0.1:5020

With ``--from-db`` every register map of a gateway at 127.0.0.1/localhost and this port
(in any organization) becomes a device on the simulated bus, with its profile, starting
at the meter's last reading so live readings continue the history. The maps are read
again every ``--reload-every`` seconds (30 by default, 0: never), so a meter mapped (or
removed, or given another profile) while the simulator runs joins (or leaves) the bus
without a restart; the meters already on it keep their registers running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from gateways.simulator import (
    SimMeter,
    SimulatedGateway,
    SimulatorServer,
    default_layout,
    device_per_hour,
    make_meters,
)


def _resolution(spec, value: float) -> float:
    """The smallest step the reading register can show around ``value``: a float32 keeps
    7 significant digits, an integer register one unit of its scale."""
    if spec.data_type == "f32":
        return 10.0 ** (max(0, math.floor(math.log10(max(value, 1)))) - 6)
    if spec.data_type == "f64":
        return 1e-4
    return float(spec.scale)


def meters_from_db(port: int) -> list[SimMeter]:
    """Devices for the register maps pointing at this simulator (across organizations: the
    simulator plays the physical bus that the demo organizations' gateways share)."""
    from django.db.models import Prefetch

    from gateways.models import ProfileValue, RegisterMap
    from gateways.profiles import ProfileDef, ValueDef
    from readings.models import MeterReadingState

    maps = (
        RegisterMap.objects.unscoped()
        .filter(gateway__host__in=("127.0.0.1", "localhost"), gateway__port=port)
        .select_related("meter", "profile")
        .prefetch_related(Prefetch("profile__values", queryset=ProfileValue.objects.unscoped()))
    )
    last = dict(
        MeterReadingState.objects.unscoped()
        .filter(meter__in=[m.meter_id for m in maps])
        .values_list("meter_id", "last_value")
    )
    now = time.time()
    meters = []
    for m in maps:
        p = m.profile
        values = tuple(
            ValueDef(
                v.key,
                v.label,
                v.function_code,
                v.address,
                v.data_type,
                v.word_order,
                v.scale,
                v.unit,
                v.is_reading,
                v.quantity,
            )
            for v in p.values.all()
        )
        definition = ProfileDef(
            p.builtin or f"custom-{p.pk}",
            p.name,
            p.manufacturer,
            p.meter_type,
            "",
            values,
            p.relay_kind,
            p.relay_address,
            p.relay_on_value,
            p.relay_off_value,
        )
        per_hour = device_per_hour(p.meter_type, m.device_id)
        sim = SimMeter(
            m.device_id, definition, per_hour=per_hour, origin=f"map:{m.pk}:meter:{m.meter_id}"
        )
        start = float(last.get(m.meter_id) or m.last_value or Decimal(0))
        step = _resolution(definition.reading, start)
        start = (math.floor(start / step) + 2) * step  # never below the last reading once read
        sim.base = start - sim.use_until(now)
        meters.append(sim)
    return meters + sensors_from_db(port)


def sensors_from_db(port: int) -> list[SimMeter]:
    """Devices for the environmental sensors mapped to this simulator (their values move
    with the time of day: see ``SimMeter.measurement``)."""
    from gateways.models import SensorMap
    from gateways.profiles import SENSOR_PROFILES

    maps = SensorMap.objects.unscoped().filter(
        gateway__host__in=("127.0.0.1", "localhost"), gateway__port=port)
    return [SimMeter(m.device_id, SENSOR_PROFILES[m.layout], origin=f"sensor-map:{m.pk}")
            for m in maps if m.layout in SENSOR_PROFILES]


class Command(BaseCommand):
    help = "Run a Modbus TCP server emulating a gateway with meters of the built-in profiles."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=5020)
        parser.add_argument(
            "--meters",
            type=int,
            default=0,
            help="Devices 1..N cycling through the built-in profiles.",
        )
        parser.add_argument(
            "--from-db",
            action="store_true",
            help="Emulate the meters mapped to a gateway at this host:port.",
        )
        parser.add_argument(
            "--reload-every",
            type=float,
            default=30.0,
            metavar="SECONDS",
            help="With --from-db: read the register maps again this often (0: never).",
        )
        parser.add_argument(
            "--rtu", action="store_true", help="RTU frames over TCP (a transparent serial server)."
        )
        parser.add_argument("--quiet", action="store_true", help="Silence pymodbus logging.")

    def handle(
        self,
        *args,
        host: str,
        port: int,
        meters: int,
        from_db: bool,
        reload_every: float,
        quiet: bool,
        rtu: bool,
        **options,
    ):
        if reload_every < 0:
            raise CommandError("--reload-every must be 0 (never) or a number of seconds.")
        self.port = port
        self.layout = {m.device_id: m for m in make_meters(default_layout(meters))}
        devices = self.devices(from_db)
        if not devices:
            raise CommandError("No devices: pass --meters N and/or --from-db.")
        if quiet:
            logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
        for device_id in sorted(devices):
            self.describe(devices[device_id])
        reload_note = f", maps read every {reload_every:g} s" if from_db and reload_every else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Modbus simulator on {host}:{port} with {len(devices)} devices{reload_note}. "
                "Ctrl-C stops it."
            )
        )
        store = SimulatedGateway(devices.values())
        every = reload_every if from_db else 0
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self._serve(store, host, port, rtu, every))

    def devices(self, from_db: bool) -> dict[int, SimMeter]:
        """The bus: devices 1..N of ``--meters``, with the mapped meters over them."""
        devices = dict(self.layout)
        if from_db:
            devices.update({m.device_id: m for m in meters_from_db(self.port)})
        return devices

    def describe(self, meter: SimMeter) -> None:
        if not any(v.is_reading for v in meter.profile.values):  # an environmental sensor
            values = ", ".join(f"{v.key} fc{v.function_code}@{v.address}"
                               for v in meter.profile.values)
            self.stdout.write(f"  device {meter.device_id:3d}  {meter.profile.name}: {values}")
            return
        spec = meter.profile.reading
        self.stdout.write(
            f"  device {meter.device_id:3d}  {meter.profile.name:<42} {spec.key} "
            f"fc{spec.function_code}@{spec.address} {spec.data_type}/{spec.word_order}"
            f"  now {meter.reading(time.time()):.3f} {spec.unit}"
        )

    async def _serve(
        self, store: SimulatedGateway, host: str, port: int, rtu: bool, reload_every: float
    ) -> None:
        server = SimulatorServer(store, host, port, rtu_over_tcp=rtu)
        if reload_every:
            reloading = asyncio.create_task(self._reload_forever(store, reload_every))
        try:
            await server.serve_forever()
        finally:
            if reload_every:
                reloading.cancel()

    async def _reload_forever(self, store: SimulatedGateway, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:  # the ORM is synchronous: read the maps on a worker thread
                devices = await asyncio.to_thread(self._devices_from_db)
                self.apply(store, devices)
            except Exception as exc:  # noqa: BLE001 - keep serving the bus as it is
                self.stderr.write(f"Reloading the register maps failed, retrying: {exc}")

    def _devices_from_db(self) -> dict[int, SimMeter]:
        from django.db import connections

        try:
            return self.devices(from_db=True)
        finally:
            connections.close_all()  # this thread's connection; a new one next time

    def apply(self, store: SimulatedGateway, devices: dict[int, SimMeter]) -> None:
        """Put the reloaded devices on the bus, keeping the ones already there."""
        added, removed = store.replace_meters(devices.values())
        for device_id in added:
            self.stdout.write(f"  + device {device_id} (new or changed map)")
            self.describe(store.meters[device_id])
        for device_id in removed:
            self.stdout.write(f"  - device {device_id} (no longer mapped)")
