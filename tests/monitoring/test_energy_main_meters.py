"""Main meters and their sub-meters in the energy report and the dashboard: every kWh is
counted once. A main meter measures its sub-meters' energy again, so above the meter level
its billing point carries only what the sub-meters do not measure (main − sub-meters:
common use and losses), and a property's total is the main meter's, not main + subs.

Hand arithmetic (Zurich, 2 and 3 November 2026, no DST change; every meter read on the
hour from 2 Nov 00:00 local to 4 Nov 00:00 local: 48 complete hours):

* M-1, the house connection at "Services": 10 kWh an hour → 480 kWh
* S-1 (sub-meter of M-1) at "Flat A": 3 kWh an hour → 144 kWh
* S-2 (sub-meter of M-1) at "Flat B": 4 kWh an hour → 192 kWh
* W-1 (water, no main meter) at "Flat A": 1 m³ an hour → 48 m³
* E-9 (electricity, no main meter) at "Flat B": 0.5 kWh an hour → 24 kWh

By billing point: Services 480 − 144 − 192 = 144 kWh; Flat A 144 kWh and 48 m³; Flat B
192 + 24 = 216 kWh. Property: 144 + 144 + 216 = 504 kWh = M-1 480 + E-9 24 (not 840).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billspree.core.timefmt import local_midnight
from meters.models import BillingPoint, Meter, MeterAssignment, MeterType, Property
from monitoring.selectors import energy_report
from monitoring.selectors.dashboard import energy_dashboard
from monitoring.selectors.energy import Ref
from monitoring.selectors.trends import selection_of, trend
from tests.readings.helpers import ingest

pytestmark = pytest.mark.django_db

ZURICH = ZoneInfo("Europe/Zurich")
H = timedelta(hours=1)
START = local_midnight(date(2026, 11, 2), ZURICH).astimezone(UTC)
FIRST, LAST = date(2026, 11, 2), date(2026, 11, 3)
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _meter(serial, bp, rate, type_=MeterType.ELECTRICITY, unit="kWh", parent=None):
    meter = Meter.objects.create(serial_number=serial, type=type_, unit=unit,
                                 register_digits=6, parent=parent)
    MeterAssignment.objects.create(meter=meter, billing_point=bp, connected_at=START,
                                   initial_reading=Decimal(0))
    return meter, rate


@pytest.fixture
def house(in_org_a):
    prop = Property.objects.create(name="Zentrum", time_zone="Europe/Zurich")
    bps = {name: BillingPoint.objects.create(property=prop, connection_id=f"ZT-{n}", name=name,
                                             area_m2=Decimal(area) if area else None)
           for n, (name, area) in enumerate((("Services", None), ("Flat A", "60"),
                                             ("Flat B", "80")))}
    main, main_rate = _meter("M-1", bps["Services"], Decimal(10))
    meters = [(main, main_rate), _meter("S-1", bps["Flat A"], Decimal(3), parent=main),
              _meter("S-2", bps["Flat B"], Decimal(4), parent=main),
              _meter("W-1", bps["Flat A"], Decimal(1), MeterType.COLD_WATER, "m³"),
              _meter("E-9", bps["Flat B"], Decimal("0.5"))]
    rows = [(m.serial_number, (START + k * H).isoformat(), str(rate * k))
            for k in range(1, 49) for m, rate in meters]
    ingest(*rows, now=NOW)
    return prop, bps


def _rows(report):
    return [(tuple(v.name if isinstance(v, Ref) else v for v in r.keys.values()), r.unit,
             r.quantity) for r in report.rows]


def test_by_billing_point_the_main_meters_point_has_only_what_the_subs_do_not_measure(house):
    report = energy_report(first=FIRST, last=LAST, group_by="billing_point")
    assert sorted(_rows(report)) == [
        (("Flat A",), "kWh", Decimal("144.0000")),
        (("Flat A",), "m³", Decimal("48.0000")),
        (("Flat B",), "kWh", Decimal("216.0000")),
        (("Services",), "kWh", Decimal("144.0000")),
    ]
    assert report.totals == {"kWh": Decimal("504.0000"), "m³": Decimal("48.0000")}


def test_a_property_counts_the_main_meter_once(house):
    by_property = energy_report(first=FIRST, last=LAST, group_by="property,meter_type")
    assert _rows(by_property) == [
        (("Zentrum", "cold_water"), "m³", Decimal("48.0000")),
        (("Zentrum", "electricity"), "kWh", Decimal("504.0000")),
    ]
    monthly = energy_report(first=date(2026, 11, 1), last=date(2026, 11, 30),
                            group_by="property,month")
    assert monthly.grain == "month"
    assert ((("Zentrum", date(2026, 11, 1)), "kWh", Decimal("504.0000"))
            in _rows(monthly))


def test_by_meter_every_meter_shows_what_it_measured(house):
    report = energy_report(first=FIRST, last=LAST, group_by="meter", meter_type="electricity")
    assert sorted(_rows(report)) == [
        (("E-9",), "kWh", Decimal("24.0000")), (("M-1",), "kWh", Decimal("480.0000")),
        (("S-1",), "kWh", Decimal("144.0000")), (("S-2",), "kWh", Decimal("192.0000"))]


def test_hour_by_hour_and_filtered_to_the_main_meters_point(house):
    _, bps = house
    hourly = energy_report(first=FIRST, last=FIRST, group_by="billing_point,hour",
                           billing_point_id=bps["Services"].pk)
    assert hourly.grain == "hour"
    assert [r.quantity for r in hourly.rows] == [Decimal("3.0000")] * 24  # 10 − 3 − 4


def test_the_dashboard_counts_each_kwh_once_and_ranks_the_remainder(house):
    dash = energy_dashboard(month=date(2026, 11, 1), now=NOW)
    electricity = next(t for t in dash.types if t.meter_type == "electricity")
    assert electricity.unit == "kWh" and electricity.quantities["this_month"] == Decimal("504.0000")
    top = dash.top[("electricity", "kWh")]
    assert [(c.billing_point.name, c.quantity) for c in top] == [
        ("Flat B", Decimal("216.0000")), ("Flat A", Decimal("144.0000")),
        ("Services", Decimal("144.0000"))]


def test_trends_count_each_kwh_once_and_a_main_meter_chosen_as_a_meter_is_gross(house):
    prop, bps = house
    main = Meter.objects.get(serial_number="M-1")

    def total(resolution="day", **chosen):
        t = trend(first=FIRST, last=LAST, resolution=resolution, meter_type="electricity",
                  selection=selection_of(**chosen))
        return t.total, [p.quantity for p in t.points]

    assert total() == (Decimal("504.0000"), [Decimal("252.0000")] * 2)  # everything
    assert total(properties=[prop.pk])[0] == Decimal("504.0000")
    assert total(billing_points=[bps["Services"].pk])[0] == Decimal("144.0000")
    assert total(billing_points=[bps["Services"].pk, bps["Flat A"].pk])[0] == Decimal("288.0000")
    assert total(meters=[main.pk])[0] == Decimal("480.0000")
    hourly = total("hour", billing_points=[bps["Services"].pk])[1]
    assert hourly == [Decimal("3.0000")] * 48


def test_days_a_sub_meter_lags_its_main_meter_are_listed_as_incomplete(house):
    """S-2's readings stop after 2 Nov: on 3 Nov M-1 has 240 kWh and S-2 none, so the
    Services remainder that day is 240 − 72 (S-1) = 168 kWh, holding S-2's use. Totals stay
    right (every kWh once); the report lists the day, per sub-meter. By meter no netting,
    so nothing is listed. Once S-2's readings arrive the list is empty."""
    from readings.models import DailyConsumption

    DailyConsumption.objects.filter(meter__serial_number="S-2", day=LAST).delete()
    report = energy_report(first=FIRST, last=LAST, group_by="billing_point")
    services = [r.quantity for r in report.rows if r.keys["billing_point"].name == "Services"]
    assert services == [Decimal("144.0000") + Decimal("96.0000")]  # S-2's 3 Nov: 24 × 4
    assert report.totals["kWh"] == Decimal("504.0000")
    assert [(g.main_serial, g.sub_serial, g.first, g.last, g.days)
            for g in report.incomplete] == [("M-1", "S-2", LAST, LAST, 1)]
    assert energy_report(first=FIRST, last=FIRST, group_by="billing_point").incomplete == []
    assert energy_report(first=FIRST, last=LAST, group_by="meter").incomplete == []


def test_the_api_and_the_page_show_the_incomplete_days(house, world_a):
    from readings.models import DailyConsumption
    from tests.conftest import api_client, login_client

    DailyConsumption.objects.filter(meter__serial_number="S-1").delete()
    body = api_client(key=world_a.read_key).get("/api/v1/reports/energy/", {
        "from": FIRST.isoformat(), "to": LAST.isoformat(), "group_by": "property"}).json()
    s1 = Meter.objects.get(serial_number="S-1")
    assert body["incomplete"] == [{
        "main_meter": {"id": str(Meter.objects.get(serial_number="M-1").public_id),
                       "serial_number": "M-1"},
        "sub_meter": {"id": str(s1.public_id), "serial_number": "S-1"},
        "from": "2026-11-02", "to": "2026-11-03", "days": 2}]
    page = login_client(world_a.viewer, world_a.org).get("/monitoring/reports/energy/", {
        "from": FIRST.isoformat(), "to": LAST.isoformat(), "group_by": "property"})
    text = page.content.decode()
    assert 'data-testid="energy-incomplete"' in text
    assert "S-1 (sub-meter of M-1): 2–3 Nov 2026 (2 days)" in text
