"""Payment settings of the organization (IBAN, BIC, VAT number, structured address) through
the portal settings form and the API: a bad IBAN is refused on the ``iban`` field and
nothing is saved."""

from __future__ import annotations

from tests.conftest import api_client, login_client


def error_of(response) -> dict:
    return response.json()["error"]


def settings_post(world, **fields):
    data = {"name": world.org.name, "default_currency": "CHF", "time_zone": "Europe/Zurich"}
    return login_client(world.admin, world.org).post("/settings/", {**data, **fields})


def test_portal_settings_store_iban_compact_and_the_structured_address(world_a):
    response = settings_post(world_a, iban="ch44 3199 9123 0008 8901 2", bic="ubswchzh80a",
                             vat_number="CHE-123.456.789 MWST", street="Bahnhofstrasse",
                             building_number="1", postal_code="8001", town="Zürich",
                             country="ch")
    assert response.status_code == 302, response.content.decode()[:2000]
    world_a.org.refresh_from_db()
    org = world_a.org
    assert (org.iban, org.bic, org.country) == ("CH4431999123000889012", "UBSWCHZH80A", "CH")
    assert (org.street, org.postal_code, org.town) == ("Bahnhofstrasse", "8001", "Zürich")
    assert org.vat_number == "CHE-123.456.789 MWST"


def test_portal_settings_refuse_a_bad_iban_on_its_field(world_a):
    response = settings_post(world_a, name="Renamed", iban="CH44 3199 9123 0008 8901 3")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="iban"' in html and "Not a valid IBAN" in html
    world_a.org.refresh_from_db()
    assert world_a.org.iban == "" and world_a.org.name != "Renamed"


def test_api_reads_and_updates_payment_details(world_a):
    admin = api_client(user=world_a.admin)
    response = admin.patch("/api/v1/organization/", {
        "iban": "DE89 3704 0044 0532 0130 00", "bic": "COBADEFFXXX", "vat_number": "DE123456789",
        "street": "Lindenstraße", "building_number": "12", "postal_code": "10969",
        "town": "Berlin", "country": "DE"}, format="json")
    assert response.status_code == 200, response.json()
    body = admin.get("/api/v1/organization/").json()
    assert body["iban"] == "DE89370400440532013000" and body["bic"] == "COBADEFFXXX"
    assert (body["vat_number"], body["town"], body["country"]) == ("DE123456789", "Berlin", "DE")


def test_api_refuses_a_bad_iban_and_saves_nothing(world_a):
    admin = api_client(user=world_a.admin)
    response = admin.patch("/api/v1/organization/", {"iban": "DE00 1234", "town": "Berlin",
                                                     "country": "Germany"}, format="json")
    assert response.status_code == 400
    fields = error_of(response)["fields"]
    assert "iban" in fields and "Not a valid IBAN" in " ".join(fields["iban"])
    world_a.org.refresh_from_db()
    assert (world_a.org.iban, world_a.org.town) == ("", "")


def test_a_long_iban_pasted_in_groups_fits(world_a):
    # Malta: 31 characters, 38 with the spaces of its groups of four
    response = settings_post(world_a, iban="MT84 MALT 0110 0001 2345 MTLC AST0 01S")
    assert response.status_code == 302, response.content.decode()[:2000]
    world_a.org.refresh_from_db()
    assert world_a.org.iban == "MT84MALT011000012345MTLCAST001S"
    admin = api_client(user=world_a.admin)
    response = admin.patch("/api/v1/organization/",
                           {"iban": "MT84 MALT 0110 0001 2345 MTLC AST0 01S"}, format="json")
    assert response.status_code == 200, response.json()
