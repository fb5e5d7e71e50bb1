"""Portal pages of tariffs: lists, detail with version history, rule forms with tier and band
rows, the "try it" quote, plans, add-ons, calendars, overrides; roles."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from tariffs.models import AddOn, ChargeRule, Plan, RateList
from tests.conftest import login_client
from tests.tariffs.test_services import state


@pytest.fixture
def manager(tariffs_a):
    return login_client(tariffs_a.manager, tariffs_a.org)


@pytest.fixture
def viewer(tariffs_a):
    return login_client(tariffs_a.viewer, tariffs_a.org)


def _pages(world) -> list[str]:
    o = world.objects
    rl, version, rule = o["rate_list"], o["rate_list_version"], o["charge_rule"]
    return [
        reverse("tariffs:index"),
        reverse("tariffs:index") + "?q=Electricity&currency=EUR",
        reverse("tariffs:rate_list_create"),
        reverse("tariffs:rate_list_detail", args=[rl.public_id]),
        reverse("tariffs:rate_list_detail", args=[rl.public_id]) + "?version=1",
        reverse("tariffs:rate_list_edit", args=[rl.public_id]),
        reverse("tariffs:rate_list_delete", args=[rl.public_id]),
        reverse("tariffs:version_create", args=[rl.public_id]),
        reverse("tariffs:version_delete", args=[version.public_id]),
        reverse("tariffs:rate_list_quote", args=[rl.public_id]),
        reverse("tariffs:rule_create", args=[version.public_id]),
        reverse("tariffs:rule_edit", args=[rule.public_id]),
        reverse("tariffs:rule_delete", args=[rule.public_id]),
        reverse("tariffs:plan_list"),
        reverse("tariffs:plan_create"),
        reverse("tariffs:plan_edit", args=[o["plan"].public_id]),
        reverse("tariffs:plan_variant_create", args=[o["plan"].public_id]),
        reverse("tariffs:plan_variant_edit", args=[o["plan_variant"].public_id]),
        reverse("tariffs:template_create"),
        reverse("tariffs:template_edit", args=[o["pricing_template"].public_id]),
        reverse("tariffs:add_on_list"),
        reverse("tariffs:add_on_create"),
        reverse("tariffs:add_on_edit", args=[o["add_on"].public_id]),
        reverse("tariffs:calendar_list"),
        reverse("tariffs:calendar_create"),
        reverse("tariffs:calendar_edit", args=[o["holiday_calendar"].public_id]),
        reverse("tariffs:override_list"),
        reverse("tariffs:override_delete", args=[o["billing_point_rate_list"].public_id]),
        reverse("tariffs:plan_delete", args=[o["plan"].public_id]),
    ]


def test_every_page_renders(tariffs_a, manager):
    for url in _pages(tariffs_a):
        response = manager.get(url)
        assert response.status_code == 200, url


def test_detail_shows_version_history_and_rules(tariffs_a, manager):
    rl = tariffs_a.objects["rate_list"]
    html = manager.get(reverse("tariffs:rate_list_detail", args=[rl.public_id])).content.decode()
    assert "Version history" in html and "v1" in html and "v2" in html
    assert "Time of use AARDVARK" in html and "Peak" in html
    html = manager.get(
        reverse("tariffs:rate_list_detail", args=[rl.public_id]) + "?version=1"
    ).content.decode()
    assert "Energy AARDVARK" in html and "0–100 kWh" in html and "above 300 kWh" in html


def test_empty_state_says_what_to_do(world_a):
    client = login_client(world_a.manager, world_a.org)
    html = client.get(reverse("tariffs:index")).content.decode()
    assert "No rate lists yet" in html and "Create the first rate list" in html


def test_create_rate_list_then_tiered_rule_with_rows(tariffs_a, manager):
    response = manager.post(reverse("tariffs:rate_list_create"), {
        "name": "Water", "currency": "EUR", "effective_from": "2026-01-01",
        "rounding_mode": "ROUND_HALF_UP", "cash_rounding": "", "description": "",
    })
    assert response.status_code == 302
    rl = RateList.objects.get(name="Water")
    version = rl.versions.get()
    data = rule_post(name="Water blocks", kind="tiered", meter_type="cold_water",
                      tiers=[("10", "1.80"), ("", "2.40")])
    response = manager.post(reverse("tariffs:rule_create", args=[version.public_id]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = version.rules.get()
    assert rule.tiers == [{"up_to": "10", "price": "1.80"}, {"up_to": None, "price": "2.40"}]
    assert rule.unit == "m³"


def rule_post(tiers=(), bands=(), **fields) -> dict:
    data = {"name": "", "kind": "flat", "meter_type": "", "unit": "", "price": "", "per": "month",
            "allowance": "", "minimum_charge": "", "tax_rate": "0", "holiday_calendar": "",
            "position": "0", **fields}
    data.update({"tiers-TOTAL_FORMS": str(len(tiers)), "tiers-INITIAL_FORMS": "0"})
    for i, (up, price) in enumerate(tiers):
        data[f"tiers-{i}-up_to"], data[f"tiers-{i}-price"] = up, price
    data.update({"bands-TOTAL_FORMS": str(len(bands)), "bands-INITIAL_FORMS": "0"})
    for i, (name, days, start, end, price) in enumerate(bands):
        data.update({f"bands-{i}-name": name, f"bands-{i}-days": days, f"bands-{i}-start": start,
                     f"bands-{i}-end": end, f"bands-{i}-price": price})
    return data


def test_bad_tiers_are_shown_by_row_and_nothing_changes(tariffs_a, manager):
    version = tariffs_a.objects["rate_list_version"]
    before = state()
    data = rule_post(name="Bad", kind="tiered", meter_type="electricity",
                      tiers=[("100", "0.2"), ("50", "0.3"), ("", "0.4")])
    response = manager.post(reverse("tariffs:rule_create", args=[version.public_id]), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="tiers"' in html and "Row 2" in html
    assert state() == before


def test_bad_bands_and_field_errors_are_shown(tariffs_a, manager):
    version = tariffs_a.objects["rate_list_version"]
    before = state()
    data = rule_post(name="TOU", kind="time_of_use", meter_type="electricity", tax_rate="120",
                      bands=[("Day", ["weekday"], "07:00", "20:00", "0.3")])
    response = manager.post(reverse("tariffs:rule_create", args=[version.public_id]), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="bands"' in html and "No band covers" in html
    assert 'data-field="tax_rate"' in html
    assert state() == before


def test_time_of_use_rule_from_band_rows(tariffs_a, manager):
    version = tariffs_a.objects["rate_list_version"]
    data = rule_post(name="TOU 2", kind="time_of_use", meter_type="gas", bands=[
        ("Day", ["weekday"], "06:00", "22:00", "0.3"),
        ("Night", ["weekday"], "22:00", "06:00", "0.1"),
        ("Weekend", ["weekend", "holiday"], "00:00", "24:00", "0.1"),
    ])
    response = manager.post(reverse("tariffs:rule_create", args=[version.public_id]), data)
    assert response.status_code == 302
    assert [b["name"] for b in ChargeRule.objects.get(name="TOU 2").bands] == [
        "Day", "Night", "Weekend"]


def test_new_version_from_the_detail_page(tariffs_a, manager):
    rl = tariffs_a.objects["rate_list"]
    url = reverse("tariffs:version_create", args=[rl.public_id])
    response = manager.post(url, {"effective_from": "2026-09-01", "note": "Autumn",
                                  "copy_rules": "on"})
    assert response.status_code == 302 and response.url.endswith("?version=3")
    before = state()
    response = manager.post(url, {"effective_from": "2026-05-01", "note": ""})
    assert response.status_code == 400
    assert 'data-field="effective_from"' in response.content.decode()
    assert state() == before


def test_undo_price_change_after_confirmation(tariffs_a, manager):
    rl = tariffs_a.objects["rate_list"]
    detail = reverse("tariffs:rate_list_detail", args=[rl.public_id])
    assert "Undo this price change" in manager.get(detail).content.decode()
    v2 = tariffs_a.objects["rate_list_version"]
    page = manager.get(reverse("tariffs:version_delete", args=[v2.public_id])).content.decode()
    assert "previous version" in page
    response = manager.post(reverse("tariffs:version_delete", args=[v2.public_id]))
    assert response.status_code == 302
    assert [v.number for v in rl.versions.all()] == [1]


def test_end_a_rate_list_in_the_portal(tariffs_a, manager):
    rl = tariffs_a.objects["rate_list"]
    form = {"name": rl.name, "rounding_mode": "ROUND_HALF_UP", "cash_rounding": "",
            "description": "", "effective_to": "2025-06-01"}
    url = reverse("tariffs:rate_list_edit", args=[rl.public_id])
    response = manager.post(url, form)
    assert response.status_code == 400
    assert 'data-field="effective_to"' in response.content.decode()
    response = manager.post(url, {**form, "effective_to": "2027-01-01"})
    assert response.status_code == 302
    assert rl.versions.get(number=2).effective_to == date(2027, 1, 1)


def test_currency_cannot_change_in_the_portal(tariffs_a, manager):
    rl = tariffs_a.objects["rate_list"]
    response = manager.post(reverse("tariffs:rate_list_edit", args=[rl.public_id]), {
        "name": "Renamed", "currency": "CHF", "rounding_mode": "ROUND_HALF_EVEN",
        "description": "",
    })
    assert response.status_code == 302
    rl.refresh_from_db()
    assert (rl.name, str(rl.currency), rl.rounding_mode) == ("Renamed", "EUR", "ROUND_HALF_EVEN")


def test_try_it_shows_lines_and_total(tariffs_a, viewer):
    rl = tariffs_a.objects["rate_list"]
    url = reverse("tariffs:rate_list_quote", args=[rl.public_id])
    # version 1 (2025): standing 9.90/month + tiers; 350 kWh in June 2025
    # 9.90 + 100 × 0.20 + 200 × 0.25 + 50 × 0.30 = 9.90 + 20 + 50 + 15 = 94.90; VAT 19 %:
    # 1.88 + 3.80 + 9.50 + 2.85 = 18.03 → 112.93
    response = viewer.get(url, {"first_day": "2025-06-01", "last_day": "2025-06-30",
                                "time_zone": "Europe/Berlin", "billing_period": "period",
                                "q_electricity": "350"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="quote-total">112.93' in html


def test_try_it_time_of_use_says_interval_data_is_needed(tariffs_a, viewer):
    rl = tariffs_a.objects["rate_list"]
    url = reverse("tariffs:rate_list_quote", args=[rl.public_id])
    params = {"first_day": "2026-03-01", "last_day": "2026-03-31", "time_zone": "Europe/Berlin",
              "billing_period": "period", "q_heat": "744"}
    html = viewer.get(url, params).content.decode()
    assert 'data-code="tou_no_interval_data"' in html
    html = viewer.get(url, {**params, "spread": "on"}).content.decode()
    assert 'data-code="tou_no_interval_data"' not in html and "Peak" in html


def test_try_it_with_pasted_interval_data(tariffs_a, viewer):
    rl = tariffs_a.objects["rate_list"]
    url = reverse("tariffs:rate_list_quote", args=[rl.public_id])
    # Monday 2 March 2026, Berlin: 06:00–08:00 is 1 h off-peak + 1 h peak, 2 kWh each half
    params = {"first_day": "2026-03-02", "last_day": "2026-03-02", "time_zone": "Europe/Berlin",
              "billing_period": "period", "interval_type": "heat",
              "interval_csv": "2026-03-02T06:00,2026-03-02T08:00,4"}
    response = viewer.get(url, params)
    html = response.content.decode()
    assert response.status_code == 200
    # 2 × 0.32 = 0.64 peak, 2 × 0.21 = 0.42 off-peak; the day is not covered fully: warning
    assert "0.64" in html and "0.42" in html
    assert 'data-code="tou_incomplete_interval_data"' in html
    response = viewer.get(url, {**params, "interval_csv": "yesterday,today,4\n"})
    assert response.status_code == 400
    assert 'data-field="interval_csv"' in response.content.decode()


def test_try_it_bad_input(tariffs_a, viewer):
    rl = tariffs_a.objects["rate_list"]
    url = reverse("tariffs:rate_list_quote", args=[rl.public_id])
    response = viewer.get(url, {"first_day": "2026-03-10", "last_day": "2026-03-01",
                                "time_zone": "Mars/Olympus", "billing_period": "period"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="last_day"' in html and 'data-field="time_zone"' in html


def test_plan_add_on_calendar_override_forms(tariffs_a, manager):
    o = tariffs_a.objects
    r = manager.post(reverse("tariffs:add_on_create"), {
        "name": "Service fee", "currency": "EUR", "price": "4.50", "per": "month",
        "meter_type": "", "tax_rate": "19", "active": "on"})
    assert r.status_code == 302
    fee = AddOn.objects.get(name="Service fee")
    r = manager.post(reverse("tariffs:plan_create"), {
        "name": "Shops", "property_kind": "mall", "rate_lists": [str(o["rate_list"].public_id)],
        "add_ons": [str(fee.public_id)], "active": "on"})
    assert r.status_code == 302
    assert list(Plan.objects.get(name="Shops").add_ons.all()) == [fee]
    r = manager.post(reverse("tariffs:calendar_create"), {
        "name": "Bavaria", "days": "2026-01-06 Epiphany\n2026-13-01 Nope"})
    assert r.status_code == 400 and "Row 2" in r.content.decode()
    r = manager.post(reverse("tariffs:override_list"), {
        "billing_point": str(o["billing_point"].public_id),
        "rate_list": str(o["rate_list"].public_id), "meter_type": "", "note": ""})
    assert r.status_code == 400 and "already has its own rate list" in r.content.decode()


def test_delete_in_use_is_refused_with_a_message(tariffs_a, manager):
    plan = tariffs_a.objects["plan"]
    before = state()
    response = manager.post(reverse("tariffs:plan_delete", args=[plan.public_id]), follow=True)
    assert "still used by" in response.content.decode()
    assert state() == before


def test_viewer_reads_but_cannot_write(tariffs_a, viewer):
    before = state()
    assert viewer.get(reverse("tariffs:index")).status_code == 200
    response = viewer.post(reverse("tariffs:rate_list_create"), {
        "name": "Sneaky", "currency": "EUR", "effective_from": "2026-01-01",
        "rounding_mode": "ROUND_HALF_UP"})
    assert response.status_code == 403
    rule = tariffs_a.objects["charge_rule"]
    assert viewer.post(reverse("tariffs:rule_delete", args=[rule.public_id])).status_code == 403
    assert state() == before
    html = viewer.get(reverse("tariffs:rate_list_detail",
                              args=[tariffs_a.objects["rate_list"].public_id])).content.decode()
    assert "Add rule" not in html and "Create version" not in html


def test_query_count_of_lists_does_not_grow(tariffs_a, manager, django_assert_max_num_queries):
    from tariffs import services

    for n in range(5):
        services.rate_list_create(name=f"List {n}", currency="EUR", effective_from=date(2026, 1, 1))
        services.plan_save(name=f"Plan {n}", rate_lists=[tariffs_a.objects["rate_list"]])
        services.add_on_save(name=f"Fee {n}", currency="EUR", price="1")
    for name in ("tariffs:index", "tariffs:plan_list", "tariffs:add_on_list",
                 "tariffs:calendar_list", "tariffs:override_list"):
        with django_assert_max_num_queries(16):
            assert manager.get(reverse(name)).status_code == 200


def test_dashboard_card(tariffs_a, manager, world_b):
    html = manager.get("/").content.decode()
    assert "Rate lists in force" in html and "1 / 1" in html
    empty = login_client(world_b.manager, world_b.org).get("/").content.decode()
    assert "Set up prices before billing" in empty
