"""REST API of gateways: configuration by managers, polls and relays by operators."""

from __future__ import annotations

import json

from django_celery_beat.models import PeriodicTask

from billspree.core.models import AuditEvent
from gateways.models import Gateway, PollRun, Profile, RegisterMap
from meters.models import Property
from tests.conftest import api_client
from tests.gateways.factories import make_meter
from tests.gateways.helpers import make_gateway, map_default_layout

API = "/api/v1/"


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def test_manager_configures_a_gateway_and_its_meters(in_org_a, sim):
    client = api_client(key=in_org_a.write_key)
    prop = Property.objects.create(name="Mall")
    r = post(client, API + "gateways/", {
        "property": str(prop.public_id), "name": "Basement", "host": "127.0.0.1",
        "port": sim.port, "timeout_ms": 300, "poll_interval_s": 300,
    })
    assert r.status_code == 201, r.json()
    gateway = Gateway.objects.get(public_id=r.json()["id"])
    assert PeriodicTask.objects.filter(name=f"gateway-poll-{gateway.public_id}").exists()
    profiles = client.get(API + "gateway-profiles/?builtin=eastron-sdm630").json()["results"]
    sdm = profiles[0]
    assert sdm["values"][0]["address"] == 72 and sdm["values"][0]["register_number"] == 30073
    meter = make_meter("API-1")
    r = post(client, API + "register-maps/", {
        "meter": str(meter.public_id), "gateway": str(gateway.public_id), "device_id": 1,
        "profile": sdm["id"],
    })
    assert r.status_code == 201, r.json()
    assert r.json()["health"] == "unknown" and r.json()["meter_serial"] == "API-1"
    r = client.get(API + f"gateways/{gateway.public_id}/")
    assert r.json()["meter_count"] == 1 and r.json()["health"] == "unknown"
    assert AuditEvent.objects.filter(action="gateway.create", api_key__isnull=False).exists()


def test_bad_configuration_says_which_field(in_org_a):
    client = api_client(key=in_org_a.write_key)
    prop = Property.objects.create(name="Mall")
    r = post(client, API + "gateways/", {"property": str(prop.public_id), "name": "X",
                                         "host": "10.0.0.1", "port": 70000})
    assert r.status_code == 400 and "port" in r.json()["error"]["fields"]
    r = post(client, API + "gateway-profiles/", {
        "name": "Two readings", "meter_type": "electricity",
        "values": [{"key": k, "label": k, "function_code": 3, "address": 0, "data_type": "u32",
                    "word_order": "big", "scale": "1", "unit": "kWh", "is_reading": True}
                   for k in ("a", "b")],
    })
    assert r.status_code == 400 and "values" in r.json()["error"]["fields"]
    assert not Gateway.objects.exists() and not Profile.objects.filter(builtin="").exists()


def test_custom_profile_round_trip_and_builtins_are_read_only(in_org_a):
    client = api_client(key=in_org_a.write_key)
    value = {"key": "energy", "label": "Energy", "function_code": 3, "address": 0x42,
             "data_type": "i32", "word_order": "little", "scale": "0.1", "unit": "kWh",
             "is_reading": True}
    r = post(client, API + "gateway-profiles/", {"name": "My EM24", "meter_type": "electricity",
                                                 "values": [value]})
    assert r.status_code == 201, r.json()
    assert r.json()["values"][0]["register_number"] == 40067
    builtin = Profile.objects.get(builtin="eastron-sdm120")
    r = client.patch(API + f"gateway-profiles/{builtin.public_id}/", data={"name": "x"},
                     content_type="application/json")
    assert r.status_code == 409


def test_operator_polls_now_and_reads_health(in_org_a, sim, django_capture_on_commit_callbacks):
    gateway = make_gateway(sim)
    map_default_layout(gateway, 2)
    operator = api_client(user=in_org_a.operator)
    with django_capture_on_commit_callbacks(execute=True):
        r = operator.post(API + f"gateways/{gateway.public_id}/poll/")
    assert r.status_code == 202
    run = PollRun.objects.get()
    assert run.manual and run.status == "ok"
    health = operator.get(API + "gateways/health/").json()
    assert health["counts"] == {"online": 1}
    maps = operator.get(API + f"gateways/{gateway.public_id}/meters/").json()
    assert [m["health"] for m in maps] == ["online", "online"]
    runs = operator.get(API + f"gateways/{gateway.public_id}/runs/").json()
    assert runs[0]["readings_stored"] == 2
    viewer = api_client(key=in_org_a.read_key)
    assert viewer.post(API + f"gateways/{gateway.public_id}/poll/").status_code == 403
    assert operator.patch(API + f"gateways/{gateway.public_id}/", data={"name": "x"},
                          content_type="application/json").status_code == 403


def test_relay_by_api_reaches_the_meter_and_is_audited(in_org_a, sim):
    gateway = make_gateway(sim)
    relay_map = map_default_layout(gateway)[6]
    url = API + f"register-maps/{relay_map.public_id}/relay/"
    operator = api_client(user=in_org_a.operator)
    r = post(operator, url, {"action": "disconnect"})
    assert r.status_code == 400 and "reason" in r.json()["error"]["fields"]
    assert post(api_client(key=in_org_a.read_key), url,
                {"action": "disconnect", "reason": "x"}).status_code == 403
    assert sim.store.writes == []
    r = post(operator, url, {"action": "disconnect", "reason": "Unpaid since March"})
    assert r.status_code == 200, r.json()
    assert r.json()["relay_state"] == "disconnected"
    assert sim.store.meters[7].relay_on is False
    event = AuditEvent.objects.get(action="relay.off")
    assert event.actor == in_org_a.operator and event.detail["reason"] == "Unpaid since March"
    no_relay = RegisterMap.objects.get(device_id=1)
    r = post(operator, API + f"register-maps/{no_relay.public_id}/relay/",
             {"action": "connect", "reason": "x"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "no_relay"


def test_relay_read_by_api(in_org_a, sim):
    gateway = make_gateway(sim, timeout_ms=150, retries=0)
    relay_map = map_default_layout(gateway)[6]
    url = API + f"register-maps/{relay_map.public_id}/relay/read/"
    assert post(api_client(key=in_org_a.read_key), url, {}).status_code == 403
    sim.store.meters[7].set_relay(False, 1_772_445_600.0)
    r = post(api_client(user=in_org_a.operator), url, {})
    assert r.status_code == 200, r.json()
    assert r.json()["relay_state"] == "disconnected" and r.json()["relay_read_at"]
    sim.store.exceptions[7] = 0x0B
    r = post(api_client(user=in_org_a.operator), url, {})
    assert r.status_code == 409 and r.json()["error"]["code"] == "device_unreachable"


def test_relations_refuse_another_organizations_ids(populated):
    world_a, world_b = populated
    client = api_client(key=world_a.write_key)
    b = world_b.objects
    cases = [
        ("gateways/", "property", b["gateway"].property),
        ("register-maps/", "meter", b["gateway_meter"]),
        ("register-maps/", "gateway", b["gateway"]),
        ("register-maps/", "profile", b["profile"]),
    ]
    for url, field, foreign in cases:
        r = post(client, API + url, {field: str(foreign.public_id)})
        assert r.status_code == 400 and field in r.json()["error"]["fields"], (url, r.json())
        assert "in this organization" in r.json()["error"]["fields"][field][0]
    for name in ("gateway", "register_map", "profile", "poll_run", "gateway_error"):
        basename = {"gateway": "gateways", "register_map": "register-maps",
                    "profile": "gateway-profiles", "poll_run": "gateway-polls",
                    "gateway_error": "gateway-errors"}[name]
        assert client.get(API + f"{basename}/{b[name].public_id}/").status_code == 404
    r = post(client, API + f"register-maps/{b['register_map'].public_id}/relay/",
             {"action": "disconnect", "reason": "x"})
    assert r.status_code == 404


def test_list_endpoints_do_not_grow_queries_with_rows(in_org_a, sim):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api_client(key=in_org_a.read_key)

    def count(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    first = make_gateway(sim, name="G1")
    map_default_layout(first, 2)
    client.get(API + "gateways/")  # the key's last-use stamp is written once a minute
    urls = ["gateways/", "register-maps/", "gateway-profiles/", "gateway-polls/",
            "gateway-errors/"]
    before = {u: count(API + u) for u in urls}
    for i in range(3):
        map_default_layout(make_gateway(sim, name=f"G{i + 2}"), 2)
    after = {u: count(API + u) for u in urls}
    assert after == before
    assert len(client.get(API + "register-maps/").json()["results"]) == 8
