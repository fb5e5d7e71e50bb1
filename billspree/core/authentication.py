"""API-key authentication: ``Authorization: Api-Key <key>`` (or ``Bearer <key>``)."""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from billspree.core.models import ApiKey
from billspree.core.services import api_key_authenticate
from billspree.core.throttling import anonymous_throttle


class ServiceUser:
    """The identity of a request made with an API key: authenticated, but not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key

    def __str__(self) -> str:
        return f"api-key:{self.api_key.name}"

    def get_username(self) -> str:
        return str(self)

    def has_perm(self, *_args: object) -> bool:
        return False


#: Schemes that belong to something in front of the app (HTTP basic auth of a staging proxy
#: is forwarded as is); the request is then judged by its session, or as anonymous.
PASSED_THROUGH = ("basic",)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keywords = ("api-key", "bearer")

    def authenticate(self, request: Request) -> tuple[ServiceUser, ApiKey] | None:
        """A request without a key and without a logged-in session is anonymous, and one
        with a wrong key is a guess: both count on the client address's throttle bucket
        here, before DRF's permission check would answer 401 and skip the throttles."""
        header = authentication.get_authorization_header(request).decode("latin-1").strip()
        keyword, _, raw = header.partition(" ")
        present = "HTTP_AUTHORIZATION" in request._request.META
        if present and keyword.lower() not in self.keywords + PASSED_THROUGH:
            # Credentials we cannot read are refused, not ignored: a client sending a
            # mistyped scheme must hear it, rather than quietly acting as the browser
            # session that happens to be logged in (or as nobody).
            anonymous_throttle(request)
            raise exceptions.AuthenticationFailed(
                "Send the key as `Authorization: Api-Key <key>` (or `Bearer <key>`).")
        if not header or keyword.lower() not in self.keywords:
            session_user = getattr(request._request, "user", None)
            if session_user is None or not session_user.is_authenticated:
                anonymous_throttle(request)
            return None
        raw = raw.strip()
        if not raw:
            anonymous_throttle(request)
            raise exceptions.AuthenticationFailed("No API key given after the keyword.")
        key = api_key_authenticate(raw)
        if key is None:
            anonymous_throttle(request)
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        if key.is_expired:
            anonymous_throttle(request)
            raise exceptions.AuthenticationFailed(
                f"This API key expired on {key.expiry_text}. "
                "Ask an admin of the organization for a new key.",
                code="api_key_expired",
            )
        return ServiceUser(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Api-Key realm="api"'
