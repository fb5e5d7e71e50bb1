"""Private files (issue 14): organization logos served by scoped views with DEBUG=false in
both portals, no public /media/ route, the upload size limit on logos, moving logos of
older releases, and the formula-safe CSV helper."""

from __future__ import annotations

import base64
import importlib
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as dj_settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import clear_url_caches, get_resolver
from PIL import Image

from billing.selectors.statements import logo_data_uri
from billspree.core import csv_export
from billspree.core.files import move_field_files, uploads_storage
from billspree.core.models import Organization
from billspree.core.scoping import organization_context
from tests.conftest import login_client
from tests.tenants.factories import make_tenant
from tests.tenants.factories_portal import portal_login

pytestmark = pytest.mark.django_db

LOGO_SRC = re.compile(rb'<img src="([^"]+)"[^>]*>')


def _png(size: tuple[int, int] = (40, 20)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "#0b6e4f").save(buf, "PNG")
    return buf.getvalue()


def _settings_post(client, org, **extra):
    data = {"name": org.name, "default_currency": org.default_currency,
            "time_zone": str(org.time_zone), "brand_color": org.brand_color,
            "payment_terms_days": org.payment_terms_days, **extra}
    return client.post("/settings/", data)


def _logo_src(page: bytes, marker: bytes) -> str:
    found = [m.decode() for m in LOGO_SRC.findall(page) if marker in m]
    assert found, page.decode()[:2000]
    return found[0]


def _files() -> set[str]:
    return {str(p) for p in Path(uploads_storage().location).rglob("*") if p.is_file()}


@override_settings(DEBUG=False)
def test_logo_renders_for_members_and_tenants_and_404s_for_other_organizations(
    world_a, world_b, django_capture_on_commit_callbacks
):
    png = _png()
    admin = login_client(world_a.admin, world_a.org)
    response = _settings_post(admin, world_a.org,
                              logo=SimpleUploadedFile("Alpha Logo.png", png, "image/png"))
    assert response.status_code == 302, response.content.decode()[:2000]
    org = Organization.objects.get(pk=world_a.org.pk)
    # private storage, random name, nowhere under MEDIA_ROOT
    assert re.fullmatch(r"logos/\d{4}/\d{2}/[0-9a-f]{32}\.png", org.logo.name), org.logo.name
    assert Organization._meta.get_field("logo")._storage_callable is uploads_storage
    assert not uploads_storage().path(org.logo.name).startswith(str(dj_settings.MEDIA_ROOT))

    # a member (any role) sees it in the portal header, through the scoped view
    viewer = login_client(world_a.viewer, world_a.org)
    src = _logo_src(viewer.get("/").content, b"/logo/")
    assert src.startswith(f"/organizations/{org.public_id}/logo/?v=")
    shown = viewer.get(src)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/png"
    assert b"".join(shown.streaming_content) == png
    assert "private" in shown["Cache-Control"]

    # a tenant of the organization sees it in the tenant portal
    with organization_context(world_a.org), django_capture_on_commit_callbacks(execute=True):
        tenant = make_tenant(name="Logo Tenant", email="logo-tenant@example.test")
        user, _ = portal_login(tenant, "logo-tenant@example.test", world_a.admin)
    tenant_client = login_client(user)
    home = tenant_client.get("/my/")
    assert home.status_code == 200
    tenant_src = _logo_src(home.content, b"/my/logo/")
    assert tenant_src.startswith(f"/my/logo/{org.public_id}/?v=")
    tenant_shown = tenant_client.get(tenant_src)
    assert tenant_shown.status_code == 200 and tenant_shown["Content-Type"] == "image/png"
    assert b"".join(tenant_shown.streaming_content) == png

    # another organization's member, or a tenant asking for it: 404
    other = login_client(world_b.admin, world_b.org)
    assert other.get(src).status_code == 404
    assert other.get(f"/my/logo/{org.public_id}/").status_code == 403  # not a tenant at all
    assert tenant_client.get(src).status_code != 200  # a tenant is no member
    # a tenant of another organization
    with organization_context(world_b.org), django_capture_on_commit_callbacks(execute=True):
        b_tenant = make_tenant(name="B Tenant", email="b-tenant@example.test")
        b_user, _ = portal_login(b_tenant, "b-tenant@example.test", world_b.admin)
    assert login_client(b_user).get(f"/my/logo/{org.public_id}/").status_code == 404
    # no public route to the file
    assert viewer.get(f"/media/{org.logo.name}").status_code == 404

    # the settings page links the current logo through the view, not a dead /media/ URL
    page = admin.get("/settings/")
    assert page.status_code == 200
    assert f"/organizations/{org.public_id}/logo/?v=".encode() in page.content

    # PDFs still inline it as a data: URI read from the private storage
    assert logo_data_uri(org) == "data:image/png;base64," + base64.b64encode(png).decode()


def test_replacing_the_logo_deletes_the_old_file(world_a, django_capture_on_commit_callbacks):
    admin = login_client(world_a.admin, world_a.org)
    with django_capture_on_commit_callbacks(execute=True):
        _settings_post(admin, world_a.org, logo=SimpleUploadedFile("a.png", _png()))
    first = Organization.objects.get(pk=world_a.org.pk).logo.name
    with django_capture_on_commit_callbacks(execute=True):
        _settings_post(admin, world_a.org, logo=SimpleUploadedFile("b.png", _png((50, 20))))
    second = Organization.objects.get(pk=world_a.org.pk).logo.name
    assert first != second
    assert uploads_storage().exists(second) and not uploads_storage().exists(first)


def test_logo_over_the_upload_limit_is_refused_before_it_is_stored(world_a, settings):
    settings.UPLOAD_MAX_BYTES = 500
    admin = login_client(world_a.admin, world_a.org)
    big = _png((400, 400))  # a real image, over 500 bytes
    files = _files()
    response = _settings_post(admin, world_a.org, logo=SimpleUploadedFile("big.png", big))
    assert response.status_code == 400
    text = response.content.decode()
    assert 'data-field="logo"' in text and "the largest file accepted is 500 bytes" in text
    assert not Organization.objects.get(pk=world_a.org.pk).logo
    assert _files() == files


def test_there_is_no_public_media_route_even_with_debug():
    """The demo (DEBUG=true) used to serve MEDIA_ROOT to anyone at /media/."""
    import billspree.urls

    try:
        with override_settings(DEBUG=True):
            importlib.reload(billspree.urls)
            routes = [str(p.pattern) for p in billspree.urls.urlpatterns]
    finally:
        importlib.reload(billspree.urls)
        clear_url_caches()
    assert not [r for r in routes if r.startswith("media")], routes
    assert not [str(p.pattern) for p in get_resolver().url_patterns
                if str(p.pattern).startswith("media")]


def test_logos_of_older_releases_move_to_the_private_storage(world_a):
    """What migration core 0003 does for a logo kept in MEDIA_ROOT under its own name."""
    from billspree.core.models import LOGO_EXTENSIONS

    png = _png()
    legacy = storages["default"]
    old = legacy.save("logos/alpha-original.png", ContentFile(png))
    Organization.objects.filter(pk=world_a.org.pk).update(logo=old)
    rows = Organization.objects.filter(pk=world_a.org.pk)
    assert move_field_files(rows, "logo", "logos", extensions=LOGO_EXTENSIONS) == 1
    org = rows.get()
    assert re.fullmatch(r"logos/\d{4}/\d{2}/[0-9a-f]{32}\.png", org.logo.name)
    assert not legacy.exists(old)
    with org.logo.open("rb") as fh:
        assert fh.read() == png


# --- formula-safe CSV ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+41 79 000", "'+41 79 000"),
        ("-2+3", "'-2+3"),
        ("-1*cmd|' /C calc'!A0", "'-1*cmd|' /C calc'!A0"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\r=1", "'\r=1"),
        ("'=already", "'=already"),  # idempotent: re-writing a safe report changes nothing
        ("W-1", "W-1"),
        ("No meter with number '=x'.", "No meter with number '=x'."),
        # plain numbers are data: a spreadsheet reads them as that number, nothing else
        ("-12.5", "-12.5"),
        ("-3,25", "-3,25"),
        ("+41", "+41"),
        ("-1e3", "-1e3"),
        (Decimal("-7.25"), Decimal("-7.25")),
        (-4, -4),
        (None, None),
    ],
)
def test_safe_cell(cell, expected):
    assert csv_export.safe_cell(cell) == expected


def test_writers_neutralise_every_cell():
    out = io.StringIO()
    w = csv_export.writer(out)
    w.writerow(["=1+1", -5, "ok"])
    w.writerows([["@x", "-6"]])
    d = csv_export.SafeDictWriter(out, fieldnames=["=h", "v"])
    d.writeheader()
    d.writerow({"=h": "+cmd", "v": Decimal("-1.5")})
    assert out.getvalue().splitlines() == ["'=1+1,-5,ok", "'@x,-6", "'=h,v", "'+cmd,-1.5"]


def test_admin_pages_of_an_organization_and_an_upload_with_private_files_render(
    world_a, django_capture_on_commit_callbacks
):
    """The admin links the logo through the scoped view (it linked a dead /media/ URL)."""
    from readings.models import Upload
    from readings.services import upload_create

    world_a.admin.is_staff = world_a.admin.is_superuser = True
    world_a.admin.save()
    admin = login_client(world_a.admin, world_a.org)
    _settings_post(admin, world_a.org, logo=SimpleUploadedFile("a.png", _png()))
    with organization_context(world_a.org), django_capture_on_commit_callbacks(execute=True):
        upload = upload_create(file=SimpleUploadedFile("r.csv", b"meterNumber;readAt;value\n"),
                               actor=world_a.admin)
    org = Organization.objects.get(pk=world_a.org.pk)
    page = admin.get(f"/admin/core/organization/{org.pk}/change/")
    assert page.status_code == 200
    assert f"/organizations/{org.public_id}/logo/?v=".encode() in page.content
    assert admin.get(f"/admin/readings/upload/{upload.pk}/change/").status_code == 200
    assert Upload.objects.unscoped().get(pk=upload.pk).file


@pytest.mark.django_db(transaction=True)
def test_migrations_move_files_of_older_releases_out_of_media_root(world_a):
    """core 0003 and readings 0005, run for real: a logo and a readings CSV stored in
    MEDIA_ROOT under their own names end in the private storage under random names."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("core", "0002_organization_branding"), ("readings", "0004_upload_impacts")]
    legacy = storages["default"]
    png, csv_bytes = _png(), b"meterNumber;readAt;value\n"
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        old_logo = legacy.save("logos/Alpha Logo.png", ContentFile(png))
        old_csv = legacy.save("readings/uploads/2024/05/alpha readings.csv",
                              ContentFile(csv_bytes))
        old.get_model("core", "Organization")._base_manager.filter(pk=world_a.org.pk).update(
            logo=old_logo)
        upload_id = old.get_model("readings", "Upload")._base_manager.create(
            organization_id=world_a.org.pk, source="upload", status="done",
            filename="alpha readings.csv", file=old_csv).pk
    finally:  # every app back to its latest (going back unapplied the apps that need core)
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    from readings.models import Upload

    org = Organization.objects.get(pk=world_a.org.pk)
    upload = Upload.objects.unscoped().get(pk=upload_id)
    assert re.fullmatch(r"logos/\d{4}/\d{2}/[0-9a-f]{32}\.png", org.logo.name)
    assert re.fullmatch(r"readings/uploads/\d{4}/\d{2}/[0-9a-f]{32}\.csv", upload.file.name)
    assert not legacy.exists(old_logo) and not legacy.exists(old_csv)
    with org.logo.open("rb") as fh:
        assert fh.read() == png
    with upload.file.open("rb") as fh:
        assert fh.read() == csv_bytes
