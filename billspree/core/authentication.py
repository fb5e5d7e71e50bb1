"""API-key authentication: ``Authorization: Api-Key <key>`` (or ``Bearer <key>``)."""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from billspree.core.models import ApiKey
from billspree.core.services import api_key_authenticate


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


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keywords = ("api-key", "bearer")

    def authenticate(self, request: Request) -> tuple[ServiceUser, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").strip()
        if not header:
            return None
        keyword, _, raw = header.partition(" ")
        if keyword.lower() not in self.keywords:
            return None
        raw = raw.strip()
        if not raw:
            raise exceptions.AuthenticationFailed("No API key given after the keyword.")
        key = api_key_authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return ServiceUser(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Api-Key realm="api"'
