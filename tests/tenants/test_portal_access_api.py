"""Tenant portal access over the REST API: invite, list, resend, revoke; bad input refused."""

from __future__ import annotations

import pytest
from django.core import mail

from billspree.core.scoping import organization_context
from tenants.models import TenantAccess
from tests.conftest import api_client
from tests.tenants.factories import make_tenant

pytestmark = pytest.mark.django_db
URL = "/api/v1/portal-accesses/"


@pytest.fixture
def tenant(world_a):
    with organization_context(world_a.org):
        return make_tenant(name="Api Tenant", email="api-tenant@example.test")


def test_invite_list_resend_revoke(world_a, tenant, django_capture_on_commit_callbacks):
    client = api_client(key=world_a.write_key)
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(URL, {"tenant": str(tenant.public_id)}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["email"] == "api-tenant@example.test" and body["status"] == "invited"
    assert "token" not in created.content.decode()
    assert [m.to for m in mail.outbox] == [["api-tenant@example.test"]]
    listed = client.get(URL, {"tenant__public_id": str(tenant.public_id)}).json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    again = client.post(URL, {"tenant": str(tenant.public_id)}, format="json")
    assert again.status_code == 409
    with django_capture_on_commit_callbacks(execute=True):
        resent = client.post(f"{URL}{body['id']}/resend/")
    assert resent.status_code == 200 and len(mail.outbox) == 2
    revoked = client.post(f"{URL}{body['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert client.post(f"{URL}{body['id']}/resend/").status_code == 409


def test_bad_input_is_refused_and_changes_nothing(world_a, tenant):
    client = api_client(key=world_a.write_key)
    with organization_context(world_a.org):
        nobody = make_tenant(name="No Mail")
    assert client.post(URL, {"tenant": str(nobody.public_id)}, format="json").status_code == 400
    response = client.post(URL, {"tenant": str(tenant.public_id), "email": "nope"}, format="json")
    assert response.status_code == 400 and "email" in response.json()["error"]["fields"]
    assert client.post(URL, {}, format="json").status_code == 400
    reader = api_client(key=world_a.read_key)
    assert reader.post(URL, {"tenant": str(tenant.public_id)}, format="json").status_code == 403
    assert not TenantAccess.objects.unscoped().exists()
