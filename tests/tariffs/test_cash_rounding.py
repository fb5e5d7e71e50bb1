"""Cash rounding is one organization setting per currency (issue 13 §1): the service, the
API, the portal, and the quote ("try it") reading it whatever the rate list says."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from tariffs import selectors, services
from tariffs.models import CashRounding, RoundingMode
from tests.conftest import api_client, login_client


def _rows():
    return sorted(CashRounding.objects.values_list("currency", "step"))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"currency": "XXX", "step": "0.05"}, "currency"),
    ({"currency": "CHF", "step": "-0.05"}, "step"),
    ({"currency": "CHF", "step": "0"}, "step"),
    ({"currency": "CHF", "step": "abc"}, "step"),
    ({"currency": "CHF", "step": "0.001"}, "step"),
    ({"currency": "CHF", "step": "1000"}, "step"),
])
def test_bad_input_names_the_field_and_changes_nothing(tariffs_a, kwargs, field):
    services.cash_rounding_set(currency="CHF", step="0.10")
    before = _rows()
    with pytest.raises(ValidationError) as info, transaction.atomic():
        services.cash_rounding_set(**kwargs)
    assert field in info.value.message_dict
    assert _rows() == before


def test_set_replace_and_remove_one_step_per_currency(tariffs_a):
    services.cash_rounding_set(currency="chf", step="0.05")
    services.cash_rounding_set(currency="CHF", step="0.05")  # idempotent
    assert _rows() == [("CHF", D("0.05"))]
    services.cash_rounding_set(currency="CHF", step="0.10")
    assert selectors.cash_rounding_step("CHF") == D("0.10")
    assert selectors.cash_rounding_step("EUR") is None
    services.cash_rounding_set(currency="CHF", step="")
    assert _rows() == []


def test_rate_lists_no_longer_carry_cash_rounding(tariffs_a):
    rl = tariffs_a.objects["rate_list"]
    with pytest.raises(ValidationError) as info:
        services.rate_list_update(rate_list=rl, cash_rounding=D("0.05"))
    assert "organization setting" in info.value.message_dict["cash_rounding"][0]


def test_api_sets_reads_and_removes_the_setting(tariffs_a, tariffs_b):
    client = api_client(key=tariffs_a.write_key)
    r = client.post("/api/v1/cash-roundings/", {"currency": "CHF", "step": "0.05"},
                    format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["currency"], body["step"]) == ("CHF", "0.05")
    r = client.post("/api/v1/cash-roundings/", {"currency": "CHF", "step": "-1"}, format="json")
    assert r.status_code == 400 and "step" in r.json()["error"]["fields"]
    r = client.patch(f"/api/v1/cash-roundings/{body['id']}/", {"step": "0.10"}, format="json")
    assert r.status_code == 200 and r.json()["step"] == "0.10"
    # another organization sees nothing of it
    other = api_client(key=tariffs_b.read_key).get(f"/api/v1/cash-roundings/{body['id']}/")
    assert other.status_code == 404
    r = client.delete(f"/api/v1/cash-roundings/{body['id']}/")
    assert r.status_code == 204 and _rows() == []


def test_portal_page_sets_the_step_managers_only(tariffs_a):
    url = reverse("tariffs:cash_rounding")
    viewer = login_client(tariffs_a.viewer, tariffs_a.org)
    assert viewer.get(url).status_code == 200
    assert viewer.post(url, {"currency": "CHF", "step": "0.05"}).status_code == 403
    manager = login_client(tariffs_a.manager, tariffs_a.org)
    response = manager.post(url, {"currency": "CHF", "step": "0.5x"})
    assert response.status_code == 400 and "not a number" in response.content.decode()
    assert manager.post(url, {"currency": "CHF", "step": "0.05"}).status_code == 302
    assert "0.05" in manager.get(url).content.decode()
    assert _rows() == [("CHF", D("0.05"))]


def test_quote_uses_the_organization_step_to_the_nearest_whatever_the_line_mode(tariffs_a):
    from tariffs.selectors import QuoteRequest

    rl = services.rate_list_create(name="Swiss flat", currency="CHF",
                                   effective_from=date(2026, 1, 1),
                                   rounding_mode=RoundingMode.DOWN)
    services.charge_rule_create(version=rl.versions.get(), name="Energy", kind="flat",
                                meter_type="electricity", price=D("57.33"))
    services.cash_rounding_set(currency="CHF", step="0.05")
    quote = selectors.rate_list_quote(rate_list=rl, request=QuoteRequest(
        start=date(2026, 6, 1), end=date(2026, 7, 1), time_zone="Europe/Zurich",
        totals={"electricity": D("1")}, intervals={},
    ))
    # 57.33 to the nearest 0.05 is 57.35 (ROUND_DOWN, the lines' mode, would give 57.30)
    assert quote.gross.amount == D("57.33")
    assert quote.cash_rounding.amount == D("0.02") and quote.total.amount == D("57.35")


def test_try_it_page_rounds_the_total_with_the_organization_step(tariffs_a):
    rl = services.rate_list_create(name="Swiss try", currency="CHF",
                                   effective_from=date(2026, 1, 1),
                                   rounding_mode=RoundingMode.DOWN)
    services.charge_rule_create(version=rl.versions.get(), name="Energy", kind="flat",
                                meter_type="electricity", price=D("57.32"))
    services.cash_rounding_set(currency="CHF", step="0.05")
    viewer = login_client(tariffs_a.viewer, tariffs_a.org)
    html = viewer.get(reverse("tariffs:rate_list_quote", args=[rl.public_id]), {
        "first_day": "2026-06-01", "last_day": "2026-06-30", "time_zone": "Europe/Zurich",
        "billing_period": "period", "q_electricity": "1"}).content.decode()
    # 57.32 → 57.30 (nearest 0.05), cash rounding −0.02 shown before the total
    assert "Cash rounding" in html and "-0.02" in html
    assert 'data-testid="quote-total">57.30' in html
