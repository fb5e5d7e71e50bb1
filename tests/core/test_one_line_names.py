"""One-line names (issue 14): an organization name (and a tenant's, a building's, a meter
label…) cannot hold a line break, stored ones are rewritten, and an email whose subject
carries such a name is still sent."""

from __future__ import annotations

import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.core.exceptions import ValidationError

from billspree.core import services as core_services
from billspree.core.models import Organization, Role
from billspree.core.scoping import organization_context
from billspree.core.validators import ONE_LINE_MESSAGE, one_line, one_line_data_migration
from tests.conftest import api_client, login_client


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"]


def test_one_line_collapses_every_break_and_control_character():
    assert one_line(" Alpha\r\n\tEstates\u2028AG\x0b \x85Zurich ") == "Alpha Estates AG Zurich"
    assert one_line("Plain name") == "Plain name"


@pytest.mark.parametrize("name", ["Alpha\nEstates", "Alpha\r\nEstates", "Alpha\tEstates",
                                  "Alpha\u2028Estates"])
def test_api_refuses_a_multi_line_organization_name(world_a, name):
    before = Organization.objects.get(pk=world_a.org.pk).name
    response = api_client(user=world_a.admin).patch("/api/v1/organization/", {"name": name},
                                                    format="json")
    assert response.status_code == 400
    err = error_of(response)
    assert err["fields"] == {"name": [ONE_LINE_MESSAGE]}
    assert Organization.objects.get(pk=world_a.org.pk).name == before


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/tenants/", {"name": "Koala\nKlein", "kind": "person"}),
    ("/api/v1/properties/", {"name": "Tower\r\nB", "time_zone": "Europe/Zurich",
                             "kind": "apartment"}),
    ("/api/v1/rate-lists/", {"name": "Summer\nTariff", "currency": "CHF",
                             "effective_from": "2026-01-01"}),
])
def test_api_refuses_multi_line_names_and_stores_nothing(world_a, path, body):
    client = api_client(user=world_a.admin)
    response = client.post(path, body, format="json")
    assert response.status_code == 400, response.content
    assert "name" in error_of(response)["fields"]
    assert client.get(path).json()["count"] == 0 or all(
        "\n" not in row["name"] for row in client.get(path).json()["results"])


def test_a_service_behind_a_plain_form_cannot_store_a_line_break(in_org_a):
    """The rate-list portal form is a plain form: the check on save still holds."""
    from tariffs import services
    from tariffs.models import RateList

    with pytest.raises(ValidationError) as caught:
        services.rate_list_create(name="Summer\nTariff", currency="CHF",
                                  effective_from=__import__("datetime").date(2026, 1, 1))
    assert caught.value.message_dict == {"name": [ONE_LINE_MESSAGE]}
    assert not RateList.objects.exists()


def test_portal_settings_refuse_a_multi_line_name(world_a):
    client = login_client(world_a.admin, world_a.org)
    before = Organization.objects.get(pk=world_a.org.pk).name
    page = client.post("/settings/", {"name": "Alpha\r\nEstates", "default_currency": "EUR",
                                      "time_zone": "UTC"})
    assert page.status_code == 400
    assert "single line" in page.content.decode()
    assert Organization.objects.get(pk=world_a.org.pk).name == before


def test_emails_are_sent_for_an_organization_whose_stored_name_has_a_line_break(
        world_a, django_capture_on_commit_callbacks):
    """As stored before the validator (or written around it): the subject is one line."""
    Organization.objects.filter(pk=world_a.org.pk).update(name="Alpha\nEstates\r\nAG")
    mail.outbox.clear()
    with organization_context(Organization.objects.get(pk=world_a.org.pk)), \
            django_capture_on_commit_callbacks(execute=True):
        core_services.invitation_create(email="new@example.test", role=Role.VIEWER,
                                        actor=world_a.admin)
    assert len(mail.outbox) == 1
    subject = mail.outbox[0].subject
    assert subject == "You are invited to Alpha Estates AG on Billspree"
    assert "\n" not in mail.outbox[0].message()["Subject"]


def test_tenant_portal_email_is_sent_despite_a_stored_line_break(
        world_a, django_capture_on_commit_callbacks):
    from tenants import services as tenant_services

    Organization.objects.filter(pk=world_a.org.pk).update(name="Alpha\nEstates")
    mail.outbox.clear()
    with organization_context(Organization.objects.get(pk=world_a.org.pk)), \
            django_capture_on_commit_callbacks(execute=True):
        tenant = tenant_services.tenant_create(name="Koala", email="koala@example.test")
        tenant_services.tenant_portal_invite(tenant=tenant, actor=world_a.admin)
    assert [m.subject for m in mail.outbox] == ["Your tenant portal at Alpha Estates"]


def test_the_data_migration_rewrites_stored_names_to_one_line(world_a, world_b):
    from meters.models import Property

    Organization.objects.filter(pk=world_a.org.pk).update(name="Alpha\r\nEstates\tAG")
    with organization_context(world_a.org):
        prop = Property.objects.create(name="Tower", time_zone="UTC")
    Property.objects.unscoped().filter(pk=prop.pk).update(name="Tower\nB")
    untouched = Organization.objects.get(pk=world_b.org.pk).name

    one_line_data_migration("core", {"organization": ["name"]}).code(django_apps, None)
    one_line_data_migration("meters", {"property": ["name"]}).code(django_apps, None)

    assert Organization.objects.get(pk=world_a.org.pk).name == "Alpha Estates AG"
    assert Organization.objects.get(pk=world_b.org.pk).name == untouched
    assert Property.objects.unscoped().get(pk=prop.pk).name == "Tower B"
