"""Portal pages of gateways: connectivity checks, poll now, configuration, relay, profiles."""

from __future__ import annotations

import re

from billspree.core.models import AuditEvent
from gateways.models import Gateway, PollRun, Profile, RegisterMap
from meters.models import Property
from tests.conftest import login_client
from tests.gateways.factories import make_meter
from tests.gateways.helpers import make_gateway, map_default_layout


def test_connectivity_page_shows_green_and_red_checks(
    in_org_a, sim, django_capture_on_commit_callbacks
):
    good = make_gateway(sim, name="Good gateway")
    map_default_layout(good, 2)
    bad = make_gateway(None, name="Dead gateway", offline_after=1, retries=0)
    map_default_layout(bad, 1)
    client = login_client(in_org_a.operator, in_org_a.org)
    page = client.get("/gateways/").content.decode()
    assert "No gateways yet" not in page and "Not polled yet" in page
    with django_capture_on_commit_callbacks(execute=True):
        for g in (good, bad):
            r = client.post(f"/gateways/{g.public_id}/poll/", {"next": "index"})
            assert r.status_code == 302 and r.url == "/gateways/"
    assert PollRun.objects.filter(manual=True).count() == 2
    page = client.get("/gateways/").content.decode()
    assert 'class="check check-ok"' in page and 'class="check check-bad"' in page
    assert "Cannot connect" in page
    partial = client.get("/gateways/?health=offline", HTTP_HX_REQUEST="true").content.decode()
    assert "Dead gateway" in partial and "Good gateway" not in partial and "<html" not in partial
    detail = client.get(f"/gateways/{good.public_id}/").content.decode()
    assert "SIM-" in detail and "ok" in detail and "Poll now" in detail
    # last success in words: "now" / "N seconds ago", never "0 minutes ago"
    last_success = re.search(r"Last success</span><span[^>]*>([^<]*)<", detail).group(1)
    assert last_success in ("now", "a second ago") or last_success.endswith("seconds ago"), (
        last_success)


def test_viewer_sees_but_cannot_poll_or_configure(in_org_a, sim):
    gateway = make_gateway(sim)
    viewer = login_client(in_org_a.viewer, in_org_a.org)
    page = viewer.get("/gateways/").content.decode()
    assert gateway.name in page and "Poll now" not in page and "Add gateway" not in page
    assert viewer.post(f"/gateways/{gateway.public_id}/poll/").status_code == 403
    assert viewer.post("/gateways/new/", {}).status_code == 403
    assert not PollRun.objects.exists()


def test_empty_state_says_what_to_do(in_org_a):
    page = login_client(in_org_a.manager, in_org_a.org).get("/gateways/").content.decode()
    assert "No gateways yet" in page and "Add gateway" in page


def test_manager_adds_gateway_and_maps_a_meter_with_errors_named(in_org_a):
    client = login_client(in_org_a.manager, in_org_a.org)
    prop = Property.objects.create(name="Mall")
    r = client.post("/gateways/new/", {"property": prop.pk, "name": "", "transport": "tcp",
                                       "host": "10.0.0.5", "port": 502, "timeout_ms": 2000,
                                       "retries": 2, "request_delay_ms": 20,
                                       "poll_interval_s": 900, "offline_after": 3})
    assert r.status_code == 400 and 'data-field="name"' in r.content.decode()
    assert not Gateway.objects.exists()
    r = client.post("/gateways/new/", {"property": prop.pk, "name": "Roof", "transport": "tcp",
                                       "host": "10.0.0.5", "port": 502, "timeout_ms": 2000,
                                       "retries": 2, "request_delay_ms": 20,
                                       "poll_interval_s": 900, "offline_after": 3,
                                       "enabled": "on"})
    gateway = Gateway.objects.get()
    assert r.status_code == 302 and r.url == f"/gateways/{gateway.public_id}/"
    form = client.get(f"/gateways/{gateway.public_id}/meters/new/").content.decode()
    assert "Addresses are 0-based" in form and "30073" in form
    water = make_meter("W-9", type="cold_water", unit="m³")
    sdm = Profile.objects.get(builtin="eastron-sdm120")
    r = client.post(f"/gateways/{gateway.public_id}/meters/new/",
                    {"meter": water.pk, "device_id": 3, "profile": sdm.pk, "enabled": "on"})
    assert r.status_code == 400 and "reads electricity meters" in r.content.decode()
    meter = make_meter("E-9")
    r = client.post(f"/gateways/{gateway.public_id}/meters/new/",
                    {"meter": meter.pk, "device_id": 3, "profile": sdm.pk, "enabled": "on"})
    assert r.status_code == 302
    assert RegisterMap.objects.get().meter == meter


def test_relay_page_confirms_and_audits(in_org_a, sim):
    gateway = make_gateway(sim)
    relay_map = map_default_layout(gateway)[6]
    client = login_client(in_org_a.operator, in_org_a.org)
    page = client.get(f"/gateways/meters/{relay_map.public_id}/relay/?action=disconnect")
    assert "Send to meter" in page.content.decode() and "coil 0" in page.content.decode()
    r = client.post(f"/gateways/meters/{relay_map.public_id}/relay/", {"action": "disconnect"})
    assert r.status_code == 400 and sim.store.writes == []
    r = client.post(f"/gateways/meters/{relay_map.public_id}/relay/",
                    {"action": "disconnect", "reason": "Notice period over"})
    assert r.status_code == 302
    assert sim.store.meters[7].relay_on is False
    assert AuditEvent.objects.get(action="relay.off").actor == in_org_a.operator
    assert "badge-red\">off" in client.get(f"/gateways/{gateway.public_id}/").content.decode()


def test_relay_page_reads_the_state_from_the_meter(in_org_a, sim):
    gateway = make_gateway(sim)
    relay_map = map_default_layout(gateway)[6]
    url = f"/gateways/meters/{relay_map.public_id}/relay/"
    operator = login_client(in_org_a.operator, in_org_a.org)
    page = operator.get(url).content.decode()
    assert f'hx-post="{url}state/" hx-trigger="load"' in page
    partial = operator.post(url + "state/", HTTP_HX_REQUEST="true").content.decode()
    assert "supply on" in partial and "read from the meter" in partial and "<html" not in partial
    sim.store.exceptions[7] = 0x0B
    partial = operator.post(url + "state/", HTTP_HX_REQUEST="true").content.decode()
    assert "Could not read the relay" in partial and "supply on" in partial  # last known
    viewer = login_client(in_org_a.viewer, in_org_a.org)
    assert "hx-trigger" not in viewer.get(url).content.decode()  # viewers see, do not ask
    assert viewer.post(url + "state/").status_code == 403


def test_profiles_pages_explain_addresses_and_copy_builtins(in_org_a):
    client = login_client(in_org_a.manager, in_org_a.org)
    page = client.get("/gateways/profiles/").content.decode()
    assert "Eastron SDM630" in page and "Carlo Gavazzi EM24" in page and "30073" in page
    sdm = Profile.objects.get(builtin="eastron-sdm630")
    detail = client.get(f"/gateways/profiles/{sdm.public_id}/").content.decode()
    assert "0x0048" in detail and "Addresses are 0-based" in detail
    r = client.post(f"/gateways/profiles/{sdm.public_id}/copy/", {"name": "My SDM"})
    copy = Profile.objects.get(name="My SDM")
    assert r.status_code == 302 and r.url == f"/gateways/profiles/{copy.public_id}/edit/"
    form = client.get(r.url).content.decode()
    assert "values-TOTAL_FORMS" in form
    data = {"name": "My SDM", "meter_type": "electricity", "relay_on_value": 1,
            "relay_off_value": 0, "values-TOTAL_FORMS": 1, "values-INITIAL_FORMS": 0,
            "values-0-key": "energy", "values-0-label": "Energy", "values-0-function_code": 4,
            "values-0-address": 72, "values-0-data_type": "f32", "values-0-word_order": "big",
            "values-0-scale": "1", "values-0-unit": "kWh", "values-0-is_reading": "on"}
    r = client.post(f"/gateways/profiles/{copy.public_id}/edit/", data)
    assert r.status_code == 302, r.content.decode()[:2000]
    assert copy.values.count() == 1
    r = client.post(f"/gateways/profiles/{copy.public_id}/edit/",
                    {**data, "values-0-is_reading": ""})
    assert r.status_code == 400 and "Exactly one value" in r.content.decode()
    assert client.get(f"/gateways/profiles/{sdm.public_id}/edit/").status_code == 302


def test_register_map_and_gateway_deletes_confirm_first(in_org_a):
    gateway = make_gateway(None)
    maps = map_default_layout(gateway, count=2)
    client = login_client(in_org_a.manager, in_org_a.org)
    page = client.get(f"/gateways/meters/{maps[0].public_id}/delete/").content.decode()
    assert "Delete register map" in page and "will no longer be polled" in page
    assert RegisterMap.objects.count() == 2
    r = client.post(f"/gateways/meters/{maps[0].public_id}/delete/")
    assert r.status_code == 302 and r.url == f"/gateways/{gateway.public_id}/"
    assert RegisterMap.objects.count() == 1
    page = client.get(f"/gateways/{gateway.public_id}/delete/").content.decode()
    assert "Delete gateway" in page and "Its 1 register maps" in page
    assert Gateway.objects.count() == 1
    r = client.post(f"/gateways/{gateway.public_id}/delete/", follow=True)
    assert b"Gateway Sim gateway deleted." in r.content
    assert not Gateway.objects.exists()
