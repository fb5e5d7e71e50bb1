"""Tiers and time-of-use bands of a charge rule are typed in the OpenAPI schema (not a bare
JSON value) and come out of the API in the documented form: limits with 4 decimal places,
prices with 6 (like the rule's own ``price``), days from weekday / weekend / holiday,
times as HH:MM."""

from __future__ import annotations

import json

import pytest
from drf_spectacular.generators import SchemaGenerator

from tests.conftest import api_client


@pytest.fixture(scope="module")
def components():
    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]


def _items(components, prop):
    ref = prop["items"]["$ref"].rsplit("/", 1)[-1]
    return components[ref]


def test_tiers_and_bands_are_typed_arrays(components):
    rule = components["ChargeRule"]["properties"]
    assert rule["tiers"]["type"] == "array" and rule["bands"]["type"] == "array"
    tier = _items(components, rule["tiers"])
    assert tier["required"] == ["price", "up_to"]
    assert tier["properties"]["up_to"]["nullable"] is True
    assert "4 decimal places" in tier["properties"]["up_to"]["description"]
    assert "6 decimal places" in tier["properties"]["price"]["description"]
    band = _items(components, rule["bands"])
    assert set(band["required"]) == {"name", "days", "start", "end", "price"}
    days = band["properties"]["days"]["items"]
    day_enum = components[days["$ref"].rsplit("/", 1)[-1]]["enum"] if "$ref" in days \
        else days["enum"]
    assert day_enum == ["weekday", "weekend", "holiday"]
    assert band["properties"]["start"]["pattern"] == r"^\d{2}:\d{2}$"


def test_the_request_side_accepts_plain_numbers(components):
    tier = _items(components, components["ChargeRuleRequest"]["properties"]["tiers"])
    import re

    assert re.fullmatch(tier["properties"]["up_to"]["pattern"], "10")
    assert re.fullmatch(tier["properties"]["price"]["pattern"], "1.5")


@pytest.mark.django_db
def test_a_rule_answers_tiers_and_bands_in_the_documented_form(tariffs_a):
    client = api_client(key=tariffs_a.write_key)
    version = tariffs_a.objects["rate_list_version"]
    r = client.post("/api/v1/charge-rules/", data=json.dumps({
        "version": str(version.public_id), "name": "Water", "kind": "volume",
        "meter_type": "cold_water",
        "tiers": [{"up_to": "10", "price": "1.5"}, {"up_to": None, "price": "2"}]}),
        content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["tiers"] == [{"up_to": "10.0000", "price": "1.500000"},
                                 {"up_to": None, "price": "2.000000"}]
    rl = tariffs_a.objects["rate_list"]
    data = client.get(f"/api/v1/rate-lists/{rl.public_id}/").json()
    [tou] = [r for v in data["versions"] for r in v["rules"] if r["kind"] == "time_of_use"]
    assert tou["bands"][0] == {"name": "Peak", "days": ["weekday"], "start": "07:00",
                               "end": "20:00", "price": "0.320000"}
