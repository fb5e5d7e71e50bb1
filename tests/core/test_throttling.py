"""Throttling (issue 14): login failures per account and per address, password-reset emails
per address and per client, and the API's throttles per key, per user and per anonymous
address (a wrong key included), through the real views, the real cache (Redis when
``REDIS_URL`` is set) and the real middleware."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from billspree.core.models import AuditEvent
from tests.conftest import api_client, require_service
from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/accounts/login/"
RESET = "/accounts/password-reset/"
API = "/api/v1/members/"


def _client(address: str = "198.51.100.7") -> Client:
    return Client(REMOTE_ADDR=address)


def _login(client: Client, email: str, password: str):
    return client.post(LOGIN, {"username": email, "password": password})


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


# --- login ---------------------------------------------------------------------------------


def test_wrong_passwords_lock_the_account_and_then_the_right_one_is_refused(world_a):
    email = world_a.manager.email
    client = _client()
    for _ in range(4):
        response = _login(client, email, "wrong-password")
        assert response.status_code == 200
        assert "didn't match" in response.content.decode()
    fifth = _login(client, email, "wrong-password")
    assert fifth.status_code == 429
    assert ("Too many failed attempts for this account. Try again in 15 minutes."
            in fifth.content.decode())
    assert 14 * 60 < int(fifth["Retry-After"]) <= 15 * 60

    # the right password, even from another address, does not log in while the lock holds
    other = _client("203.0.113.9")
    refused = _login(other, email, PASSWORD)
    assert refused.status_code == 429 and not _logged_in(other)
    assert "Too many failed attempts for this account" in refused.content.decode()

    # audited once in the account's organization, with the address
    events = AuditEvent.objects.unscoped().filter(action="login.locked")
    assert [(e.organization_id, e.target) for e in events] == [(world_a.org.pk, email)]
    assert events[0].detail["locked"] == "account"
    assert events[0].detail["address"] == "198.51.100.7"
    assert events[0].detail["failures"] == 5


def test_the_lock_lifts_when_its_window_has_passed(world_a, settings):
    settings.LOGIN_LOCKOUT_MINUTES = 0.02  # 1.2 seconds
    email = world_a.viewer.email
    client = _client()
    for _ in range(5):
        _login(client, email, "nope-nope")
    assert _login(client, email, PASSWORD).status_code == 429 and not _logged_in(client)
    time.sleep(1.5)
    response = _login(client, email, PASSWORD)
    assert response.status_code == 302 and _logged_in(client)


def test_a_right_password_before_the_limit_forgets_the_failures(world_a):
    email = world_a.operator.email
    for _ in range(4):
        _login(_client(), email, "wrong-password")
    assert _login(_client(), email, PASSWORD).status_code == 302
    for _ in range(4):
        assert _login(_client(), email, "wrong-password").status_code == 200
    client = _client()
    assert _login(client, email, PASSWORD).status_code == 302 and _logged_in(client)
    # counting starts again from there: five wrong in a row still lock
    assert [_login(_client(), email, "wrong").status_code for _ in range(5)] == [200] * 4 + [429]


def test_a_new_password_through_the_reset_link_lifts_the_account_lock(world_a):
    email = world_a.manager.email
    for _ in range(5):
        _login(_client(), email, "wrong-password")
    assert _login(_client(), email, PASSWORD).status_code == 429
    _client().post(RESET, {"email": email})
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    browser = _client()
    form_url = browser.get(link).url  # Django swaps the token for a session marker
    done = browser.post(form_url, {"new_password1": "a-brand-new-secret-9",
                                   "new_password2": "a-brand-new-secret-9"})
    assert done.status_code == 302 and done.url == "/accounts/reset/done/"
    client = _client()
    assert _login(client, email, "a-brand-new-secret-9").status_code == 302
    assert _logged_in(client)


def test_one_address_guessing_many_accounts_is_locked_out(world_a, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 6
    guesser = _client("192.0.2.66")
    for n in range(5):
        assert _login(guesser, f"someone{n}@example.test", "123456").status_code == 200
    sixth = _login(guesser, "someone-else@example.test", "123456")
    assert sixth.status_code == 429
    assert "Too many failed attempts for this address" in sixth.content.decode()
    # a real account from that address is refused too; from another address it works
    assert _login(guesser, world_a.admin.email, PASSWORD).status_code == 429
    elsewhere = _client("192.0.2.67")
    assert _login(elsewhere, world_a.admin.email, PASSWORD).status_code == 302


def test_a_forwarded_for_header_does_not_give_a_fresh_address(world_a, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS = 3
    for n in range(3):
        _client("192.0.2.80").post(
            LOGIN, {"username": f"x{n}@example.test", "password": "x"},
            HTTP_X_FORWARDED_FOR=f"10.0.0.{n}",
        )
    assert _login(_client("192.0.2.80"), world_a.admin.email, PASSWORD).status_code == 429


def test_a_tenant_portal_login_is_locked_and_audited_in_its_organization(in_org_a):
    from tests.tenants.factories import make_tenant
    from tests.tenants.factories_portal import portal_login

    user, _access = portal_login(make_tenant("Locked Tenant"), "tenant-locked@example.test",
                                 in_org_a.admin)
    for _ in range(5):
        _login(_client(), user.email, "guess")
    client = _client()
    assert _login(client, user.email, PASSWORD).status_code == 429 and not _logged_in(client)
    event = AuditEvent.objects.unscoped().get(action="login.locked")
    assert (event.organization_id, event.target) == (in_org_a.org.pk, user.email)


def test_the_admin_login_counts_on_the_same_limiter(world_a):
    world_a.admin.is_staff = True
    world_a.admin.save(update_fields=["is_staff"])
    client = _client()
    for _ in range(5):
        client.post("/admin/login/", {"username": world_a.admin.email, "password": "bad"})
    response = client.post("/admin/login/", {"username": world_a.admin.email,
                                              "password": PASSWORD})
    assert response.status_code == 200 and not _logged_in(client)
    assert "Too many failed attempts for this account" in response.content.decode()


def test_login_throttling_is_on_by_default_and_can_be_switched_off(world_a, settings):
    assert [_login(_client(), world_a.viewer.email, "bad").status_code
            for _ in range(5)][-1] == 429
    settings.LOGIN_THROTTLE_ENABLED = False
    client = _client()
    for _ in range(30):
        _login(client, world_a.manager.email, "wrong-password")
    assert _login(client, world_a.manager.email, PASSWORD).status_code == 302
    assert not AuditEvent.objects.unscoped().filter(
        action="login.locked", target=world_a.manager.email).exists()


# --- password reset ------------------------------------------------------------------------


def test_reset_emails_to_one_address_stop_at_the_limit_and_the_page_says_the_same(world_a):
    responses = [
        _client(f"198.51.100.{n}").post(RESET, {"email": world_a.viewer.email})
        for n in range(6)
    ]
    # an address without an account gets exactly the same answers (and no email)
    responses += [_client().post(RESET, {"email": "nobody@example.test"}) for _ in range(5)]
    assert {(r.status_code, r.url) for r in responses} == {
        (302, "/accounts/password-reset/sent/")
    }
    assert len(mail.outbox) == 3
    assert all(m.to == [world_a.viewer.email] for m in mail.outbox)


def test_reset_emails_from_one_client_stop_at_its_limit(world_a, settings):
    settings.PASSWORD_RESET_LIMIT_PER_ADDRESS = 2
    client = _client("192.0.2.10")
    for user in (world_a.admin, world_a.manager, world_a.operator, world_a.viewer):
        assert client.post(RESET, {"email": user.email}).status_code == 302
    assert [m.to for m in mail.outbox] == [[world_a.admin.email], [world_a.manager.email]]
    _client("192.0.2.11").post(RESET, {"email": world_a.viewer.email})
    assert len(mail.outbox) == 3


# --- API -----------------------------------------------------------------------------------


def _assert_throttled(response, holder: str) -> None:
    assert response.status_code == 429, response.content
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 60
    error = response.json()["error"]
    assert (error["status"], error["code"], error["fields"]) == (429, "throttled", {})
    assert f"Too many requests for {holder}" in error["message"]
    assert f"Retry in {wait} seconds" in error["message"]


def test_an_api_key_past_its_rate_gets_429_with_retry_after(world_a, settings):
    settings.API_THROTTLE_RATE_KEY = "3/min"
    client = api_client(world_a.read_key)
    assert [client.get(API).status_code for _ in range(3)] == [200] * 3
    _assert_throttled(client.get(API), "this API key (limit 3/min)")
    # another key of the same organization has its own bucket
    assert api_client(world_a.write_key).get(API).status_code == 200


def test_a_session_user_past_its_rate_gets_429(world_a, settings):
    settings.API_THROTTLE_RATE_USER = "2/min"
    client = APIClient()
    client.force_login(world_a.admin)
    assert [client.get(API).status_code for _ in range(2)] == [200, 200]
    _assert_throttled(client.get(API), "this user")


def test_guessing_keys_is_throttled_per_address(world_a, settings):
    settings.API_THROTTLE_RATE_ANON = "5/min"
    statuses = []
    for n in range(7):
        client = APIClient(REMOTE_ADDR="192.0.2.50")
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key bsk_{n:08x}_guess")
        statuses.append(client.get(API).status_code)
    assert statuses == [401] * 5 + [429] * 2
    guesser = APIClient(REMOTE_ADDR="192.0.2.50")
    guesser.credentials(HTTP_AUTHORIZATION="Api-Key bsk_deadbeef_guess")
    _assert_throttled(guesser.get(API), "this address")
    # no credentials at all count on the same bucket
    assert APIClient(REMOTE_ADDR="192.0.2.50").get(API).status_code == 429
    # a right key is its own bucket; another address is unaffected
    assert api_client(world_a.read_key).get(API, REMOTE_ADDR="192.0.2.50").status_code == 200
    assert APIClient(REMOTE_ADDR="192.0.2.51").get(API).status_code == 401


def test_api_throttles_are_on_by_default_and_can_be_switched_off_for_a_fuzz_run(
    world_a, settings
):
    settings.API_THROTTLE_RATE_ANON = "2/min"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key bsk_00000000_guess")
    assert [client.get(API).status_code for _ in range(3)] == [401, 401, 429]
    settings.API_THROTTLE_ENABLED = False
    assert {client.get(API).status_code for _ in range(10)} == {401}


def test_counts_live_in_redis_when_redis_url_is_set(world_a, settings):
    require_service(bool(os.environ.get("REDIS_URL")), "Redis (REDIS_URL)")
    import redis

    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    api_client(world_a.read_key).get(API)
    keys = redis.Redis.from_url(os.environ["REDIS_URL"]).keys("bs-cache:*api:api_key:*")
    assert keys, "the key's throttle count is not in Redis"


def test_a_bad_rate_fails_at_start_up():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "billspree.settings",
           "API_THROTTLE_RATE_KEY": "lots"}
    done = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "API_THROTTLE_RATE_* must look like 1200/min" in done.stderr


def test_the_cache_is_redis_with_redis_url_and_local_memory_without():
    code = ("import django; django.setup(); from django.conf import settings; "
            "print(settings.CACHES['default']['BACKEND'])")

    def backend(**extra: str) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CACHE_REDIS_URL")}
        env.update(DJANGO_SETTINGS_MODULE="billspree.settings", **extra)
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert backend() == "django.core.cache.backends.locmem.LocMemCache"
    assert backend(REDIS_URL="redis://127.0.0.1:6379/5") == (
        "django.core.cache.backends.redis.RedisCache")


@pytest.mark.parametrize("path", ["/api/v1/schema/"])
def test_public_endpoints_count_anonymous_requests_once(world_a, settings, path):
    settings.API_THROTTLE_RATE_ANON = "3/min"
    client = APIClient(REMOTE_ADDR="192.0.2.90")
    statuses = [client.get(path).status_code for _ in range(4)]
    assert statuses[:3] != [429] * 3 and statuses[3] == 429
