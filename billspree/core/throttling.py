"""API throttles: one bucket per API key, per logged-in user, per anonymous address.

Why not DRF's ``SimpleRateThrottle``: it keeps a list of timestamps per client and writes
it back with get-then-set, so concurrent workers overwrite each other's counts (and a busy
key's list is 1,200 floats). These count with the shared fixed-window counter of
:mod:`billspree.core.ratelimit` (atomic ``incr`` on Redis), and read their settings when
they run, so ``API_THROTTLE_ENABLED`` and ``API_THROTTLE_RATE_*`` can change per test or
per run (a schema fuzz run raises or disables them).

DRF checks throttles after authentication and permissions, so a request with a wrong key
(401) or without credentials on a protected endpoint (401) would never reach them; the
key guesser must be counted anyway. :func:`anonymous_throttle` is therefore also called
by the authentication class, for every request that ends up anonymous, and counts each
request once.
"""

from __future__ import annotations

import time

from django.conf import settings
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from billspree.core import ratelimit
from billspree.core.models import ApiKey

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_COUNTED = "_billspree_throttle_counted"


def parse_rate(rate: str) -> tuple[int, int]:
    number, period = rate.split("/")
    return int(number), _PERIODS[period[0]]


class WindowThrottle(BaseThrottle):
    scope = ""
    rate_setting = ""
    #: who the bucket belongs to, for the 429 message
    holder = ""

    def ident(self, request: Request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request: Request, view: object) -> bool:
        self._wait: float | None = None
        if not settings.API_THROTTLE_ENABLED:
            return True
        ident = self.ident(request)
        if ident is None:
            return True
        counted: set[str] = getattr(request, _COUNTED, None) or set()
        if self.scope in counted:
            return True  # counted already (by the authentication class)
        counted.add(self.scope)
        setattr(request, _COUNTED, counted)
        rate = getattr(settings, self.rate_setting)
        limit, seconds = parse_rate(rate)
        count, ends = ratelimit.window_hit(f"api:{self.scope}:{ident}", seconds)
        if count <= limit:
            return True
        self._wait = max(1.0, ends - time.time())
        # the message names the bucket and its rate (read by the exception handler)
        request._billspree_throttled = (self.holder, rate)
        return False

    def wait(self) -> float | None:
        return self._wait


class ApiKeyRateThrottle(WindowThrottle):
    scope = "api_key"
    rate_setting = "API_THROTTLE_RATE_KEY"
    holder = "this API key"

    def ident(self, request: Request) -> str | None:
        return str(request.auth.pk) if isinstance(request.auth, ApiKey) else None


class SessionUserRateThrottle(WindowThrottle):
    scope = "user"
    rate_setting = "API_THROTTLE_RATE_USER"
    holder = "this user"

    def ident(self, request: Request) -> str | None:
        user = request.user
        if isinstance(request.auth, ApiKey) or not user or not user.is_authenticated:
            return None
        return str(user.pk)


class AnonymousRateThrottle(WindowThrottle):
    scope = "anon"
    rate_setting = "API_THROTTLE_RATE_ANON"
    holder = "this address"

    def ident(self, request: Request) -> str | None:
        user = getattr(request, "_user", None)
        if user is not None and user.is_authenticated:
            return None
        return ratelimit.client_address(request._request)


def anonymous_throttle(request: Request) -> None:
    """Count an anonymous request (no credentials, or a wrong key) on its address's bucket
    at authentication time; raise 429 past the rate."""
    throttle = AnonymousRateThrottle()
    if not throttle.allow_request(request, None):
        raise exceptions.Throttled(wait=throttle.wait())
