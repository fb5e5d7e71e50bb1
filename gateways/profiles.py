"""Built-in meter profiles: the register layouts of common meters, from their manuals.

Addresses are 0-based (what goes on the wire). Each manual's 1-based number is in the
comment: Eastron prints "30073" for total import kWh, i.e. input register address 72
(0x0048). Every organization gets a read-only copy of these (``profile_builtins_ensure``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class ValueDef:
    key: str
    label: str
    function_code: int
    address: int
    data_type: str
    word_order: str = "big"
    scale: Decimal = Decimal("1")
    unit: str = ""
    is_reading: bool = False


@dataclass(frozen=True)
class ProfileDef:
    key: str
    name: str
    manufacturer: str
    meter_type: str
    description: str
    values: tuple[ValueDef, ...]
    relay_kind: str = ""
    relay_address: int | None = None
    relay_on_value: int = 1
    relay_off_value: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def reading(self) -> ValueDef:
        return next(v for v in self.values if v.is_reading)


EASTRON_SDM630 = ProfileDef(
    key="eastron-sdm630",
    name="Eastron SDM630 (3-phase)",
    manufacturer="Eastron",
    meter_type="electricity",
    description="Input registers, IEEE float32, high word first. Manual numbers 3xxxx.",
    values=(
        # 30073 Total import kWh
        ValueDef("energy_import", "Total import energy", 4, 0x0048, "f32", unit="kWh",
                 is_reading=True),
        # 30075 Total export kWh
        ValueDef("energy_export", "Total export energy", 4, 0x004A, "f32", unit="kWh"),
        # 30053 Total system power
        ValueDef("power", "Total system power", 4, 0x0034, "f32", unit="W"),
        # 30001 Phase 1 line to neutral volts
        ValueDef("voltage_l1", "Voltage L1-N", 4, 0x0000, "f32", unit="V"),
    ),
)

EASTRON_SDM120 = ProfileDef(
    key="eastron-sdm120",
    name="Eastron SDM120 (1-phase)",
    manufacturer="Eastron",
    meter_type="electricity",
    description="Input registers, IEEE float32, high word first. Manual numbers 3xxxx.",
    values=(
        # 30073 Import active energy
        ValueDef("energy_import", "Import active energy", 4, 0x0048, "f32", unit="kWh",
                 is_reading=True),
        # 30013 Active power
        ValueDef("power", "Active power", 4, 0x000C, "f32", unit="W"),
        # 30001 Voltage
        ValueDef("voltage_l1", "Voltage", 4, 0x0000, "f32", unit="V"),
    ),
)

CARLO_GAVAZZI_EM24 = ProfileDef(
    key="carlo-gavazzi-em24",
    name="Carlo Gavazzi EM24",
    manufacturer="Carlo Gavazzi",
    meter_type="electricity",
    description="INT32 with the LOW word first (CDAB); energy in tenths of kWh.",
    values=(
        # 0x0042 kWh (+) TOT, INT32, weight kWh×10
        ValueDef("energy_import", "kWh (+) total", 3, 0x0042, "i32", "little",
                 Decimal("0.1"), "kWh", is_reading=True),
        # 0x0028 W sys, INT32, weight W×10
        ValueDef("power", "W system", 3, 0x0028, "i32", "little", Decimal("0.1"), "W"),
    ),
)

SCHNEIDER_IEM3255 = ProfileDef(
    key="schneider-iem3255",
    name="Schneider Electric iEM3255",
    manufacturer="Schneider Electric",
    meter_type="electricity",
    description="Holding registers. Total active energy import is INT64 in Wh "
    "(manual register 3204 → address 3203), scaled to kWh.",
    values=(
        # 3204 Total Active Energy Import, INT64, Wh
        ValueDef("energy_import", "Total active energy import", 3, 3203, "i64",
                 scale=Decimal("0.001"), unit="kWh", is_reading=True),
        # 3060 Total Active Power, Float32, kW
        ValueDef("power", "Total active power", 3, 3059, "f32", unit="kW"),
    ),
)

MBUS_WATER = ProfileDef(
    key="mbus-water",
    name="Water meter via M-Bus/Modbus gateway",
    manufacturer="Generic",
    meter_type="cold_water",
    description="A water meter read by an M-Bus-to-Modbus converter that maps its volume "
    "to holding registers as an unsigned 32-bit count of litres; valve on coil 0.",
    values=(
        ValueDef("volume", "Volume", 3, 0x0000, "u32", scale=Decimal("0.001"), unit="m³",
                 is_reading=True),
        ValueDef("flow", "Flow", 3, 0x0002, "u16", scale=Decimal("0.001"), unit="m³/h"),
    ),
    relay_kind="coil",
    relay_address=0,
)

MBUS_HEAT = ProfileDef(
    key="mbus-heat",
    name="Heat meter via M-Bus/Modbus gateway",
    manufacturer="Generic",
    meter_type="heat",
    description="A heat meter behind an M-Bus-to-Modbus converter: energy as an unsigned "
    "32-bit count of kWh, volume in litres.",
    values=(
        ValueDef("energy", "Heat energy", 3, 0x0000, "u32", unit="kWh", is_reading=True),
        ValueDef("volume", "Volume", 3, 0x0002, "u32", scale=Decimal("0.001"), unit="m³"),
    ),
)

PREPAID_RELAY = ProfileDef(
    key="prepaid-relay",
    name="Prepaid meter with load relay (generic)",
    manufacturer="Generic",
    meter_type="electricity",
    description="A DIN-rail prepaid meter: energy as unsigned 32-bit hundredths of kWh in "
    "holding registers, load relay on coil 0 (ON = supply on).",
    values=(
        ValueDef("energy_import", "Active energy", 3, 0x0000, "u32", scale=Decimal("0.01"),
                 unit="kWh", is_reading=True),
    ),
    relay_kind="coil",
    relay_address=0,
)

BUILTIN_PROFILES: dict[str, ProfileDef] = {
    p.key: p
    for p in (
        EASTRON_SDM630,
        EASTRON_SDM120,
        CARLO_GAVAZZI_EM24,
        SCHNEIDER_IEM3255,
        MBUS_WATER,
        MBUS_HEAT,
        PREPAID_RELAY,
    )
}
