"""A person with portal access in two organizations switches between their accounts; the
portal shows one account's data at a time and never anyone else's."""

from __future__ import annotations

import pytest

from billspree.core.scoping import organization_context
from tenants import services
from tests.conftest import login_client
from tests.tenants.factories_portal import make_portal_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_accounts(world_a, world_b):
    """KOALA rents in A; the same login is also tenant DINGO in B (invited later, after
    DINGO's earlier login was revoked); EMU is someone else in B."""
    with organization_context(world_a.org):
        koala = make_portal_tenant(world_a, "KOALA")
    with organization_context(world_b.org):
        emu = make_portal_tenant(world_b, "EMU")
        dingo = make_portal_tenant(world_b, "DINGO")
        services.tenant_portal_revoke(access=dingo.access, actor=world_b.admin)
        _, token = services.tenant_portal_invite(tenant=dingo.tenant, email=koala.user.email,
                                                 actor=world_b.admin)
        second = services.tenant_portal_accept(token=token, user=koala.user)
    return koala, emu, second


def test_the_newest_account_shows_first_and_the_other_is_one_click_away(two_accounts, world_a):
    koala, emu, second = two_accounts
    client = login_client(koala.user)
    home = client.get("/my/").content.decode()
    assert "Tenant DINGO" in home and "Flat DINGO" in home and "Flat KOALA" not in home
    assert 'data-testid="account-switch"' in home
    r = client.post(f"/my/switch/{koala.access.public_id}/")
    assert r.status_code == 302 and r.url == "/my/"
    home = client.get("/my/").content.decode()
    assert "Flat KOALA" in home and "Flat DINGO" not in home
    assert f"Now showing your account with {world_a.org.name}" in home
    invoices = client.get("/my/invoices/").content.decode()
    assert str(koala.invoice.public_id) in invoices  # numbers repeat across organizations
    from billing.models import Invoice

    dingo_invoice = Invoice.objects.unscoped().filter(tenant=second.tenant).first()
    assert dingo_invoice is not None and str(dingo_invoice.public_id) not in invoices
    profile = client.get("/my/profile/").content.decode()
    assert 'data-testid="accounts"' in profile and "shown now" in profile


def test_switching_to_someone_elses_or_a_revoked_access_is_a_404(two_accounts, world_b):
    koala, emu, second = two_accounts
    client = login_client(koala.user)
    client.raise_request_exception = False
    assert client.post(f"/my/switch/{emu.access.public_id}/").status_code == 404  # EMU's own
    assert client.get(f"/my/switch/{second.public_id}/").status_code == 405  # POST only
    with organization_context(world_b.org):
        services.tenant_portal_revoke(access=second, actor=world_b.admin)
    assert client.post(f"/my/switch/{second.public_id}/").status_code == 404
    home = client.get("/my/").content.decode()
    assert "Flat KOALA" in home and 'data-testid="account-switch"' not in home
