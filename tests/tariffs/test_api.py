"""REST API of tariffs: rate lists with nested versions and rules, versioning, rules,
plans, add-ons, overrides, the quote endpoint, errors naming fields, query counts."""

from __future__ import annotations

import json
from datetime import date

import pytest

from tariffs import services
from tariffs.models import ChargeRule, RateList
from tests.conftest import api_client
from tests.tariffs.factories import TOU_BANDS
from tests.tariffs.test_services import state


@pytest.fixture
def client(tariffs_a):
    return api_client(key=tariffs_a.write_key)


@pytest.fixture
def reader(tariffs_a):
    return api_client(key=tariffs_a.read_key)


def post(client, url, data):
    return client.post(url, data=json.dumps(data), content_type="application/json")


def patch(client, url, data):
    return client.patch(url, data=json.dumps(data), content_type="application/json")


def fields_of(response) -> dict:
    return response.json()["error"]["fields"]


def test_rate_list_detail_nests_versions_and_rules(tariffs_a, reader):
    rl = tariffs_a.objects["rate_list"]
    data = reader.get(f"/api/v1/rate-lists/{rl.public_id}/").json()
    assert data["currency"] == "EUR"
    assert [v["number"] for v in data["versions"]] == [2, 1]
    assert data["effective_from"] == "2025-01-01" and data["effective_to"] is None
    assert {r["kind"] for r in data["versions"][1]["rules"]} == {"standing", "tiered"}
    tou = data["versions"][0]["rules"][-1]
    assert tou["bands"][0]["name"] == "Peak"
    assert tou["holiday_calendar"] == str(tariffs_a.objects["holiday_calendar"].public_id)


def test_create_rate_list_and_errors(client):
    r = post(client, "/api/v1/rate-lists/", {"name": "Heat", "currency": "EUR",
                                              "effective_from": "2026-01-01"})
    assert r.status_code == 201, r.json()
    assert r.json()["versions"][0]["effective_from"] == "2026-01-01"
    before = state()
    r = post(client, "/api/v1/rate-lists/", {"name": "Heat", "currency": "XYZ",
                                              "effective_from": "2026-01-01",
                                              "rounding_mode": "ROUND_SOMETIMES"})
    assert r.status_code == 400
    assert {"name", "currency", "rounding_mode"} <= set(fields_of(r))
    r = post(client, "/api/v1/rate-lists/", {"name": "Gas", "currency": "EUR"})
    assert r.status_code == 400 and "effective_from" in fields_of(r)
    assert state() == before


def test_currency_is_fixed_via_api(tariffs_a, client):
    rl = tariffs_a.objects["rate_list"]
    before = state()
    r = patch(client, f"/api/v1/rate-lists/{rl.public_id}/", {"currency": "CHF"})
    assert r.status_code == 400 and "fixed" in fields_of(r)["currency"][0]
    assert state() == before
    # cash rounding is the organization's per currency, not a rate list's: refused, saying where
    r = patch(client, f"/api/v1/rate-lists/{rl.public_id}/", {"cash_rounding": "0.05"})
    assert r.status_code == 400 and "cash-roundings" in fields_of(r)["cash_rounding"][0]
    assert state() == before


def test_versions_endpoint(tariffs_a, client):
    rl = tariffs_a.objects["rate_list"]
    url = f"/api/v1/rate-lists/{rl.public_id}/versions/"
    assert [v["number"] for v in client.get(url).json()] == [2, 1]
    r = post(client, url, {"effective_from": "2026-07-01", "note": "Summer"})
    assert r.status_code == 201
    assert r.json()["number"] == 3 and len(r.json()["rules"]) == 3  # copied from v2
    before = state()
    r = post(client, url, {"effective_from": "2026-03-01"})
    assert r.status_code == 400 and "effective_from" in fields_of(r)
    assert state() == before
    listed = client.get("/api/v1/rate-list-versions/",
                        {"rate_list__public_id": str(rl.public_id)}).json()
    assert listed["count"] == 3


def test_versions_endpoint_refuses_edits_and_undoes_only_the_latest(tariffs_a, client):
    v2 = tariffs_a.objects["rate_list_version"]
    v1 = v2.rate_list.versions.get(number=1)
    assert patch(client, f"/api/v1/rate-list-versions/{v2.public_id}/",
                 {"note": "x"}).status_code == 405
    before = state()
    assert client.delete(f"/api/v1/rate-list-versions/{v1.public_id}/").status_code == 409
    assert state() == before
    assert client.delete(f"/api/v1/rate-list-versions/{v2.public_id}/").status_code == 204
    v1.refresh_from_db()
    assert v1.effective_to is None


def test_rate_list_effective_to_via_api(tariffs_a, client):
    rl = tariffs_a.objects["rate_list"]
    url = f"/api/v1/rate-lists/{rl.public_id}/"
    r = patch(client, url, {"effective_to": "2027-01-01"})
    assert r.status_code == 200 and r.json()["effective_to"] == "2027-01-01"
    r = patch(client, url, {"effective_to": "2025-06-01"})
    assert r.status_code == 400 and "effective_to" in fields_of(r)
    services.rate_list_create(name="Other", currency="EUR", effective_from=date(2026, 1, 1))
    before = state()  # a good end date with a taken name: neither is saved
    r = patch(client, url, {"effective_to": "2028-01-01", "name": "Other"})
    assert r.status_code == 400 and "name" in fields_of(r)
    assert state() == before


def test_charge_rule_crud_and_field_errors(tariffs_a, client):
    version = tariffs_a.objects["rate_list_version"]
    r = post(client, "/api/v1/charge-rules/", {
        "version": str(version.public_id), "name": "Water", "kind": "volume",
        "meter_type": "cold_water",
        "tiers": [{"up_to": "10", "price": "1.5"}, {"up_to": None, "price": "2"}],
        "tax_rate": "7"})
    assert r.status_code == 201, r.json()
    rule_id = r.json()["id"]
    assert r.json()["unit"] == "m³"
    before = state()
    r = patch(client, f"/api/v1/charge-rules/{rule_id}/",
              {"tiers": [{"up_to": "10", "price": "1.5"}, {"up_to": "5", "price": "2"}]})
    assert r.status_code == 400 and any("Row 2" in m for m in fields_of(r)["tiers"])
    r = post(client, "/api/v1/charge-rules/", {
        "version": str(version.public_id), "name": "TOU", "kind": "time_of_use",
        "meter_type": "electricity", "bands": TOU_BANDS[:2]})
    assert r.status_code == 400 and "bands" in fields_of(r)
    r = post(client, "/api/v1/charge-rules/", {
        "version": str(version.public_id), "name": "Neg", "kind": "flat",
        "meter_type": "gas", "price": "-1"})
    assert r.status_code == 400 and "price" in fields_of(r)
    assert state() == before
    r = patch(client, f"/api/v1/charge-rules/{rule_id}/", {"tax_rate": "19"})
    assert r.status_code == 200 and r.json()["tax_rate"] == "19.00"
    assert client.delete(f"/api/v1/charge-rules/{rule_id}/").status_code == 204
    assert not ChargeRule.objects.filter(public_id=rule_id).exists()


def test_plans_add_ons_variants_templates_overrides(tariffs_a, client):
    o = tariffs_a.objects
    r = post(client, "/api/v1/add-ons/", {"name": "Service fee", "currency": "EUR",
                                           "price": "4.5", "per": "month", "tax_rate": "19"})
    assert r.status_code == 201, r.json()
    fee = r.json()["id"]
    r = post(client, "/api/v1/plans/", {"name": "Offices", "property_kind": "office",
                                         "rate_lists": [str(o["rate_list"].public_id)],
                                         "add_ons": [fee]})
    assert r.status_code == 201, r.json()
    plan = r.json()["id"]
    r = post(client, "/api/v1/plan-variants/", {"plan": plan, "name": "Prepaid"})
    assert r.status_code == 201
    r = post(client, "/api/v1/pricing-templates/", {
        "name": "Office template", "plan": plan, "variant": str(o["plan_variant"].public_id)})
    assert r.status_code == 400 and "variant" in fields_of(r)
    r = patch(client, f"/api/v1/plans/{plan}/", {"description": "For offices"})
    assert r.status_code == 200 and r.json()["add_ons"] == [fee]
    r = post(client, "/api/v1/billing-point-rate-lists/", {
        "billing_point": str(o["billing_point"].public_id),
        "rate_list": str(o["rate_list"].public_id), "meter_type": "heat"})
    assert r.status_code == 201, r.json()
    r = post(client, "/api/v1/billing-point-rate-lists/", {
        "billing_point": str(o["billing_point"].public_id),
        "rate_list": str(o["rate_list"].public_id), "meter_type": "heat"})
    assert r.status_code == 400 and "meter_type" in fields_of(r)
    # in use: the plan template protects the plan
    r = client.delete(f"/api/v1/plans/{o['plan'].public_id}/")
    assert r.status_code == 409


def test_holiday_calendar_api(client):
    r = post(client, "/api/v1/holiday-calendars/", {
        "name": "Zurich", "days": [{"date": "2026-08-01", "name": "National Day"}]})
    assert r.status_code == 201
    r = post(client, "/api/v1/holiday-calendars/", {"name": "Zurich", "days": []})
    assert r.status_code == 400 and "name" in fields_of(r)


def test_quote_prices_quantities(tariffs_a, client):
    rl = tariffs_a.objects["rate_list"]
    r = post(client, f"/api/v1/rate-lists/{rl.public_id}/quote/", {
        "start": "2025-06-16", "end": "2025-07-01", "time_zone": "Europe/Berlin",
        "billing_period_start": "2025-06-01", "billing_period_end": "2025-07-01",
        "quantities": {"electricity": "200"}})
    assert r.status_code == 200, r.json()
    data = r.json()
    # 15 of 30 June days: standing 9.90 × 0.5 = 4.95; blocks halved to 50 / 150:
    # 50 × 0.20 = 10.00, 100 × 0.25 = 25.00, 50 × 0.30 = 15.00 → net 54.95
    # VAT 19 %: 0.94 + 1.90 + 4.75 + 2.85 = 10.44 → total 65.39
    assert [line["amount"] for line in data["lines"]] == ["4.95", "10.00", "25.00", "15.00"]
    assert data["net"] == "54.95" and data["tax"] == "10.44" and data["total"] == "65.39"
    assert data["taxes"] == [{"rate": "19.00", "net": "54.95", "tax": "10.44"}]
    assert data["can_bill"] is True


def test_quote_time_of_use_with_and_without_intervals(tariffs_a, client):
    rl = tariffs_a.objects["rate_list"]
    url = f"/api/v1/rate-lists/{rl.public_id}/quote/"
    r = post(client, url, {"start": "2026-03-02", "end": "2026-03-03",
                           "time_zone": "Europe/Berlin", "quantities": {"heat": "24"}})
    assert r.status_code == 200
    codes = {(d["code"], d["severity"]) for d in r.json()["diagnostics"]}
    # heat has a total but no intervals; electricity simply was not asked for
    assert codes == {("tou_no_interval_data", "error"), ("no_consumption", "info")}
    assert r.json()["can_bill"] is False
    intervals = [{"start": f"2026-03-02T{h:02d}:00:00+01:00",
                  "end": f"2026-03-02T{h + 1:02d}:00:00+01:00" if h < 23
                  else "2026-03-03T00:00:00+01:00", "quantity": "1"} for h in range(24)]
    r = post(client, url, {"start": "2026-03-02", "end": "2026-03-03",
                           "time_zone": "Europe/Berlin", "intervals": {"heat": intervals}})
    data = r.json()
    tou = [x for x in data["lines"] if x["meter_type"] == "heat"]
    # Monday: 13 peak hours × 0.32 = 4.16; 11 off-peak × 0.21 = 2.31
    assert [(x["quantity"], x["amount"]) for x in tou] == [("13", "4.16"), ("11", "2.31")]
    assert [d["severity"] for d in data["diagnostics"]] == ["info"]
    assert data["can_bill"] is True


def test_quote_uses_the_billing_points_time_zone(tariffs_a, tariffs_b, client):
    rl = tariffs_a.objects["rate_list"]
    bp = tariffs_a.objects["billing_point"]  # Europe/Berlin; the organization is UTC
    url = f"/api/v1/rate-lists/{rl.public_id}/quote/"
    # 07:00–08:00 Berlin is 06:00–07:00 UTC on a Monday in winter: peak only in Berlin time
    interval = [{"start": "2026-03-02T06:00:00Z", "end": "2026-03-02T07:00:00Z",
                 "quantity": "1"}]
    r = post(client, url, {"start": "2026-03-02", "end": "2026-03-03",
                           "billing_point": str(bp.public_id), "intervals": {"heat": interval}})
    assert [x["description"].split(", ")[2].split(" (")[0]
            for x in r.json()["lines"] if x["meter_type"] == "heat"] == ["Peak"]
    r = post(client, url, {"start": "2026-03-02", "end": "2026-03-03",
                           "billing_point": str(tariffs_b.objects["billing_point"].public_id)})
    assert r.status_code == 400 and "billing_point" in fields_of(r)


@pytest.mark.parametrize(("payload", "field"), [
    ({"start": "2026-03-02", "end": "2026-03-01"}, "end"),
    ({"start": "2026-03-02"}, "end"),
    ({"start": "2026-03-01", "end": "2026-04-01", "time_zone": "Mars/Base"}, "time_zone"),
    ({"start": "2026-03-01", "end": "2026-04-01", "quantities": {"steam": "1"}}, "quantities"),
    ({"start": "2026-03-01", "end": "2026-04-01", "quantities": {"gas": "-1"}}, "quantities"),
    ({"start": "2026-03-01", "end": "2026-04-01", "billing_period_start": "2026-03-01"},
     "billing_period_end"),
    ({"start": "2026-03-01", "end": "2026-04-01", "intervals": {"gas": [
        {"start": "2026-03-01T02:00:00Z", "end": "2026-03-01T01:00:00Z", "quantity": "1"}]}},
     "intervals"),
    ({"start": "2020-01-01", "end": "2023-01-01"}, "end"),
    ({"start": "2026-03-01", "end": "2026-04-01", "intervals": {"heat": [
        {"start": "2026-03-01T01:00:00Z", "end": "2026-03-01T02:00:00Z", "quantity": "1"},
        {"start": "2026-03-01T01:30:00Z", "end": "2026-03-01T02:30:00Z", "quantity": "1"}]}},
     "intervals"),
])
def test_quote_bad_input_names_the_field(tariffs_a, client, payload, field):
    rl = tariffs_a.objects["rate_list"]
    r = post(client, f"/api/v1/rate-lists/{rl.public_id}/quote/", payload)
    assert r.status_code == 400 and field in fields_of(r), r.json()


def test_read_key_reads_but_cannot_write_or_quote(tariffs_a, reader):
    rl = tariffs_a.objects["rate_list"]
    assert reader.get("/api/v1/rate-lists/").status_code == 200
    r = post(reader, f"/api/v1/rate-lists/{rl.public_id}/quote/",
             {"start": "2026-03-01", "end": "2026-04-01"})
    assert r.status_code == 403
    assert post(reader, "/api/v1/add-ons/", {"name": "x"}).status_code == 403


def test_other_organizations_rows_are_not_found(tariffs_a, tariffs_b, client):
    rl_b = tariffs_b.objects["rate_list"]
    assert client.get(f"/api/v1/rate-lists/{rl_b.public_id}/").status_code == 404
    r = post(client, f"/api/v1/rate-lists/{rl_b.public_id}/quote/",
             {"start": "2026-03-01", "end": "2026-04-01"})
    assert r.status_code == 404
    r = post(client, "/api/v1/charge-rules/", {
        "version": str(tariffs_b.objects["rate_list_version"].public_id), "name": "x",
        "kind": "flat", "meter_type": "gas", "price": "1"})
    assert r.status_code == 400 and "version" in fields_of(r)
    r = post(client, "/api/v1/plans/", {"name": "x",
                                        "rate_lists": [str(rl_b.public_id)]})
    assert r.status_code == 400 and "rate_lists" in fields_of(r)
    names = {x["name"] for x in client.get("/api/v1/rate-lists/").json()["results"]}
    assert not any("ZEBRA" in n for n in names)


LISTS = ["rate-lists", "rate-list-versions", "charge-rules", "holiday-calendars", "add-ons",
         "plans", "plan-variants", "pricing-templates", "billing-point-rate-lists"]


@pytest.mark.parametrize("name", LISTS)
def test_list_query_counts_do_not_grow(tariffs_a, reader, django_assert_max_num_queries, name):
    for n in range(6):
        rl = services.rate_list_create(name=f"List {n}", currency="EUR",
                                       effective_from=date(2025, 1, 1))
        v = services.rate_list_version_create(rate_list=rl, effective_from=date(2026, 1, 1))
        services.charge_rule_create(version=v, name="Energy", kind="flat",
                                    meter_type="electricity", price="0.3")
        add_on = services.add_on_save(name=f"Fee {n}", currency="EUR", price="1")
        plan = services.plan_save(name=f"Plan {n}", rate_lists=[rl], add_ons=[add_on])
        services.plan_variant_save(plan=plan, name="Variant", rate_lists=[rl])
        services.pricing_template_save(name=f"Template {n}", plan=plan)
        services.holiday_calendar_save(name=f"Calendar {n}", days=[("2026-01-01", "New Year")])
    assert RateList.objects.count() == 7
    with django_assert_max_num_queries(12):
        r = reader.get(f"/api/v1/{name}/")
    assert r.status_code == 200 and r.json()["count"] >= 1
