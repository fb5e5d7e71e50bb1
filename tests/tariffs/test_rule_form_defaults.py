"""Charge rule forms: VAT starts at the organization's default rate; a rule kind's form
shows only the fields that kind uses (a tiered rule has no unit price)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from billspree.core import services as core_services
from tariffs import services
from tariffs.models import RateList
from tests.conftest import login_client
from tests.tariffs.test_portal import rule_post


@pytest.fixture
def manager(tariffs_a):
    return login_client(tariffs_a.manager, tariffs_a.org)


def _version():
    return RateList.objects.first().versions.order_by("-number").first()


def _field(html: str, name: str) -> str:
    match = re.search(rf'<div class="field[^"]*"[^>]*data-testid="field-{name}"', html)
    assert match, f"no field {name}"
    return match.group(0)


def test_organization_settings_take_a_default_vat_rate(tariffs_a):
    admin = login_client(tariffs_a.admin, tariffs_a.org)
    org = tariffs_a.org
    data = {"name": org.name, "default_currency": "EUR", "time_zone": "Europe/Zurich",
            "brand_color": "#1f6feb", "address": "", "payment_details": "",
            "payment_terms_days": "14", "default_vat_rate": "8.1"}
    assert admin.post(reverse("portal:settings"), data).status_code == 302
    org.refresh_from_db()
    assert org.default_vat_rate == Decimal("8.1")
    bad = admin.post(reverse("portal:settings"), {**data, "default_vat_rate": "120"})
    assert bad.status_code == 400 and 'data-field="default_vat_rate"' in bad.content.decode()
    org.refresh_from_db()
    assert org.default_vat_rate == Decimal("8.1")


def test_new_rule_and_add_on_start_with_the_default_vat_rate(tariffs_a, manager):
    core_services.organization_update(actor=tariffs_a.admin, default_vat_rate=Decimal("7.70"))
    html = manager.get(reverse("tariffs:rule_create", args=[_version().public_id])).content
    assert re.search(r'name="tax_rate"[^>]*value="7.70?"', html.decode())
    html = manager.get(reverse("tariffs:add_on_create")).content.decode()
    assert re.search(r'name="tax_rate"[^>]*value="7.70?"', html)


def test_editing_a_rule_keeps_its_own_vat_rate(tariffs_a, manager):
    core_services.organization_update(actor=tariffs_a.admin, default_vat_rate=Decimal("3.5"))
    rule = _version().rules.first()
    assert rule.tax_rate != Decimal("3.5")
    html = manager.get(reverse("tariffs:rule_edit", args=[rule.public_id])).content.decode()
    assert re.search(rf'name="tax_rate"[^>]*value="{rule.tax_rate}"', html)


def test_a_tiered_rule_form_hides_the_unit_price(tariffs_a, manager):
    version = _version()
    rule = services.charge_rule_create(
        version=version, name="Blocks", kind="tiered", meter_type="cold_water",
        tiers=[{"up_to": "10", "price": "1.80"}, {"up_to": None, "price": "2.40"}],
        actor=tariffs_a.admin)
    html = manager.get(reverse("tariffs:rule_edit", args=[rule.public_id])).content.decode()
    price = _field(html, "price")
    assert " hidden" in price and 'data-kinds="standing flat"' in price
    assert " hidden" not in _field(html, "allowance")
    flat = manager.get(reverse("tariffs:rule_create", args=[version.public_id])).content.decode()
    assert " hidden" not in _field(flat, "price")  # a new rule starts as a standing charge


def test_a_price_typed_before_choosing_tiered_is_not_stored(tariffs_a, manager):
    version = _version()
    data = rule_post(name="Water blocks", kind="tiered", meter_type="cold_water", price="9.99",
                      tiers=[("10", "1.80"), ("", "2.40")])
    response = manager.post(reverse("tariffs:rule_create", args=[version.public_id]), data)
    assert response.status_code == 302, response.content.decode()[:1500]
    rule = version.rules.get(name="Water blocks")
    assert rule.price == 0
    detail = manager.get(reverse("tariffs:rate_list_detail", args=[version.rate_list.public_id])
                         + f"?version={version.number}").content.decode()
    assert "9.99" not in detail
