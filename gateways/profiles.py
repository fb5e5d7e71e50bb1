"""Built-in meter profiles: the register layouts of common meters, from their manuals.

Addresses are 0-based (what goes on the wire). Each manual's 1-based number is in the
comment: Eastron prints "30073" for total import kWh, i.e. input register address 72
(0x0048). Every organization gets a read-only copy of these (``profile_builtins_ensure``).

Each profile names the maker's document it follows (``source``: title, version, table),
and ``tests/gateways/test_builtin_profiles.py`` checks every reading register against
words encoded by hand from that document. Changing a reading register of a built-in
profile that organizations already use needs a migration that moves their meters over
as a register switch (see ``gateways.services.register_switch``), never a plain edit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

D = Decimal


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
    #: Stored as a measurement of this quantity (``readings.measurements.models.Quantity``)
    #: by gateways that poll measurements; "" for values only shown.
    quantity: str = ""


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
    #: The maker's register map this profile follows: title, version, table / page.
    source: str = ""
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
    source="Eastron, SDM630 Modbus Protocol (SDM630-Modbus V2), section \"Input Registers\" "
    "(function 04), parameters 1, 27, 37, 38: 30001 Phase 1 line to neutral volts, 30053 "
    "Total system power (W), 30073 Total import kWh, 30075 Total export kWh; all IEEE 754 "
    "float, 2 registers, high word first. Measurements (same table): 30001/30003/30005 "
    "phase 1-3 line to neutral volts, 30007/30009/30011 phase 1-3 current (A), "
    "30013/30015/30017 phase 1-3 power (W), 30031/30033/30035 phase 1-3 power factor, "
    "30063 total system power factor, 30071 frequency (Hz); cross-checked with the "
    "SDM630 register inventory of plebann/eastron_SDM_HA_integration "
    "(docs/registers-sdm630.md) and ilseh/Oppleo SDM630v2.py.",
    values=(
        # 30073 Total import kWh
        ValueDef("energy_import", "Total import energy", 4, 0x0048, "f32", unit="kWh",
                 is_reading=True),
        # 30075 Total export kWh
        ValueDef("energy_export", "Total export energy", 4, 0x004A, "f32", unit="kWh"),
        # 30053 Total system power
        ValueDef("power", "Total system power", 4, 0x0034, "f32", unit="W",
                 quantity="active_power"),
        # 30001 / 30003 / 30005 Phase 1-3 line to neutral volts
        ValueDef("voltage_l1", "Voltage L1-N", 4, 0x0000, "f32", unit="V",
                 quantity="voltage_l1"),
        ValueDef("voltage_l2", "Voltage L2-N", 4, 0x0002, "f32", unit="V",
                 quantity="voltage_l2"),
        ValueDef("voltage_l3", "Voltage L3-N", 4, 0x0004, "f32", unit="V",
                 quantity="voltage_l3"),
        # 30007 / 30009 / 30011 Phase 1-3 current
        ValueDef("current_l1", "Current L1", 4, 0x0006, "f32", unit="A", quantity="current_l1"),
        ValueDef("current_l2", "Current L2", 4, 0x0008, "f32", unit="A", quantity="current_l2"),
        ValueDef("current_l3", "Current L3", 4, 0x000A, "f32", unit="A", quantity="current_l3"),
        # 30013 / 30015 / 30017 Phase 1-3 power
        ValueDef("power_l1", "Power L1", 4, 0x000C, "f32", unit="W",
                 quantity="active_power_l1"),
        ValueDef("power_l2", "Power L2", 4, 0x000E, "f32", unit="W",
                 quantity="active_power_l2"),
        ValueDef("power_l3", "Power L3", 4, 0x0010, "f32", unit="W",
                 quantity="active_power_l3"),
        # 30031 / 30033 / 30035 Phase 1-3 power factor (sign: the nature of the load)
        ValueDef("power_factor_l1", "Power factor L1", 4, 0x001E, "f32",
                 quantity="power_factor_l1"),
        ValueDef("power_factor_l2", "Power factor L2", 4, 0x0020, "f32",
                 quantity="power_factor_l2"),
        ValueDef("power_factor_l3", "Power factor L3", 4, 0x0022, "f32",
                 quantity="power_factor_l3"),
        # 30063 Total system power factor
        ValueDef("power_factor", "Total system power factor", 4, 0x003E, "f32",
                 quantity="power_factor"),
        # 30071 Frequency of supply voltages
        ValueDef("frequency", "Frequency", 4, 0x0046, "f32", unit="Hz", quantity="frequency"),
    ),
)

EASTRON_SDM120 = ProfileDef(
    key="eastron-sdm120",
    name="Eastron SDM120 (1-phase)",
    manufacturer="Eastron",
    meter_type="electricity",
    description="Input registers, IEEE float32, high word first. Manual numbers 3xxxx.",
    source="Eastron, SDM120-Modbus Protocol (V2.x), section \"Input Registers\" (function "
    "04): 30001 Voltage (V), 30013 Active power (W), 30073 Import active energy (kWh); all "
    "IEEE 754 float, 2 registers, high word first.",
    values=(
        # 30073 Import active energy
        ValueDef("energy_import", "Import active energy", 4, 0x0048, "f32", unit="kWh",
                 is_reading=True),
        # 30013 Active power
        ValueDef("power", "Active power", 4, 0x000C, "f32", unit="W", quantity="active_power"),
        # 30001 Voltage
        ValueDef("voltage_l1", "Voltage", 4, 0x0000, "f32", unit="V", quantity="voltage_l1"),
    ),
)

CARLO_GAVAZZI_EM24 = ProfileDef(
    key="carlo-gavazzi-em24",
    name="Carlo Gavazzi EM24",
    manufacturer="Carlo Gavazzi",
    meter_type="electricity",
    description="INT32 with the LOW word first (CDAB); energy in tenths of kWh. Reads "
    "kWh (+) TOT, the sum of the three phases (0x0040/0x0042/0x0044 are the per-phase "
    "counters L1/L2/L3).",
    source="Carlo Gavazzi, EM24-DIN Communication Protocol (Version 3), section 2.3 "
    "\"Instantaneous variables and meters\", read with function 03 or 04: 300041 / 0028h "
    "W sys INT32 (weight W×10); 300053 / 0034h kWh (+) TOT INT32 (weight kWh×10); "
    "300065 / 0040h, 300067 / 0042h, 300069 / 0044h kWh (+) L1, L2, L3; INT32 sent least "
    "significant word first (section 2.1 data format). The same map is in Victron "
    "dbus-modbus-client carlo_gavazzi.py (EM24: 0x0034 /Ac/Energy/Forward, 0x0040 + 2·(n−1) "
    "per phase). Before release 13 this profile read 0x0042 (phase L2 only). Measurements, "
    "as the same protocol and Victron's EM24 register list give them: 0000h/0002h/0004h V "
    "L1-N..L3-N INT32 (V×10), 000Ch/000Eh/0010h A L1..L3 INT32 (A×1000), "
    "0012h/0014h/0016h W L1..L3 INT32 (W×10), 0028h W sys, 0033h Hz (Hz×10); INT32 low word "
    "first.",
    values=(
        # 300053 / 0034h kWh (+) TOT, INT32 low word first, weight kWh×10
        ValueDef("energy_import", "kWh (+) total", 3, 0x0034, "i32", "little",
                 D("0.1"), "kWh", is_reading=True),
        # 300041 / 0028h W sys, INT32 low word first, weight W×10
        ValueDef("power", "W system", 3, 0x0028, "i32", "little", D("0.1"), "W",
                 quantity="active_power"),
        # 0000h / 0002h / 0004h V L1-N, L2-N, L3-N, INT32 low word first, weight V×10
        ValueDef("voltage_l1", "V L1-N", 3, 0x0000, "i32", "little", D("0.1"), "V",
                 quantity="voltage_l1"),
        ValueDef("voltage_l2", "V L2-N", 3, 0x0002, "i32", "little", D("0.1"), "V",
                 quantity="voltage_l2"),
        ValueDef("voltage_l3", "V L3-N", 3, 0x0004, "i32", "little", D("0.1"), "V",
                 quantity="voltage_l3"),
        # 000Ch / 000Eh / 0010h A L1, L2, L3, INT32 low word first, weight A×1000
        ValueDef("current_l1", "A L1", 3, 0x000C, "i32", "little", D("0.001"), "A",
                 quantity="current_l1"),
        ValueDef("current_l2", "A L2", 3, 0x000E, "i32", "little", D("0.001"), "A",
                 quantity="current_l2"),
        ValueDef("current_l3", "A L3", 3, 0x0010, "i32", "little", D("0.001"), "A",
                 quantity="current_l3"),
        # 0012h / 0014h / 0016h W L1, L2, L3, INT32 low word first, weight W×10
        ValueDef("power_l1", "W L1", 3, 0x0012, "i32", "little", D("0.1"), "W",
                 quantity="active_power_l1"),
        ValueDef("power_l2", "W L2", 3, 0x0014, "i32", "little", D("0.1"), "W",
                 quantity="active_power_l2"),
        ValueDef("power_l3", "W L3", 3, 0x0016, "i32", "little", D("0.1"), "W",
                 quantity="active_power_l3"),
        # 0033h Hz, 16 bits, weight Hz×10
        ValueDef("frequency", "Hz", 3, 0x0033, "u16", scale=D("0.1"), unit="Hz",
                 quantity="frequency"),
    ),
)

SCHNEIDER_IEM3255 = ProfileDef(
    key="schneider-iem3255",
    name="Schneider Electric iEM3255",
    manufacturer="Schneider Electric",
    meter_type="electricity",
    description="Holding registers. Total active energy import is INT64 in Wh "
    "(manual register 3204 → address 3203), scaled to kWh.",
    source="Schneider Electric, iEM3100 / iEM3200 / iEM3300 series User manual "
    "(DOCA0005EN), chapter \"Communications via Modbus RS-485\", Modbus register list: "
    "3060 Total Active Power, Float32, kW; 3204 Total Active Energy Import, INT64, Wh; "
    "function 03; the manual's register number is the wire address + 1; words high first. "
    "Measurements, from the same list (Float32): 3000/3002/3004 Current I1-I3 (A), "
    "3028/3030/3032 Voltage L1-N..L3-N (V), 3054/3056/3058 Active power phase 1-3 (kW), "
    "3110 Frequency (Hz); cross-checked with SolarNetwork's PM3200Register (the iEM3255 "
    "map). The power factor registers (3078-3084) use Schneider's four-quadrant encoding "
    "(values beyond ±1) and are left out.",
    values=(
        # 3204 Total Active Energy Import, INT64, Wh
        ValueDef("energy_import", "Total active energy import", 3, 3203, "i64",
                 scale=D("0.001"), unit="kWh", is_reading=True),
        # 3060 Total Active Power, Float32, kW
        ValueDef("power", "Total active power", 3, 3059, "f32", unit="kW",
                 quantity="active_power"),
        # 3000 / 3002 / 3004 Current I1, I2, I3, Float32, A
        ValueDef("current_l1", "Current I1", 3, 2999, "f32", unit="A", quantity="current_l1"),
        ValueDef("current_l2", "Current I2", 3, 3001, "f32", unit="A", quantity="current_l2"),
        ValueDef("current_l3", "Current I3", 3, 3003, "f32", unit="A", quantity="current_l3"),
        # 3028 / 3030 / 3032 Voltage L1-N, L2-N, L3-N, Float32, V
        ValueDef("voltage_l1", "Voltage L1-N", 3, 3027, "f32", unit="V", quantity="voltage_l1"),
        ValueDef("voltage_l2", "Voltage L2-N", 3, 3029, "f32", unit="V", quantity="voltage_l2"),
        ValueDef("voltage_l3", "Voltage L3-N", 3, 3031, "f32", unit="V", quantity="voltage_l3"),
        # 3054 / 3056 / 3058 Active power phase 1, 2, 3, Float32, kW
        ValueDef("power_l1", "Active power phase 1", 3, 3053, "f32", unit="kW",
                 quantity="active_power_l1"),
        ValueDef("power_l2", "Active power phase 2", 3, 3055, "f32", unit="kW",
                 quantity="active_power_l2"),
        ValueDef("power_l3", "Active power phase 3", 3, 3057, "f32", unit="kW",
                 quantity="active_power_l3"),
        # 3110 Frequency, Float32, Hz
        ValueDef("frequency", "Frequency", 3, 3109, "f32", unit="Hz", quantity="frequency"),
    ),
)

MBUS_WATER = ProfileDef(
    key="mbus-water",
    name="Water meter via M-Bus/Modbus gateway",
    manufacturer="Generic",
    meter_type="cold_water",
    description="A water meter read by an M-Bus-to-Modbus converter that maps its volume "
    "to holding registers as an unsigned 32-bit count of litres; valve on coil 0.",
    source="No maker's map: the layout the converter is set up with (a generic M-Bus to "
    "Modbus converter maps what it is told to). Configure the converter to match, or copy "
    "this profile and enter the converter's own addresses.",
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
    source="No maker's map: the layout the converter is set up with (see the water "
    "profile).",
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
    source="No single maker's map: the common layout of DIN-rail prepaid meters; check the "
    "meter's own map and copy this profile if it differs.",
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


# --- environmental sensors ---------------------------------------------------------------
#
# Register layouts of Modbus sensors (``gateways.models.SensorMap.layout``): every value is
# a measurement of the sensor, there is no reading register. Built-in only for now.

SHT20_XY_MD02 = ProfileDef(
    key="sht20-xy-md02",
    name="SHT20 temperature and humidity transmitter (XY-MD02)",
    manufacturer="Generic (SHT20 / XY-MD02)",
    meter_type="",
    description="Input registers (function 04): temperature and relative humidity in tenths.",
    source="The SHT20 RS485 transmitter's register list as verified on the device by "
    "e-tinkers/Modbus-RTU (examples/SHT20: input register 0x0001 temperature, 0x0002 "
    "humidity, tenths of °C and %RH) and the same map in t-teja/Sensors XY-MD02-Modbus.py "
    "and the ya-modbus XY-MD1 driver (readInputRegisters(1, 2), ×0.1); temperature is "
    "signed (below 0 °C).",
    values=(
        ValueDef("temperature", "Temperature", 4, 0x0001, "i16", scale=D("0.1"), unit="°C",
                 quantity="temperature"),
        ValueDef("humidity", "Relative humidity", 4, 0x0002, "u16", scale=D("0.1"), unit="%",
                 quantity="humidity"),
    ),
)

SENSOR_PROFILES: dict[str, ProfileDef] = {p.key: p for p in (SHT20_XY_MD02,)}
