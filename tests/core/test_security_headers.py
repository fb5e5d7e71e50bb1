"""Security headers on every response, HTTPS-only production settings, and whether the
OpenAPI schema and docs are public (``API_SCHEMA_PUBLIC``)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

from tests.conftest import api_client, login_client

ROOT = Path(__file__).resolve().parents[2]


def _csp(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in header.split(";")) if d}


def test_portal_pages_carry_a_strict_content_security_policy(world_a):
    r = login_client(world_a.manager, world_a.org).get("/")
    assert r.status_code == 200
    csp = _csp(r)
    assert csp["default-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:"]
    for directive in ("script-src", "style-src"):
        sources = csp[directive]
        assert "'self'" in sources
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, directive
    # no inline script on the page at all; htmx told not to inject its indicator <style>
    html = r.content.decode()
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    assert re.search(r"\son[a-z]+=", html) is None
    assert '"includeIndicatorStyles": false' in html


def test_tenant_portal_brand_style_carries_the_responses_nonce(populated):
    from tests.test_isolation import build_portal_world

    pw = build_portal_world(*populated)
    r = login_client(pw.a1.user).get("/my/")
    assert r.status_code == 200
    nonce = re.search(r"'nonce-([^']+)'", " ".join(_csp(r)["style-src"])).group(1)
    assert f'<style nonce="{nonce}">' in r.content.decode()
    # a fresh nonce per response
    again = login_client(pw.a1.user).get("/my/")
    assert f"'nonce-{nonce}'" not in again["Content-Security-Policy"]


def test_security_headers_on_pages_api_and_static(world_a):
    client = Client()
    for url in ("/accounts/login/", "/api/v1/", "/static/css/app.css"):
        r = client.get(url)
        assert r["X-Content-Type-Options"] == "nosniff", url
        assert r["Referrer-Policy"] == "strict-origin-when-cross-origin", url
        if not url.startswith("/static/"):
            assert r["X-Frame-Options"] == "DENY", url
        policy = r["Permissions-Policy"]
        for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
            assert feature in policy, (url, feature)
        assert "Content-Security-Policy" in r, url


def test_plain_http_dev_and_tests_get_no_redirect_and_no_hsts(db):
    r = Client().get("/accounts/login/")
    assert r.status_code == 200
    assert "Strict-Transport-Security" not in r


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=31_536_000,
                   SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_behind_a_tls_proxy_https_gets_hsts_and_http_is_redirected(db):
    http = Client().get("/accounts/login/")
    assert http.status_code == 301 and http["Location"].startswith("https://")
    https = Client().get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert https.status_code == 200
    assert https["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # the container's health probe asks over plain http and is not redirected
    assert Client().get("/healthz/").status_code in (200, 503)


def _production_env(**extra: str) -> dict[str, str]:
    # a clean environment, as a server would have (the test run's own variables, such as
    # the e2e tests' DJANGO_ALLOW_ASYNC_UNSAFE, are not the deployment's)
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "DATABASE_URL", "REDIS_URL",
                                      "BILLSPREE_DATA_DIR") if k in os.environ}
    env.update(DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50),
               ALLOWED_HOSTS="billing.example.com", SITE_URL="https://billing.example.com",
               **extra)
    return env


def _check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    done = _check_deploy(_production_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
    assert "WARNINGS" not in done.stdout + done.stderr


def test_check_deploy_still_warns_when_tls_is_switched_off():
    """The check is not silenced wholesale: an http-only production config is reported."""
    done = _check_deploy(_production_env(SECURE_TLS="false"))
    assert done.returncode != 0
    assert "security.W004" in done.stdout + done.stderr  # no HSTS
    assert "security.W008" in done.stdout + done.stderr  # no redirect to https


# --- API_SCHEMA_PUBLIC ------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/api/v1/schema/", "/api/v1/docs/"])
def test_schema_and_docs_are_public_by_default(db, settings, url):
    assert settings.API_SCHEMA_PUBLIC is True
    r = Client().get(url)
    assert r.status_code == 200


def test_private_schema_needs_a_key_or_a_session(world_a, settings):
    settings.API_SCHEMA_PUBLIC = False
    anonymous = Client().get("/api/v1/schema/")
    assert anonymous.status_code == 401
    assert "WWW-Authenticate" in anonymous
    assert api_client(world_a.read_key).get("/api/v1/schema/").status_code == 200
    assert login_client(world_a.viewer, world_a.org).get("/api/v1/schema/").status_code == 200


def test_private_docs_send_a_browser_to_the_login_page(world_a, settings):
    settings.API_SCHEMA_PUBLIC = False
    r = Client().get("/api/v1/docs/")
    assert r.status_code == 302
    assert r["Location"].startswith("/accounts/login/?next=/api/v1/docs/")
    script = Client().get("/api/v1/docs/?script=")
    assert script.status_code == 302
    member = login_client(world_a.viewer, world_a.org)
    page = member.get("/api/v1/docs/")
    assert page.status_code == 200 and b"swagger-ui" in page.content
    assert member.get("/api/v1/docs/?script=").status_code == 200


def test_docs_page_has_no_inline_script_or_style_and_the_strict_policy(db):
    r = Client().get("/api/v1/docs/")
    html = r.content.decode()
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    assert "<style" not in html
    csp = _csp(r)
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in csp[directive] and "'unsafe-eval'" not in csp[directive]
    script = Client().get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
