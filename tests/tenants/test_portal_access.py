"""Tenant portal: invitation by email, accepting the one-time link, resend, revoke, login
routing, and what a tenant may and may not see."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from billspree.core.models import Organization, Role
from billspree.core.scoping import organization_context
from tenants import services
from tenants.models import TenantAccess
from tenants.portal import TenantPortalMixin
from tests.conftest import login_client
from tests.factories import PASSWORD, make_user
from tests.tenants.factories_portal import make_portal_tenant

pytestmark = pytest.mark.django_db


def _link(message) -> str:
    found = re.search(r"https?://[^/\s]+(/my/invite/[^\s]+/)", message.body)
    assert found, message.body
    return found.group(1)


@pytest.fixture
def tenant_a(in_org_a):
    from tests.tenants.factories import make_tenant

    return make_tenant(name="Tessa Tenant", email="tessa@example.test")


def _invite_by_manager(world, tenant, email="tessa@example.test", capture=None):
    client = login_client(world.manager, world.org)
    with capture(execute=True):
        response = client.post(f"/tenants/{tenant.public_id}/portal/invite/", {"email": email})
    assert response.status_code == 302
    return client


def test_invite_email_link_signup_lands_on_my(
    world_a, tenant_a, django_capture_on_commit_callbacks
):
    _invite_by_manager(world_a, tenant_a, capture=django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["tessa@example.test"]
    link = _link(mail.outbox[0])
    anonymous = Client()
    page = anonymous.get(link)
    assert page.status_code == 200 and b"Set password" in page.content
    response = anonymous.post(link, {"first_name": "Tessa", "password": "a-long-safe-pass-42"})
    assert response.status_code == 302 and response["Location"] == "/my/"
    home = anonymous.get("/my/")
    assert home.status_code == 200 and b"Tessa Tenant" in home.content
    access = TenantAccess.objects.unscoped().get(tenant=tenant_a)
    assert access.accepted_at is not None and access.user.email == "tessa@example.test"
    assert Client().get(link).status_code == 404  # one-time


def test_invite_refuses_bad_input_and_changes_nothing(in_org_a, tenant_a):
    world = in_org_a
    from tests.tenants.factories import make_tenant

    nobody = make_tenant(name="No Mail")
    with pytest.raises(Exception, match="needs an email"):
        services.tenant_portal_invite(tenant=nobody, actor=world.admin)
    with pytest.raises(Exception, match="not a valid email"):
        services.tenant_portal_invite(tenant=tenant_a, email="not-an-email", actor=world.admin)
    with pytest.raises(Exception, match="member"):
        services.tenant_portal_invite(tenant=tenant_a, email=world.viewer.email, actor=world.admin)
    assert not TenantAccess.objects.exists()
    services.tenant_portal_invite(tenant=tenant_a, actor=world.admin)
    with pytest.raises(Exception, match="already has portal access"):
        services.tenant_portal_invite(tenant=tenant_a, actor=world.admin)
    assert TenantAccess.objects.count() == 1


def test_resend_rotates_the_link_and_expired_links_fail(in_org_a, tenant_a):
    access, old = services.tenant_portal_invite(tenant=tenant_a, actor=in_org_a.admin)
    _, new = services.tenant_portal_resend(access=access, actor=in_org_a.admin)
    assert services.tenant_access_by_token(old) is None
    assert services.tenant_access_by_token(new) is not None
    TenantAccess.objects.filter(pk=access.pk).update(expires_at=timezone.now() - timedelta(1))
    assert services.tenant_access_by_token(new) is None
    assert Client().get(f"/my/invite/{new}/").status_code == 404


def test_existing_user_logs_in_then_accepts(in_org_a, tenant_a):
    user = make_user("tessa@example.test")
    _, token = services.tenant_portal_invite(tenant=tenant_a, actor=in_org_a.admin)
    client = Client()
    assert client.post(f"/my/invite/{token}/").url.startswith("/accounts/login/")
    client.login(email=user.email, password=PASSWORD)
    assert client.post(f"/my/invite/{token}/")["Location"] == "/my/"
    assert client.get("/my/").status_code == 200


def test_a_user_of_another_email_cannot_take_the_invitation(in_org_a, tenant_a):
    other = make_user("mallory@example.test")
    _, token = services.tenant_portal_invite(tenant=tenant_a, actor=in_org_a.admin)
    client = login_client(other)
    assert client.post(f"/my/invite/{token}/").status_code == 400
    assert TenantAccess.objects.get().accepted_at is None


def test_revoke_ends_access_at_the_next_request(in_org_a):
    pt = make_portal_tenant(in_org_a, "KOALA")
    client = login_client(pt.user)
    assert client.get("/my/").status_code == 200
    services.tenant_portal_revoke(access=pt.access, actor=in_org_a.admin)
    assert Client(raise_request_exception=False).get("/my/").status_code in (302, 403)
    refused = login_client(pt.user)
    refused.raise_request_exception = False
    assert refused.get("/my/").status_code == 403
    assert refused.get(f"/my/invoices/{pt.invoice.public_id}/").status_code == 403


def test_login_sends_tenants_to_my_and_members_to_the_dashboard(in_org_a):
    pt = make_portal_tenant(in_org_a, "KOALA")
    tenant = Client()
    response = tenant.post("/accounts/login/", {"username": pt.user.email, "password": PASSWORD},
                           follow=True)
    assert response.redirect_chain[-1][0] == "/my/" and b"Tenant KOALA" in response.content
    member = Client()
    response = member.post("/accounts/login/", {"username": in_org_a.viewer.email,
                                                "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/"


def test_tenant_cannot_create_an_organization_or_open_manager_pages(in_org_a):
    pt = make_portal_tenant(in_org_a, "KOALA")
    client = login_client(pt.user)
    before = Organization.objects.count()
    assert client.post("/organizations/new/", {"name": "Mine"})["Location"] == "/my/"
    assert Organization.objects.count() == before
    assert client.get("/tenants/").status_code == 302
    client.raise_request_exception = False
    assert client.get("/api/v1/tenants/").status_code in (401, 403)


def test_tenant_sees_own_issued_invoices_never_drafts_and_downloads_the_pdf(in_org_a):
    pt = make_portal_tenant(in_org_a, "KOALA")
    client = login_client(pt.user)
    listing = client.get("/my/invoices/")
    assert pt.invoice.number.encode() in listing.content
    assert str(pt.draft.public_id).encode() not in listing.content
    assert client.get(f"/my/invoices/{pt.draft.public_id}/").status_code == 404
    detail = client.get(f"/my/invoices/{pt.invoice.public_id}/")
    assert detail.status_code == 200 and b"14.28" in detail.content
    pdf = client.get(f"/my/invoices/{pt.invoice.public_id}/statement.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment;")
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    latest = client.get("/my/invoices/latest/")
    assert pt.invoice.number.encode() in latest.content


def test_statement_not_ready_says_being_prepared(in_org_a):
    from billing.models import StatementStatus

    pt = make_portal_tenant(in_org_a, "KOALA")
    statement = pt.invoice.statement
    statement.status = StatementStatus.PENDING
    statement.save()
    client = login_client(pt.user)
    detail = client.get(f"/my/invoices/{pt.invoice.public_id}/")
    assert b"being prepared" in detail.content and b"statement.pdf" not in detail.content
    response = client.get(f"/my/invoices/{pt.invoice.public_id}/statement.pdf", follow=True)
    assert response.redirect_chain and b"being prepared" in response.content


def test_another_tenant_of_the_same_organization_is_a_404(in_org_a):
    from billing import services as billing_services

    one = make_portal_tenant(in_org_a, "KOALA")
    two = make_portal_tenant(in_org_a, "WOMBAT")
    note = billing_services.credit_note_create(invoice=two.invoice, reason="Wrong reading")
    client = login_client(one.user)
    for url in (f"/my/invoices/{two.invoice.public_id}/",
                f"/my/invoices/{two.invoice.public_id}/statement.pdf",
                f"/my/credit-notes/{note.public_id}/credit-note.pdf",
                f"/my/consumption/{two.meter.public_id}/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/my/switch/{two.access.public_id}/").status_code == 404
    for url in ("/my/", "/my/invoices/", "/my/consumption/", "/my/profile/",
                "/my/invoices/latest/"):
        response = client.get(url)
        assert response.status_code == 200 and b"WOMBAT" not in response.content, url
        assert b"KOALA" in response.content or url.endswith("latest/"), url


def test_members_staff_and_anonymous_are_refused(in_org_a):
    make_portal_tenant(in_org_a, "KOALA")
    for user in (in_org_a.admin, in_org_a.viewer):
        client = login_client(user, in_org_a.org)
        client.raise_request_exception = False
        assert client.get("/my/").status_code == 403
        assert client.get("/my/invoices/").status_code == 403
    staff = make_user("staff@example.test", is_staff=True, is_superuser=True)
    client = login_client(staff)
    client.raise_request_exception = False
    assert client.get("/my/invoices/").status_code == 403
    assert Client().get("/my/invoices/")["Location"].startswith("/accounts/login/")


def test_consumption_is_clipped_to_the_tenants_occupancy(in_org_a):
    """Tenant X lives at the flat until 15 March, Y from then; each sees only their part."""
    from datetime import datetime

    from tests.tenants.factories_portal import at, portal_login, read

    pt = make_portal_tenant(in_org_a, "KOALA")
    tz = pt.occupancy.move_in.tzinfo
    now = timezone.now().astimezone(tz)
    month = lambda back: datetime(  # noqa: E731
        (now.year * 12 + now.month - 1 - back) // 12, (now.month - 1 - back) % 12 + 1, 1,
        tzinfo=tz,
    )
    read(pt.meter, (month(3), "1000"), (month(2), "1100"), (month(1), "1300"), (month(0), "1700"))
    moved = month(2) + timedelta(days=14)
    services.move_register(
        billing_point=pt.billing_point, moved_at=moved,
        incoming_tenant=services.tenant_create(name="Next Occupant", email="next@example.test"),
    )
    nxt = pt.tenant.__class__.objects.get(name="Next Occupant")
    user, _ = portal_login(nxt, "next@example.test", in_org_a.admin)
    from tenants.consumption import tenant_meter_months

    mine = {b.start: b for b in tenant_meter_months(tenant=pt.tenant, meter=pt.meter)}
    theirs = {b.start: b for b in tenant_meter_months(tenant=nxt, meter=pt.meter)}
    assert mine[month(3)].quantity == 100 and not theirs[month(3)].occupied
    split = mine[month(2)].quantity + theirs[month(2)].quantity
    assert split == 200 and 0 < mine[month(2)].quantity < 200
    assert not mine[month(1)].occupied and theirs[month(1)].quantity == 400
    page = login_client(user).get(f"/my/consumption/{pt.meter.public_id}/")
    assert page.status_code == 200 and b"400" in page.content
    assert at(2025, 1) < moved


def test_manager_panel_invites_resends_and_revokes(world_a, tenant_a,
                                                   django_capture_on_commit_callbacks):
    manager = login_client(world_a.manager, world_a.org)
    page = manager.get(f"/tenants/{tenant_a.public_id}/")
    assert b"Invite to portal" in page.content and b'value="tessa@example.test"' in page.content
    viewer = login_client(world_a.viewer, world_a.org)
    viewer.raise_request_exception = False
    assert viewer.post(f"/tenants/{tenant_a.public_id}/portal/invite/",
                       {"email": "tessa@example.test"}).status_code == 403
    _invite_by_manager(world_a, tenant_a, capture=django_capture_on_commit_callbacks)
    with organization_context(world_a.org):
        access = TenantAccess.objects.get()
    page = manager.get(f"/tenants/{tenant_a.public_id}/")
    assert b"invited" in page.content and b"Resend invitation" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        manager.post(f"/tenants/portal-access/{access.public_id}/resend/")
    assert len(mail.outbox) == 2 and _link(mail.outbox[0]) != _link(mail.outbox[1])
    manager.post(f"/tenants/portal-access/{access.public_id}/revoke/")
    with organization_context(world_a.org):
        assert TenantAccess.objects.get().revoked_at is not None
    assert Client().get(_link(mail.outbox[1])).status_code == 404
    assert b"Invite to portal" in manager.get(f"/tenants/{tenant_a.public_id}/").content


def _my_routes(patterns, prefix=""):
    for p in patterns:
        text = str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _my_routes(p.url_patterns, prefix + text)
        elif isinstance(p, URLPattern) and (prefix + text).startswith("my/"):
            yield prefix + text, p.callback.view_class


def test_every_my_view_uses_the_one_mechanism():
    """Structural: every /my/ page but the invitation link inherits TenantPortalMixin, and
    every one taking an id names the tenant scope it looks the id up in."""
    routes = list(_my_routes(get_resolver().url_patterns))
    assert len(routes) >= 9
    for pattern, view in routes:
        if "<str:token>" in pattern:
            continue
        assert issubclass(view, TenantPortalMixin), pattern
        if "<uuid:id>" in pattern:
            assert view.scope, f"{pattern} takes an id but names no tenant scope"


def test_roles_are_unchanged_for_members(in_org_a):
    """Sanity: the middleware leaves members alone (role and organization bound by core)."""
    client = login_client(in_org_a.manager, in_org_a.org)
    assert client.get("/tenants/").status_code == 200
    assert Role.MANAGER


def test_password_change_stays_in_the_tenant_portal(in_org_a):
    pt = make_portal_tenant(in_org_a, "KOALA")
    client = login_client(pt.user)
    assert client.get("/accounts/password/")["Location"] == "/my/profile/password/"
    bad = client.post("/my/profile/password/", {"old_password": "wrong"})
    assert bad.status_code == 400
    response = client.post("/my/profile/password/", {
        "old_password": PASSWORD, "new_password1": "another-long-pass-77",
        "new_password2": "another-long-pass-77",
    })
    assert response["Location"] == "/my/profile/"
    assert client.get("/my/profile/").status_code == 200  # still logged in
    assert Client().login(email=pt.user.email, password="another-long-pass-77")


def test_daily_chart_shows_only_whole_days_of_the_tenant(in_org_a):
    from datetime import datetime, time

    from tenants.consumption import tenant_meter_days
    from tests.tenants.factories_portal import portal_login, read

    pt = make_portal_tenant(in_org_a, "KOALA")
    tz = pt.occupancy.move_in.tzinfo
    today = timezone.now().astimezone(tz).date()
    midnight = lambda d: datetime.combine(d, time(), tzinfo=tz)  # noqa: E731
    read(pt.meter, *[(midnight(today - timedelta(days=n)), str(3000 - 10 * n))
                     for n in range(10, -1, -1)])
    services.move_register(
        billing_point=pt.billing_point, moved_at=midnight(today - timedelta(days=5)).replace(
            hour=12),
        incoming_tenant=services.tenant_create(name="Day Next", email="day-next@example.test"),
    )
    nxt = pt.tenant.__class__.objects.get(name="Day Next")
    mine = {b.day: b for b in tenant_meter_days(tenant=pt.tenant, meter=pt.meter, days=10)}
    theirs = {b.day: b for b in tenant_meter_days(tenant=nxt, meter=pt.meter, days=10)}
    move_day = today - timedelta(days=5)
    assert not mine[move_day].occupied and not theirs[move_day].occupied
    assert mine[today - timedelta(days=6)].quantity == 10
    assert theirs[today - timedelta(days=6)].quantity is None
    assert theirs[today - timedelta(days=2)].quantity == 10
    assert mine[today - timedelta(days=2)].quantity is None
    user, _ = portal_login(nxt, "day-next@example.test", in_org_a.admin)
    page = login_client(user).get(f"/my/consumption/{pt.meter.public_id}/")
    assert page.status_code == 200 and b'data-testid="daily-chart"' in page.content


def test_a_member_of_any_organization_cannot_accept_a_tenant_invitation(populated):
    world_a, world_b = populated
    with organization_context(world_a.org):
        from tests.tenants.factories import make_tenant

        tenant = make_tenant(name="Both Hats", email=world_b.manager.email)
        access, token = services.tenant_portal_invite(tenant=tenant, actor=world_a.admin)
    client = login_client(world_b.manager, world_b.org)
    response = client.post(f"/my/invite/{token}/")
    assert response.status_code == 400 and b"cannot also be a tenant login" in response.content
    assert TenantAccess.objects.unscoped().get(pk=access.pk).accepted_at is None


def test_invoice_list_query_count_does_not_grow_with_invoices(
    in_org_a, django_assert_max_num_queries
):
    from tests.tenants.factories_portal import issued_invoice_with_statement

    pt = make_portal_tenant(in_org_a, "KOALA")
    for month in range(4, 10):
        issued_invoice_with_statement(pt.tenant, pt.billing_point, pt.meter, "KOALA", month=month)
    client = login_client(pt.user)
    client.get("/my/invoices/")  # warm the session
    with django_assert_max_num_queries(12):
        response = client.get("/my/invoices/")
    assert response.content.count(b"statement.pdf") == 7


def test_refusal_page_explains_itself(in_org_a):
    client = login_client(in_org_a.viewer, in_org_a.org)
    response = client.get("/my/")
    assert response.status_code == 403 and b"use the manager portal" in response.content


def test_a_meter_installed_after_the_tenant_left_is_not_theirs(in_org_a):
    from decimal import Decimal

    from meters.models import Meter, MeterAssignment
    from tests.tenants.factories_portal import at

    pt = make_portal_tenant(in_org_a, "KOALA")
    services.occupancy_end(occupancy=pt.occupancy, move_out=at(2025, 6))
    later = Meter.objects.create(type="cold_water", unit="m3", serial_number="W-LATER")
    MeterAssignment.objects.create(meter=later, billing_point=pt.billing_point,
                                   connected_at=at(2025, 7), initial_reading=Decimal("0"))
    client = login_client(pt.user)
    assert client.get(f"/my/consumption/{pt.meter.public_id}/").status_code == 200
    assert client.get(f"/my/consumption/{later.public_id}/").status_code == 404
    assert b"W-LATER" not in client.get("/my/consumption/").content


def test_credit_notes_of_the_tenants_invoice_are_shown(in_org_a):
    from billing import services as billing_services

    pt = make_portal_tenant(in_org_a, "KOALA")
    note = billing_services.credit_note_create(invoice=pt.invoice, reason="Meter misread")
    page = login_client(pt.user).get(f"/my/invoices/{pt.invoice.public_id}/")
    assert note.number.encode() in page.content and b"Meter misread" in page.content
