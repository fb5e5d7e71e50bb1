"""The API shell: authentication, roles, error format, organization, members, keys."""

import pytest
from django.core import mail
from django.utils import timezone

from billspree.core.models import ApiKey, AuditEvent, Invitation, Membership
from billspree.core.scoping import organization_context
from tests.conftest import api_client


def error_of(response):
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"status", "code", "message", "fields"}
    assert body["error"]["status"] == response.status_code
    return body["error"]


@pytest.mark.parametrize(
    "header",
    [None, "Api-Key bsk_deadbeef_nope", "Api-Key not-a-key", "Bearer ", "Api-Key "],
)
def test_missing_or_invalid_key_is_401(world_a, header):
    client = api_client()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/organization/")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Api-Key")
    assert error_of(response)["code"] in ("not_authenticated", "authentication_failed")


def test_revoked_key_is_401_and_last_used_is_recorded(world_a):
    client = api_client(key=world_a.read_key)
    assert client.get("/api/v1/organization/").status_code == 200
    with organization_context(world_a.org):
        key = ApiKey.objects.get(name__startswith="read key")
        assert key.last_used_at is not None
        assert (timezone.now() - key.last_used_at).total_seconds() < 60
    admin = api_client(user=world_a.admin)
    assert admin.post(f"/api/v1/api-keys/{key.public_id}/revoke/").status_code == 200
    response = client.get("/api/v1/organization/")
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]


def test_key_secret_shown_once_and_stored_hashed(world_a):
    admin = api_client(user=world_a.admin)
    response = admin.post("/api/v1/api-keys/", {"name": "ERP", "scopes": ["write"]}, format="json")
    assert response.status_code == 201
    secret = response.json()["key"]
    assert response.json()["scopes"] == ["read", "write"]
    with organization_context(world_a.org):
        key = ApiKey.objects.get(name="ERP")
    assert secret not in (key.key_hash, key.prefix) and len(key.key_hash) == 64
    listed = admin.get(f"/api/v1/api-keys/{key.public_id}/").json()
    assert "key" not in listed
    assert api_client(key=secret).get("/api/v1/members/").status_code == 200


def test_key_creation_bad_input(world_a):
    admin = api_client(user=world_a.admin)
    response = admin.post("/api/v1/api-keys/", {"name": "", "scopes": ["delete"]}, format="json")
    assert response.status_code == 400
    err = error_of(response)
    assert set(err["fields"]) == {"name", "scopes"}
    with organization_context(world_a.org):
        assert ApiKey.objects.count() == 2


def test_read_key_and_viewer_cannot_write(world_a):
    for client in (api_client(key=world_a.read_key), api_client(user=world_a.viewer)):
        response = client.patch("/api/v1/organization/", {"name": "Hacked"}, format="json")
        assert response.status_code == 403
        assert error_of(response)["code"] == "permission_denied"
    world_a.org.refresh_from_db()
    assert "Hacked" not in world_a.org.name


def test_write_key_cannot_manage_members_or_keys(world_a):
    client = api_client(key=world_a.write_key)
    assert client.get("/api/v1/members/").status_code == 200
    assert client.get("/api/v1/api-keys/").status_code == 403
    assert client.post("/api/v1/api-keys/", {"name": "x", "scopes": ["read"]}).status_code == 403
    assert client.post("/api/v1/invitations/", {"email": "x@example.test"}).status_code == 403


def test_organization_endpoint_reads_and_updates(world_a):
    admin = api_client(user=world_a.admin)
    data = admin.get("/api/v1/organization/").json()
    assert data["id"] == str(world_a.org.public_id)
    assert data["default_currency"] == "EUR"
    response = admin.patch(
        "/api/v1/organization/", {"name": "Renamed", "time_zone": "Europe/Vienna"}, format="json"
    )
    assert response.status_code == 200, response.json()
    world_a.org.refresh_from_db()
    assert (world_a.org.name, str(world_a.org.time_zone)) == ("Renamed", "Europe/Vienna")
    with organization_context(world_a.org):
        assert AuditEvent.objects.filter(action="organization.update").exists()


def test_organization_update_bad_input_changes_nothing(world_a):
    admin = api_client(user=world_a.admin)
    response = admin.patch(
        "/api/v1/organization/", {"name": " ", "time_zone": "Mars/Olympus"}, format="json"
    )
    assert response.status_code == 400
    assert "time_zone" in error_of(response)["fields"] or "name" in error_of(response)["fields"]
    old = world_a.org.name
    world_a.org.refresh_from_db()
    assert world_a.org.name == old


def test_last_admin_cannot_be_demoted_or_removed(world_a):
    admin = api_client(user=world_a.admin)
    with organization_context(world_a.org):
        me = Membership.objects.get(user=world_a.admin)
    response = admin.patch(f"/api/v1/members/{me.public_id}/", {"role": "viewer"}, format="json")
    assert response.status_code == 409
    assert "at least one admin" in error_of(response)["message"]
    assert admin.delete(f"/api/v1/members/{me.public_id}/").status_code == 409
    me.refresh_from_db()
    assert me.role == "admin"


def test_role_change_and_removal(world_a):
    admin = api_client(user=world_a.admin)
    with organization_context(world_a.org):
        viewer = Membership.objects.get(user=world_a.viewer)
    response = admin.patch(
        f"/api/v1/members/{viewer.public_id}/", {"role": "operator"}, format="json"
    )
    assert response.status_code == 200 and response.json()["role"] == "operator"
    response = admin.patch(f"/api/v1/members/{viewer.public_id}/", {"role": "owner"}, format="json")
    assert response.status_code == 400 and "role" in error_of(response)["fields"]
    assert admin.delete(f"/api/v1/members/{viewer.public_id}/").status_code == 204
    with organization_context(world_a.org):
        assert not Membership.objects.filter(user=world_a.viewer).exists()


def test_invitation_by_api_sends_email(world_a, django_capture_on_commit_callbacks):
    admin = api_client(user=world_a.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/api/v1/invitations/",
            {"email": "New.Person@Example.test", "role": "manager"},
            format="json",
        )
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "pending"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new.person@example.test"]
    assert "/invite/" in mail.outbox[0].body
    again = admin.post("/api/v1/invitations/", {"email": "new.person@example.test"}, format="json")
    assert again.status_code == 409
    member = admin.post("/api/v1/invitations/", {"email": world_a.viewer.email}, format="json")
    assert member.status_code == 409 and "already a member" in error_of(member)["message"]
    with organization_context(world_a.org):
        assert Invitation.objects.count() == 1


def test_unknown_row_is_404_in_the_error_format(world_a):
    admin = api_client(user=world_a.admin)
    response = admin.get("/api/v1/members/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert admin.get("/api/v1/members/not-a-uuid/").status_code == 404


def test_pagination_filtering_and_search(world_a):
    admin = api_client(user=world_a.admin)
    page = admin.get("/api/v1/members/?page_size=2").json()
    assert page["count"] == 4 and len(page["results"]) == 2 and page["next"]
    assert [m["role"] for m in admin.get("/api/v1/members/?role=viewer").json()["results"]] == [
        "viewer"
    ]
    found = admin.get("/api/v1/members/?search=operator-").json()["results"]
    assert [m["email"] for m in found] == [world_a.operator.email]


def test_schema_and_docs_are_served_locally(world_a):
    client = api_client()
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    spec = schema.json()
    assert (
        "/api/v1/members/" in spec["paths"]
        and "ApiKeyAuth" in spec["components"]["securitySchemes"]
    )
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower() and "unpkg" not in html
    assert "/static/drf_spectacular_sidecar/" in html


def test_member_list_query_count_does_not_grow_with_rows(world_a, django_assert_max_num_queries):
    from tests.factories import make_user

    admin = api_client(user=world_a.admin)
    admin.get("/api/v1/members/")  # warm up the session and content types
    with django_assert_max_num_queries(8):
        assert admin.get("/api/v1/members/").json()["count"] == 4
    with organization_context(world_a.org):
        for i in range(20):
            Membership.objects.create(
                organization=world_a.org, user=make_user(f"extra{i}@example.test"), role="viewer"
            )
    with django_assert_max_num_queries(8):
        assert admin.get("/api/v1/members/").json()["count"] == 24
