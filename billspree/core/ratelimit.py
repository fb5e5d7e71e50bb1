"""Limits on guessing: login failures, password-reset emails, and the counter the API
throttles share.

Why our own small limiter and not django-axes: axes works through an authentication
backend that requires ``request`` in every ``authenticate()`` call (its
``AxesBackendRequestParameterRequired``, jazzband/django-axes#433, #478), which Django's
test client ``login()`` and several of our own paths do not pass, and it stores attempts
in database tables we would then have to scope, prune and migrate. What the product needs
fits in one cache-backed fixed-window counter plus a lock key, shared by the login form,
the password-reset view and the API throttles, all on the same Django cache: Redis when
``REDIS_URL`` is set (``cache.incr`` is atomic there, so every gunicorn worker and every
container counts the same attempts), a per-process local-memory cache otherwise (the demo
and the tests; with several workers each would count alone, see settings.CACHES).

Keys never carry an email in clear: accounts are identified by a SHA-256 of the
normalized address.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

logger = logging.getLogger("billspree.security")


def client_address(request: HttpRequest) -> str:
    """The client's address: the peer's, or, behind ``NUM_PROXIES`` trusted reverse
    proxies, the one the outermost of them saw (the same rule as DRF's throttles, so the
    login limiter and the API count one client as one). A client-sent X-Forwarded-For is
    ignored unless proxies are configured, or anyone could pick a fresh bucket per try."""
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    proxies = getattr(settings, "NUM_PROXIES", 0) or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote
    addrs = [a.strip() for a in forwarded.split(",") if a.strip()]
    return addrs[-min(proxies, len(addrs))] if addrs else remote


def _account(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def window_hit(key: str, seconds: float) -> tuple[int, float]:
    """Count one event in the fixed window ``key`` that started with its first event and
    lasts ``seconds``; return the count so far (this one included) and when the window
    ends (epoch seconds). ``incr`` is atomic on Redis, so concurrent workers never lose a
    count; the usual request costs one increment (and the read of the window's start)."""
    timeout = max(1, math.ceil(seconds))
    try:
        count = cache.incr(key)
    except ValueError:  # no window yet (or it just expired): open one
        now = time.time()
        cache.set(f"{key}:start", now, timeout)
        if cache.add(key, 1, timeout):
            return 1, now + seconds
        count = cache.incr(key)  # another worker opened it first
    if count == 1:
        # the window expired between Django's EXISTS and INCR, and INCR made a key without
        # an expiry: give it one, or this bucket would never empty
        cache.touch(key, timeout)
    start = cache.get(f"{key}:start")
    return count, (float(start) if start is not None else time.time()) + seconds


def window_clear(key: str) -> None:
    cache.delete_many([key, f"{key}:start"])


# --- login -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lockout:
    """A refused login: whose limit (``account`` or ``address``) and until when."""

    scope: str
    until: float

    @property
    def minutes(self) -> int:
        return max(1, math.ceil((self.until - time.time()) / 60))

    @property
    def message(self) -> str:
        what = "this account" if self.scope == "account" else "this address"
        unit = "minute" if self.minutes == 1 else "minutes"
        return (
            f"Too many failed attempts for {what}. Try again in {self.minutes} {unit}."
            " Or reset your password."
        )


def _lockout_seconds() -> float:
    return float(settings.LOGIN_LOCKOUT_MINUTES) * 60


def _lock_keys(email: str, address: str) -> dict[str, str]:
    return {
        "account": f"login:lock:account:{_account(email)}",
        "address": f"login:lock:address:{address}",
    }


def login_lock_check(*, email: str, address: str) -> Lockout | None:
    """The lock in force for this account or this address, if any. Checked before the
    password, so a locked account cannot be probed (the right password is refused too)."""
    if not settings.LOGIN_THROTTLE_ENABLED:
        return None
    keys = _lock_keys(email, address)
    values = cache.get_many(list(keys.values()))
    now = time.time()
    for scope, key in keys.items():
        until = values.get(key)
        if until is not None and float(until) > now:
            return Lockout(scope=scope, until=float(until))
    return None


def login_failure_record(*, email: str, address: str) -> Lockout | None:
    """Count a wrong password for the account and the address; lock whichever reached its
    limit within LOGIN_LOCKOUT_MINUTES for the next LOGIN_LOCKOUT_MINUTES. The account's
    lock is audited in the organizations the login belongs to (``login.locked``)."""
    if not settings.LOGIN_THROTTLE_ENABLED:
        return None
    seconds = _lockout_seconds()
    limits = {
        "account": (f"login:fail:account:{_account(email)}", settings.LOGIN_FAILURE_LIMIT),
        "address": (f"login:fail:address:{address}", settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS),
    }
    locks = _lock_keys(email, address)
    lockout: Lockout | None = None
    for scope, (key, limit) in limits.items():
        count, _ends = window_hit(key, seconds)
        if count < limit:
            continue
        until = time.time() + seconds
        cache.set(locks[scope], until, max(1, math.ceil(seconds)) + 1)
        window_clear(key)  # after the lock, counting starts afresh
        lockout = lockout or Lockout(scope=scope, until=until)
        logger.warning(
            "login locked: scope=%s address=%s failures=%s minutes=%s",
            scope, address, count, settings.LOGIN_LOCKOUT_MINUTES,
        )
        from billspree.core.services import login_lock_audit

        login_lock_audit(email=email, scope=scope, address=address, failures=count,
                         minutes=settings.LOGIN_LOCKOUT_MINUTES)
    return lockout


def login_success_record(*, email: str) -> None:
    """A right password (outside a lock) forgets the account's earlier failures; the
    address's count stays, or one valid login would let its holder guess others' at will."""
    window_clear(f"login:fail:account:{_account(email)}")


def login_unlock(*, email: str) -> None:
    """Lift the account's lock and forget its failures: its owner just proved control of the
    address by setting a new password through the emailed link. An address's lock stays."""
    window_clear(f"login:fail:account:{_account(email)}")
    cache.delete(f"login:lock:account:{_account(email)}")


# --- password reset ----------------------------------------------------------------------


def password_reset_allow(*, email: str, address: str) -> bool:
    """Count a reset request for the address and the client; False when either is over its
    limit within PASSWORD_RESET_WINDOW_MINUTES (then no email goes out). Every request
    counts, whether or not an account has that address, so the limit reveals nothing."""
    seconds = float(settings.PASSWORD_RESET_WINDOW_MINUTES) * 60
    by_email, _ = window_hit(f"reset:email:{_account(email)}", seconds)
    by_address, _ = window_hit(f"reset:address:{address}", seconds)
    allowed = (
        by_email <= settings.PASSWORD_RESET_LIMIT_PER_EMAIL
        and by_address <= settings.PASSWORD_RESET_LIMIT_PER_ADDRESS
    )
    if not allowed:
        logger.warning("password reset email withheld: address=%s per-email=%s per-client=%s",
                       address, by_email, by_address)
    return allowed
