"""Portal pages of the core, through the real middleware, sessions and templates."""

import re

import pytest
from django.core import mail
from django.test import Client

from billspree.core.models import ApiKey, AuditEvent, Invitation, Membership, Organization, User
from billspree.core.scoping import organization_context
from tests.conftest import login_client
from tests.factories import PASSWORD


def test_login_required_everywhere_in_the_portal(world_a):
    response = Client().get("/settings/members/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_dashboard_shows_the_selected_organization(world_a):
    html = login_client(world_a.admin, world_a.org).get("/").content.decode()
    assert world_a.org.name in html and "Getting started" in html


def test_switching_to_a_foreign_organization_is_404(world_a, world_b):
    client = login_client(world_a.admin, world_a.org)
    assert client.post(f"/organizations/switch/{world_b.org.public_id}/").status_code == 404
    assert world_b.org.name not in client.get("/").content.decode()


def test_settings_update_and_validation(world_a):
    client = login_client(world_a.admin, world_a.org)
    response = client.post(
        "/settings/",
        {"name": "Alpha Renamed", "default_currency": "CHF", "time_zone": "Europe/Zurich"},
    )
    assert response.status_code == 302
    world_a.org.refresh_from_db()
    assert (world_a.org.name, world_a.org.default_currency) == ("Alpha Renamed", "CHF")
    bad = client.post("/settings/", {"name": "", "default_currency": "XXX", "time_zone": "Nowhere"})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert 'data-field="name"' in html and 'data-field="time_zone"' in html
    world_a.org.refresh_from_db()
    assert world_a.org.name == "Alpha Renamed"


def test_settings_are_for_admins_only(world_a):
    assert login_client(world_a.manager, world_a.org).get("/settings/").status_code == 403


def test_invitation_round_trip_creates_a_member(world_a, django_capture_on_commit_callbacks):
    admin = login_client(world_a.admin, world_a.org)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/settings/members/", {"email": "newbie@example.test", "role": "operator"}
        )
    assert response.status_code == 302
    link = re.search(r"https?://\S+(/invite/\S+/)", mail.outbox[0].body).group(1)

    guest = Client()
    page = guest.get(link)
    assert page.status_code == 200 and world_a.org.name in page.content.decode()
    weak = guest.post(link, {"first_name": "New", "password": "123"})
    assert weak.status_code == 400 and not User.objects.filter(email="newbie@example.test").exists()
    joined = guest.post(
        link, {"first_name": "New", "last_name": "Bie", "password": "a-Long-pass-phrase"}
    )
    assert joined.status_code == 302
    with organization_context(world_a.org):
        member = Membership.objects.get(user__email="newbie@example.test")
        assert member.role == "operator"
        assert Invitation.objects.get(email="newbie@example.test").accepted_at is not None
    assert guest.get(link).status_code == 404  # used once


def test_invitation_bad_input(world_a):
    admin = login_client(world_a.admin, world_a.org)
    response = admin.post("/settings/members/", {"email": "not-an-email", "role": "king"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="email"' in html and 'data-field="role"' in html
    dup = admin.post("/settings/members/", {"email": world_a.viewer.email, "role": "viewer"})
    assert dup.status_code == 400 and "already a member" in dup.content.decode()
    with organization_context(world_a.org):
        assert not Invitation.objects.exists()


def test_existing_user_accepts_after_login(world_a, world_b, django_capture_on_commit_callbacks):
    admin_b = login_client(world_b.admin, world_b.org)
    with django_capture_on_commit_callbacks(execute=True):
        admin_b.post("/settings/members/", {"email": world_a.viewer.email, "role": "manager"})
    link = re.search(r"(/invite/\S+/)", mail.outbox[0].body).group(1)
    client = login_client(world_a.viewer, world_a.org)
    assert client.post(link).status_code == 302
    html = client.get("/").content.decode()
    assert world_b.org.name in html  # switched to the new organization
    assert {m.organization for m in Membership.objects.unscoped().filter(user=world_a.viewer)} == {
        world_a.org,
        world_b.org,
    }


def test_api_key_page_creates_shows_once_and_revokes(world_a):
    admin = login_client(world_a.admin, world_a.org)
    created = admin.post("/settings/api-keys/", {"name": "Logger", "scopes": ["read"]})
    secret = re.search(r"(bsk_[\w-]+)", created.content.decode()).group(1)
    assert secret not in admin.get("/settings/api-keys/").content.decode()
    with organization_context(world_a.org):
        key = ApiKey.objects.get(name="Logger")
    admin.post(f"/settings/api-keys/{key.public_id}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_password_reset_sends_a_working_link(world_a):
    client = Client()
    client.post("/accounts/password-reset/", {"email": world_a.viewer.email})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    response = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "Brand-new-pass-42", "new_password2": "Brand-new-pass-42"},
    )
    assert response.status_code == 302
    assert Client().login(email=world_a.viewer.email, password="Brand-new-pass-42")
    assert not Client().login(email=world_a.viewer.email, password=PASSWORD)


def test_user_without_organization_can_create_one(db):
    user = User.objects.create_user("solo@example.test", PASSWORD)
    client = Client()
    client.login(email=user.email, password=PASSWORD)
    assert client.get("/").url == "/organizations/new/"
    assert client.post("/organizations/new/", {"name": "  "}).status_code == 400
    assert client.post("/organizations/new/", {"name": "Solo Estates"}).status_code == 302
    org = Organization.objects.get(name="Solo Estates")
    assert Membership.objects.unscoped().get(organization=org, user=user).role == "admin"


def test_an_invitation_opened_by_another_account_makes_no_member(
    world_a, world_b, django_capture_on_commit_callbacks
):
    """A leaked admin invitation must not make whoever opens it an admin: a viewer of
    another organization gets a page saying whom it is for, nothing changes, it is audited,
    and the link still works for the invited address."""
    admin_b = login_client(world_b.admin, world_b.org)
    with django_capture_on_commit_callbacks(execute=True):
        admin_b.post("/settings/members/", {"email": "boss@example.test", "role": "admin"})
    link = re.search(r"(/invite/\S+/)", mail.outbox[0].body).group(1)
    intruder = login_client(world_a.viewer, world_a.org)
    page = intruder.get(link)
    assert page.status_code == 403
    assert "boss@example.test" in page.content.decode()
    assert world_a.viewer.email in page.content.decode()
    refused = intruder.post(link)
    assert refused.status_code == 403
    assert not Membership.objects.unscoped().filter(
        user=world_a.viewer, organization=world_b.org).exists()
    with organization_context(world_b.org):
        invitation = Invitation.objects.get(email="boss@example.test")
        assert invitation.accepted_at is None
        assert AuditEvent.objects.filter(action="invitation.wrong_account",
                                         actor=world_a.viewer).count() == 1
    # the invited address still joins with the same link
    guest = Client()
    joined = guest.post(link, {"first_name": "Bo", "last_name": "Ss",
                               "password": "a-Long-pass-phrase"})
    assert joined.status_code == 302
    with organization_context(world_b.org):
        assert Membership.objects.get(user__email="boss@example.test").role == "admin"


def test_the_service_refuses_an_account_that_was_not_invited(world_a, world_b):
    from billspree.core.services import (
        InvitationForAnotherAccount,
        invitation_accept,
        invitation_create,
    )

    with organization_context(world_b.org):
        invitation, token = invitation_create(email="Boss@Example.test", role="admin",
                                              actor=world_b.admin)
    with pytest.raises(InvitationForAnotherAccount, match="boss@example.test|Boss@Example"):
        invitation_accept(token=token, user=world_a.viewer)
    with organization_context(world_b.org):
        assert Invitation.objects.get(pk=invitation.pk).accepted_at is None
