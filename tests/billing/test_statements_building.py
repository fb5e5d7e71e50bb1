"""The statement of building charges: the numbers on a known scenario (main meter against
sub-meters, vacancy billed to the owner, totals per billing point and meter type), the PDF,
the request (background, idempotent per property and period, bad input)."""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from billing.models import BuildingStatement, StatementStatus, statement_storage
from billing.selectors.building_statements import building_statement_data
from billing.services import building_statements as svc
from tests.billing.factories_statements import OCT, SEP, building_scenario
from tests.billing.test_statements import has, pdf_text, png_of_page, private_storage  # noqa: F401


@pytest.fixture
def building(in_org_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return building_scenario()


def test_main_meter_against_sub_meters(building):
    data = building_statement_data(property=building.prop, period_start=SEP, period_end=OCT)
    [main] = data.main_meters
    assert (main.main, main.subs, main.difference, main.percent) == (
        D("1000"), D("700"), D("300"), D("30.0"))
    assert main.sub_count == 3 and not main.estimated


def test_totals_per_billing_point_and_meter_type(building):
    data = building_statement_data(property=building.prop, period_start=SEP, period_end=OCT)
    rows = {r.name: r for r in data.points}
    flat1, flat2, flat3 = (rows[bp.name] for bp in building.points)
    common = rows["Common area"]
    # the main meter is not counted at its billing point: it measures the flats again
    assert common.consumption == {} and common.total == 0
    assert flat1.consumption == {"electricity": D("300")}
    assert flat2.consumption == {"electricity": D("250")}
    assert flat3.consumption == {"electricity": D("150")}
    assert data.consumption_totals == [D("700")]
    # 0.30 / kWh + 9.90 standing, 19 % VAT
    assert flat1.amounts == {"electricity": D("90.00"), "": D("9.90")}
    assert (flat1.net, flat1.tax, flat1.total) == (D("99.90"), D("18.98"), D("118.88"))
    assert flat3.tenants == ["Tenant Three", building.owner.name] or \
        sorted(flat3.tenants) == sorted(["Tenant Three", building.owner.name])
    assert flat3.amounts == {"electricity": D("45.00"), "": D("9.90")}
    assert data.net == sum(r.net for r in data.points) == D("239.70")
    assert data.total == D("285.25") and data.invoice_count == 4


def test_vacancy_charged_to_the_owner_is_shown_apart(building):
    data = building_statement_data(property=building.prop, period_start=SEP, period_end=OCT)
    [vacancy] = data.vacancies  # the common area is the owner's, not a vacant flat
    assert vacancy.billing_point == building.points[2].name
    assert vacancy.owner == building.owner.name
    assert (vacancy.start, vacancy.last, vacancy.days) == (date(2026, 9, 16), date(2026, 9, 30), 15)
    # 75 kWh × 0.30 + half a month's standing charge (4.95) = 27.45 net, 32.67 with VAT
    assert (vacancy.net, vacancy.total) == (D("27.45"), D("32.67"))
    assert (data.vacancy_net, data.vacancy_total) == (D("27.45"), D("32.67"))


def test_request_generates_in_the_background_and_the_pdf_holds_the_numbers(
        building, django_capture_on_commit_callbacks, tmp_path):
    with django_capture_on_commit_callbacks(execute=True):
        st = svc.building_statement_request(property=building.prop, period_start=SEP,
                                            period_end=OCT)
    st.refresh_from_db()
    assert st.status == StatementStatus.READY and st.size > 0, st.error
    with statement_storage().open(st.file.name, "rb") as fh:
        pdf = fh.read()
    text = pdf_text(pdf)
    for needle in ("Statement of building charges", building.prop.name, "1,000 kWh",
                   "700 kWh", "300 kWh", "30.0 %", "Total charged to the owner 27.45 32.67",
                   "Building total", "285.25"):
        assert has(text, needle), needle
    out = os.environ.get("STATEMENT_PNG_DIR") or tmp_path
    image = png_of_page(pdf, Path(out) / "building-p1.png")
    assert image.size[0] > image.size[1]  # landscape
    # asking again re-renders the same row and replaces the file
    with django_capture_on_commit_callbacks(execute=True):
        again = svc.building_statement_request(property=building.prop, period_start=SEP,
                                               period_end=OCT)
    again.refresh_from_db()
    assert again.pk == st.pk and again.status == StatementStatus.READY
    assert BuildingStatement.objects.count() == 1
    files = list((tmp_path / "statements" / "buildings").rglob("*.pdf"))  # old one replaced
    assert [str(f) for f in files] == [statement_storage().path(again.file.name)]


def test_bad_period_is_refused_and_creates_nothing(building):
    with pytest.raises(ValidationError) as err:
        svc.building_statement_request(property=building.prop, period_start=OCT,
                                       period_end=SEP)
    assert "period_end" in err.value.message_dict
    assert BuildingStatement.objects.count() == 0
