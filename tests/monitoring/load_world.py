"""A hand-built dataset for the load analysis and the extremum report (unit and browser
tests share it): a Zurich workshop with one 10 kW feeder meter polled every 15 minutes, a
meter without a capacity, and a temperature sensor, around the autumn DST day.

Feeder ``E-LOAD`` (electricity, kWh, rated capacity 10 kW, so 80 % = 8 kW = 8000 W):

* **21 Oct 2026** (24 h): 96 samples on the quarter hours 00:00–23:45 local. 2000 W,
  except the 11 samples 10:00, 10:15 … 12:30 at 8500 W (two of them, 11:00 and 12:00, at
  9700 W, a tie: the earliest, 11:00, is the peak), and 13:00 at exactly 8000 W (not
  *above* 80 %). Peak 9.7 kW at 11:00 = 9700 / 10000 = 97.0 %; hours above 8 kW = 11
  quarter hours × 0.25 h = 2.75 h.
* **22 Oct 2026**: three samples only: 10:00 9000 W (next sample at 11:00: held 15 min,
  the cap, not 60), 11:00 1000 W, 23:50 9000 W (held until midnight: 10 min). Hours above
  = 0.25 + 10/60 = 0.41666… → 0.42 h; peak 9.0 kW at 10:00 = 90.0 %.
* **25 Oct 2026** (DST, 25 h: 00:00 CEST = 24 Oct 22:00 UTC … 26 Oct 00:00 CET = 25 Oct
  23:00 UTC): 100 samples on the UTC quarter hours at 1000 W, plus one at 01:37 UTC =
  02:37 CET (after the clocks went back at 03:00 CEST = 01:00 UTC) at 5000 W: the peak,
  5.0 kW = 50.0 %, 0 h above; the minimum 1000 W first at 00:00 CEST (24 Oct 22:00 UTC).

Readings (register, kWh) at local midnights: 20 Oct 0, 21 Oct 40, 22 Oct 88, 23 Oct 100,
24 Oct 110, 25 Oct 120, 26 Oct 150, 27 Oct 160. Daily consumption: 21 Oct 48 kWh / 24 h =
2.000 kW average; 22 Oct 12 / 24 = 0.500 kW; 25 Oct 30 kWh / 25 h = 1.200 kW.

``E-NOCAP`` (electricity, no capacity): 21 Oct 12:00 local 3000 W only. Sensor ``T-1``
(temperature): 25 Oct 02:37 CEST (= 00:37 UTC) 18.5 °C, 02:37 CET (= 01:37 UTC) 16.25 °C,
12:00 CET 21.0 °C: max 21.0 at 12:00, min 16.25 at 02:37 CET.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property, Sensor
from readings.measurements.ingest import measurements_store, series_ensure
from readings.parsing import RowIn
from readings.services import reading_ingest

ZURICH = ZoneInfo("Europe/Zurich")
Q = timedelta(minutes=15)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def local(day: date, hh: int, mm: int = 0, fold: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=ZURICH, fold=fold).astimezone(UTC)


D21, D22, D25 = date(2026, 10, 21), date(2026, 10, 22), date(2026, 10, 25)


@dataclass
class LoadWorld:
    prop: Property
    feeder: Meter
    nocap: Meter
    sensor: Sensor


def feeder_samples() -> list[tuple[datetime, float]]:
    out = []
    for n in range(96):  # 21 Oct, 00:00 … 23:45 (a 24-hour day)
        at = local(D21, 0) + n * Q
        hh, mm = divmod(n * 15, 60)
        value = 2000.0
        if (10, 0) <= (hh, mm) <= (12, 30):
            value = 9700.0 if (hh, mm) in ((11, 0), (12, 0)) else 8500.0
        if (hh, mm) == (13, 0):
            value = 8000.0
        out.append((at, value))
    out += [(local(D22, 10), 9000.0), (local(D22, 11), 1000.0), (local(D22, 23, 50), 9000.0)]
    start = local(D25, 0)  # 24 Oct 22:00 UTC
    out += [(start + n * Q, 1000.0) for n in range(100)]
    out.append((datetime(2026, 10, 25, 1, 37, tzinfo=UTC), 5000.0))  # 02:37 CET
    return out


def make_load_world() -> LoadWorld:
    """In the current organization's context."""
    prop = Property.objects.create(name="Werkhof", time_zone="Europe/Zurich")
    bp = BillingPoint.objects.create(property=prop, connection_id="W-1", name="Workshop")
    bp2 = BillingPoint.objects.create(property=prop, connection_id="W-2", name="Store")
    feeder = Meter.objects.create(serial_number="E-LOAD", type=MeterType.ELECTRICITY,
                                  unit="kWh", rated_capacity=Decimal("10"), label="Feeder")
    nocap = Meter.objects.create(serial_number="E-NOCAP", type=MeterType.ELECTRICITY,
                                 unit="kWh")
    start = local(date(2026, 10, 20), 0)
    for m, point in ((feeder, bp), (nocap, bp2)):
        MeterAssignment.objects.create(meter=m, billing_point=point, connected_at=start,
                                       initial_reading=Decimal(0))
    sensor = Sensor.objects.create(serial_number="T-1", kind="temperature", property=prop)
    registers = [(20, 0), (21, 40), (22, 88), (23, 100), (24, 110), (25, 120), (26, 150),
                 (27, 160)]
    reading_ingest(rows=[RowIn(i + 1, "E-LOAD", local(date(2026, 10, d), 0).isoformat(), str(v))
                         for i, (d, v) in enumerate(registers)], source="api", now=NOW)
    series = series_ensure("meter", [(feeder.pk, "active_power"), (nocap.pk, "active_power")])
    rows = [(series[(feeder.pk, "active_power")], at, v) for at, v in feeder_samples()]
    rows.append((series[(nocap.pk, "active_power")], local(D21, 12), 3000.0))
    temp = series_ensure("sensor", [(sensor.pk, "temperature")])[(sensor.pk, "temperature")]
    rows += [(temp, datetime(2026, 10, 25, 0, 37, tzinfo=UTC), 18.5),
             (temp, datetime(2026, 10, 25, 1, 37, tzinfo=UTC), 16.25),
             (temp, local(D25, 12), 21.0)]
    measurements_store(rows, source="api")
    return LoadWorld(prop, feeder, nocap, sensor)
