"""Configuration that would make meters read wrong is refused, with the field and the reason,
through the service, the API and the portal alike, and nothing changes.

- a profile meters are mapped to cannot change how it reads them (name and description can);
- relay on/off values must differ, a coil takes 0 or 1, a register 0..65535;
- a register map's device id is 1..247 (0 is broadcast), in the database too;
- a gateway's host is a host name or an IP address, without scheme or port.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from gateways import services
from gateways.models import Gateway, Profile, RegisterMap
from meters.models import Property
from tests.conftest import api_client, login_client
from tests.gateways.factories import make_meter
from tests.gateways.helpers import make_gateway

API = "/api/v1/"
IN_USE = "This profile is used by 2 meters (e.g. SER-1, SER-2)"
COPY_HINT = "Copy the profile and move the meters instead."

ENERGY = {
    "key": "energy_import",
    "label": "Energy",
    "function_code": 3,
    "address": 0,
    "data_type": "u32",
    "word_order": "big",
    "scale": Decimal("0.01"),
    "unit": "kWh",
    "is_reading": True,
}
POWER = {
    **ENERGY,
    "key": "power",
    "label": "Power",
    "address": 10,
    "unit": "W",
    "is_reading": False,
}

def profile_form(name: str, *, relay_on_value: int) -> dict:
    """The portal's profile form: an electricity profile with a coil relay and the energy
    register as its reading value."""
    data = {
        "name": name,
        "meter_type": "electricity",
        "relay_kind": "coil",
        "relay_address": 0,
        "relay_on_value": relay_on_value,
        "relay_off_value": 0,
        "values-TOTAL_FORMS": 1,
        "values-INITIAL_FORMS": 0,
    }
    data.update({f"values-0-{k}": v for k, v in ENERGY.items() if k != "is_reading"})
    data["values-0-is_reading"] = "on"
    return data


#: Changes of the reading value that change what its meters read.
READING_CHANGES = [
    {"unit": "Wh"},
    {"function_code": 4},
    {"address": 1},
    {"data_type": "i32"},
    {"word_order": "little"},
    {"scale": Decimal("0.001")},
]
#: Changes of the profile itself that change what its meters read or how they are switched.
PROFILE_CHANGES = [
    {"meter_type": "heat"},
    {"relay_kind": "register", "relay_on_value": 1, "relay_off_value": 2},
    {"relay_kind": ""},
    {"relay_address": 5},
    {"relay_on_value": 0, "relay_off_value": 1},
]
HOSTS_REFUSED = [
    "http://10.0.0.5:502",
    "10.0.0.5:502",
    "10.0.0.5 ",  # trailing space is trimmed, so this one is fine; see below
    "10.0. 0.5",
    "gw basement",
    "tcp://gw.local",
    "[::1]",
    "10.0.0.256",
    "-gw.local",
    "gw_1.local",
    "gw..local",
]
HOSTS_REFUSED.remove("10.0.0.5 ")
HOSTS_ACCEPTED = ["10.0.0.5", "gw-basement", "gw1.site.example.net", "::1", "fe80::1", "gw.local."]


def custom_profile(name: str = "Prepaid custom", **fields) -> Profile:
    defaults = {"meter_type": "electricity", "relay_kind": "coil", "relay_address": 0}
    return services.profile_create(name=name, values=[ENERGY, POWER], **{**defaults, **fields})


@pytest.fixture
def in_use(in_org_a):
    """A custom electricity profile (kWh, coil relay) read by meters SER-1 and SER-2."""
    gateway = make_gateway(None)
    profile = custom_profile()
    for device_id, serial in ((1, "SER-1"), (2, "SER-2")):
        services.register_map_create(
            meter=make_meter(serial), gateway=gateway, device_id=device_id, profile=profile
        )
    return profile


def setup_of(profile: Profile) -> tuple:
    """Everything a profile decides, as stored."""
    profile = Profile.objects.get(pk=profile.pk)
    values = sorted(
        profile.values.values_list(
            "key", "function_code", "address", "data_type", "word_order", "scale", "unit"
        )
    )
    relay = (profile.relay_kind, profile.relay_address, profile.relay_on_value)
    return profile.name, profile.meter_type, relay, profile.relay_off_value, values


def post_json(client, url, data, method="post"):
    return getattr(client, method)(url, data=json.dumps(data), content_type="application/json")


def api_values(reading_change: dict | None = None) -> list[dict]:
    energy = {**ENERGY, **(reading_change or {})}
    return [{**v, "scale": str(v["scale"])} for v in (energy, POWER)]


def fields_of(response) -> dict:
    return response.json()["error"]["fields"]


# --- 1. a profile in use -------------------------------------------------------------------


@pytest.mark.parametrize("change", READING_CHANGES, ids=lambda c: next(iter(c)))
def test_service_refuses_changing_the_reading_value_of_a_profile_in_use(in_use, change):
    before = setup_of(in_use)
    with pytest.raises(ValidationError) as exc:
        services.profile_update(profile=in_use, values=[{**ENERGY, **change}, POWER])
    message = exc.value.message_dict["values"][0]
    field = next(iter(change)).replace("_", " ")
    assert f"The reading value's {field} cannot change" in message
    assert IN_USE in message and COPY_HINT in message
    assert setup_of(in_use) == before


@pytest.mark.parametrize("change", PROFILE_CHANGES, ids=lambda c: "+".join(c))
def test_service_refuses_changing_how_a_profile_in_use_reads_or_switches(in_use, change):
    before = setup_of(in_use)
    with pytest.raises(ValidationError) as exc:
        services.profile_update(profile=in_use, **change)
    errors = exc.value.message_dict
    changed = {f for f in change if getattr(Profile.objects.get(pk=in_use.pk), f) != change[f]}
    assert changed <= set(errors), errors
    for field in changed:
        assert IN_USE in errors[field][0] and COPY_HINT in errors[field][0]
    assert setup_of(in_use) == before


def test_heat_in_wh_on_a_profile_read_by_kwh_electricity_meters_is_refused(in_use):
    """The audit's case: readings of SER-1 and SER-2 would have been off by ×1000."""
    with pytest.raises(ValidationError) as exc:
        services.profile_update(
            profile=in_use, meter_type="heat", values=[{**ENERGY, "unit": "Wh"}, POWER]
        )
    errors = exc.value.message_dict
    assert "The meter type cannot change" in errors["meter_type"][0]
    assert "The reading value's unit cannot change" in errors["values"][0]
    assert Profile.objects.get(pk=in_use.pk).meter_type == "electricity"
    assert Profile.objects.get(pk=in_use.pk).reading_value().unit == "kWh"


def test_one_meter_is_named_without_e_g(in_org_a):
    profile = custom_profile()
    services.register_map_create(
        meter=make_meter("ONLY-1"), gateway=make_gateway(None), device_id=1, profile=profile
    )
    with pytest.raises(ValidationError) as exc:
        services.profile_update(profile=profile, meter_type="heat")
    assert "used by 1 meter (ONLY-1);" in exc.value.message_dict["meter_type"][0]


def test_profile_in_use_keeps_allowing_what_does_not_change_readings(in_use):
    services.profile_update(
        profile=in_use,
        name="Prepaid (block C)",
        description="Relay on coil 0.",
        manufacturer="Acme",
        # the same reading value, re-sent as a form or an integrator sends it back
        values=[{**ENERGY, "scale": Decimal("0.01000000"), "label": "Active energy"}],
        meter_type="electricity",
        relay_kind="coil",
        relay_address=0,
        relay_on_value=1,
        relay_off_value=0,
    )
    profile = Profile.objects.get(pk=in_use.pk)
    assert profile.name == "Prepaid (block C)" and profile.description == "Relay on coil 0."
    assert [v.key for v in profile.values.all()] == ["energy_import"]  # power dropped: not read
    assert profile.reading_value().label == "Active energy"


def test_unused_profile_changes_freely_and_meters_move_to_a_changed_copy(in_use, in_org_a):
    copy = services.profile_copy(profile=in_use, name="Prepaid custom, register relay")
    services.profile_update(
        profile=copy,
        values=[{**ENERGY, "address": 100}],
        relay_kind="register",
        relay_address=40,
        relay_on_value=1,
        relay_off_value=2,
    )
    register_map = RegisterMap.objects.get(meter__serial_number="SER-1")
    services.register_map_update(register_map=register_map, profile=copy)
    assert RegisterMap.objects.get(pk=register_map.pk).profile == copy
    with pytest.raises(ValidationError, match="used by 1 meter \\(SER-1\\)"):
        services.profile_update(profile=copy, values=[{**ENERGY, "address": 101}])


def test_map_to_an_incompatible_profile_is_refused_on_create_and_on_change(in_use, in_org_a):
    heat = custom_profile("Heat in Wh", meter_type="heat", relay_kind="")
    services.profile_update(profile=heat, values=[{**ENERGY, "unit": "Wh"}])  # unused: fine
    register_map = RegisterMap.objects.get(meter__serial_number="SER-1")
    with pytest.raises(ValidationError) as exc:
        services.register_map_update(register_map=register_map, profile=heat)
    problems = " ".join(exc.value.message_dict["profile"])
    assert "reads heat meters; SER-1 is electricity" in problems
    assert "reads Wh but SER-1 registers kWh" in problems
    assert RegisterMap.objects.get(pk=register_map.pk).profile == in_use
    with pytest.raises(ValidationError) as exc:
        services.register_map_create(
            meter=make_meter("SER-3"), gateway=register_map.gateway, device_id=3, profile=heat
        )
    assert "profile" in exc.value.message_dict
    assert not RegisterMap.objects.filter(meter__serial_number="SER-3").exists()


def test_api_refuses_changing_a_profile_in_use_and_allows_renaming_it(in_use, in_org_a):
    client = api_client(key=in_org_a.write_key)
    url = API + f"gateway-profiles/{in_use.public_id}/"
    before = setup_of(in_use)
    r = post_json(client, url, {"meter_type": "heat"}, "patch")
    assert r.status_code == 400 and IN_USE in fields_of(r)["meter_type"][0]
    r = post_json(client, url, {"values": api_values({"unit": "Wh"})}, "patch")
    assert r.status_code == 400 and "unit cannot change" in fields_of(r)["values"][0]
    r = post_json(client, url, {"relay_address": 3}, "patch")
    assert r.status_code == 400 and COPY_HINT in fields_of(r)["relay_address"][0]
    assert setup_of(in_use) == before
    r = post_json(client, url, {"name": "Renamed", "values": api_values()}, "patch")
    assert r.status_code == 200, r.json()
    assert r.json()["name"] == "Renamed"


def test_portal_refuses_changing_a_profile_in_use_and_allows_renaming_it(in_use, in_org_a):
    client = login_client(in_org_a.manager, in_org_a.org)
    url = f"/gateways/profiles/{in_use.public_id}/edit/"
    data = profile_form(in_use.name, relay_on_value=1)
    before = setup_of(in_use)
    r = client.post(url, {**data, "meter_type": "heat", "values-0-unit": "Wh"})
    page = r.content.decode()
    assert r.status_code == 400
    assert 'data-field="meter_type"' in page and "The meter type cannot change" in page
    assert "The reading value&#x27;s unit cannot change" in page and "SER-1, SER-2" in page
    assert setup_of(in_use) == before
    r = client.post(url, {**data, "name": "Block C prepaid"})
    assert r.status_code == 302
    assert Profile.objects.get(pk=in_use.pk).name == "Block C prepaid"


# --- 2. relay values -----------------------------------------------------------------------

RELAY_REFUSED = [
    ({"relay_kind": "coil", "relay_on_value": 1, "relay_off_value": 1}, "relay_off_value"),
    ({"relay_kind": "register", "relay_on_value": 7, "relay_off_value": 7}, "relay_off_value"),
    ({"relay_kind": "coil", "relay_on_value": 2, "relay_off_value": 0}, "relay_on_value"),
    ({"relay_kind": "coil", "relay_on_value": 1, "relay_off_value": 255}, "relay_off_value"),
    ({"relay_kind": "register", "relay_on_value": 70000, "relay_off_value": 0}, "relay_on_value"),
    ({"relay_kind": "register", "relay_on_value": 1, "relay_off_value": -1}, "relay_off_value"),
]
RELAY_MESSAGES = {"coil": "either 0 (OFF) or 1 (ON)", "differ": "must differ", "u16": "0 to 65535"}


def relay_message(fields: dict) -> str:
    on, off = fields["relay_on_value"], fields["relay_off_value"]
    if not 0 <= on <= 65535 or not 0 <= off <= 65535:
        return RELAY_MESSAGES["u16"]
    if fields["relay_kind"] == "coil" and {on, off} - {0, 1}:
        return RELAY_MESSAGES["coil"]
    return RELAY_MESSAGES["differ"]


@pytest.mark.parametrize(("fields", "field"), RELAY_REFUSED)
def test_service_refuses_relay_values_that_cannot_work(in_org_a, fields, field):
    with pytest.raises(ValidationError) as exc:
        custom_profile("Bad relay", relay_address=0, **fields)
    assert relay_message(fields) in " ".join(exc.value.message_dict[field])
    assert not Profile.objects.filter(name="Bad relay").exists()
    profile = custom_profile("Good relay")  # unused, so only the values themselves matter
    with pytest.raises(ValidationError) as exc:
        services.profile_update(profile=profile, **fields)
    assert field in exc.value.message_dict
    stored = Profile.objects.get(pk=profile.pk)
    assert (stored.relay_kind, stored.relay_on_value, stored.relay_off_value) == ("coil", 1, 0)


def test_relay_values_that_work_are_accepted(in_org_a):
    register = custom_profile(
        "Register relay",
        relay_kind="register",
        relay_address=40,
        relay_on_value=0xFF00,
        relay_off_value=0,
    )
    assert (register.relay_on_value, register.relay_off_value) == (0xFF00, 0)
    inverted = custom_profile("Inverted coil", relay_on_value=0, relay_off_value=1)
    assert inverted.relay_on_value == 0
    no_relay = custom_profile(
        "No relay", relay_kind="", relay_address=None, relay_on_value=0, relay_off_value=0
    )  # unused without a relay
    assert not no_relay.has_relay
    with pytest.raises(ValidationError) as exc:
        custom_profile("Relay without address", relay_address=None)
    assert "address" in exc.value.message_dict["relay_address"][0]


def test_api_names_the_relay_field(in_org_a):
    client = api_client(key=in_org_a.write_key)
    base = {
        "name": "API relay",
        "meter_type": "electricity",
        "relay_address": 0,
        "values": api_values(),
    }
    r = post_json(
        client,
        API + "gateway-profiles/",
        {**base, "relay_kind": "coil", "relay_on_value": 1, "relay_off_value": 1},
    )
    assert r.status_code == 400 and "must differ" in fields_of(r)["relay_off_value"][0]
    r = post_json(
        client,
        API + "gateway-profiles/",
        {**base, "relay_kind": "coil", "relay_on_value": 3, "relay_off_value": 0},
    )
    assert r.status_code == 400 and "0 (OFF) or 1 (ON)" in fields_of(r)["relay_on_value"][0]
    r = post_json(
        client,
        API + "gateway-profiles/",
        {**base, "relay_kind": "register", "relay_on_value": 65536, "relay_off_value": 0},
    )
    assert r.status_code == 400 and "relay_on_value" in fields_of(r)
    assert not Profile.objects.filter(name="API relay").exists()


def test_portal_names_the_relay_field(in_org_a):
    client = login_client(in_org_a.manager, in_org_a.org)
    data = profile_form("Portal relay", relay_on_value=2)
    r = client.post("/gateways/profiles/new/", data)
    page = r.content.decode()
    assert r.status_code == 400 and 'data-field="relay_on_value"' in page
    assert "either 0 (OFF) or 1 (ON)" in page
    r = client.post("/gateways/profiles/new/", {**data, "relay_on_value": 0})
    assert r.status_code == 400 and 'data-field="relay_off_value"' in r.content.decode()
    assert "must differ from the on value" in r.content.decode()
    assert not Profile.objects.filter(name="Portal relay").exists()


# --- 3. device id --------------------------------------------------------------------------


@pytest.mark.parametrize("device_id", [0, 248, 255])
def test_service_refuses_device_ids_outside_1_to_247(in_org_a, device_id):
    gateway = make_gateway(None)
    sdm = Profile.objects.get(builtin="eastron-sdm120")
    meter = make_meter("DEV-1")
    with pytest.raises(ValidationError) as exc:
        services.register_map_create(meter=meter, gateway=gateway, device_id=device_id, profile=sdm)
    assert "device_id" in exc.value.message_dict
    assert not RegisterMap.objects.exists()
    register_map = services.register_map_create(
        meter=meter, gateway=gateway, device_id=247, profile=sdm
    )
    with pytest.raises(ValidationError) as exc:
        services.register_map_update(register_map=register_map, device_id=device_id)
    assert "device_id" in exc.value.message_dict
    assert RegisterMap.objects.get().device_id == 247


def test_database_refuses_device_id_0(in_org_a):
    gateway = make_gateway(None)
    sdm = Profile.objects.get(builtin="eastron-sdm120")
    register_map = services.register_map_create(
        meter=make_meter("DEV-DB"), gateway=gateway, device_id=1, profile=sdm
    )
    with pytest.raises(IntegrityError, match="register_map_device_id_range"), transaction.atomic():
        RegisterMap.objects.filter(pk=register_map.pk).update(device_id=0)
    assert RegisterMap.objects.get().device_id == 1


def test_api_and_portal_refuse_device_id_0(in_org_a):
    gateway = make_gateway(None)
    sdm = Profile.objects.get(builtin="eastron-sdm120")
    meter = make_meter("DEV-API")
    client = api_client(key=in_org_a.write_key)
    r = post_json(
        client,
        API + "register-maps/",
        {
            "meter": str(meter.public_id),
            "gateway": str(gateway.public_id),
            "device_id": 0,
            "profile": str(sdm.public_id),
        },
    )
    assert r.status_code == 400 and "device_id" in fields_of(r)
    portal = login_client(in_org_a.manager, in_org_a.org)
    r = portal.post(
        f"/gateways/{gateway.public_id}/meters/new/",
        {"meter": meter.pk, "device_id": 0, "profile": sdm.pk, "enabled": "on"},
    )
    assert r.status_code == 400 and 'data-field="device_id"' in r.content.decode()
    assert not RegisterMap.objects.exists()
    register_map = services.register_map_create(
        meter=meter, gateway=gateway, device_id=5, profile=sdm
    )
    r = post_json(
        client, API + f"register-maps/{register_map.public_id}/", {"device_id": 0}, "patch"
    )
    assert r.status_code == 400 and "device_id" in fields_of(r)
    r = portal.post(
        f"/gateways/meters/{register_map.public_id}/edit/",
        {"device_id": 0, "profile": sdm.pk, "enabled": "on"},
    )
    assert r.status_code == 400 and 'data-field="device_id"' in r.content.decode()
    assert RegisterMap.objects.get().device_id == 5


# --- 4. gateway host -----------------------------------------------------------------------


@pytest.mark.parametrize("host", HOSTS_REFUSED)
def test_service_refuses_hosts_with_scheme_port_or_spaces(in_org_a, host):
    with pytest.raises(ValidationError) as exc:
        make_gateway(None, host=host)
    message = exc.value.message_dict["host"][0]
    assert "without scheme or port (the port has its own field)" in message
    assert not Gateway.objects.exists()
    gateway = make_gateway(None, host="10.0.0.5")
    with pytest.raises(ValidationError):
        services.gateway_update(gateway=gateway, host=host)
    assert Gateway.objects.get().host == "10.0.0.5"


def test_host_names_and_addresses_are_accepted(in_org_a):
    for n, host in enumerate(HOSTS_ACCEPTED):
        assert make_gateway(None, name=f"GW {n}", host=host).host == host
    assert make_gateway(None, name="Trimmed", host="  10.0.0.9 ").host == "10.0.0.9"


def test_api_and_portal_refuse_a_host_with_scheme_and_port(in_org_a):
    prop = Property.objects.create(name="Mall")
    client = api_client(key=in_org_a.write_key)
    r = post_json(
        client,
        API + "gateways/",
        {
            "property": str(prop.public_id),
            "name": "Roof",
            "host": "http://10.0.0.5:502",
            "port": 502,
        },
    )
    assert r.status_code == 400
    assert "the port has its own field" in fields_of(r)["host"][0]
    portal = login_client(in_org_a.manager, in_org_a.org)
    form = {
        "property": prop.pk,
        "name": "Roof",
        "transport": "tcp",
        "host": "10.0.0.5:502",
        "port": 502,
        "timeout_ms": 2000,
        "retries": 2,
        "request_delay_ms": 20,
        "poll_interval_s": 900,
        "offline_after": 3,
        "enabled": "on",
    }
    r = portal.post("/gateways/new/", form)
    page = r.content.decode()
    assert r.status_code == 400 and 'data-field="host"' in page
    assert "without scheme or port" in page
    assert not Gateway.objects.exists()
    gateway = make_gateway(None, host="10.0.0.5")
    r = post_json(client, API + f"gateways/{gateway.public_id}/", {"host": "gw 1"}, "patch")
    assert r.status_code == 400 and "host" in fields_of(r)
    r = portal.post(
        f"/gateways/{gateway.public_id}/edit/",
        {**form, "name": gateway.name, "host": "tcp://gw.local"},
    )
    assert r.status_code == 400 and 'data-field="host"' in r.content.decode()
    assert Gateway.objects.get().host == "10.0.0.5"
