"""Who acts: the value views hand to services as their ``actor=``/``api_key=`` arguments.

A portal request acts as its logged-in user; an API request authenticated by an API key
acts as that key (its user is then nobody). Services keep their keyword arguments
(``actor=`` and, where they record keys, ``api_key=``); :meth:`Actor.kwargs` gives exactly
the ones that apply, so a view never spells out who acts itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class Actor:
    user: Any = None
    api_key: Any = None

    @classmethod
    def of(cls, request: HttpRequest) -> Actor:
        """The user or API key behind ``request`` (a DRF request or a Django one)."""
        api_key = getattr(request, "api_key", None)
        if api_key is not None:
            return cls(api_key=api_key)
        user = getattr(request, "user", None)
        return cls(user=user if user is not None and user.is_authenticated else None)

    def kwargs(self) -> dict[str, Any]:
        """``{"actor": user}``, plus ``"api_key"`` when a key acts (services that record
        keys take both; portal requests never carry a key)."""
        if self.api_key is not None:
            return {"actor": None, "api_key": self.api_key}
        return {"actor": self.user}

    def audit_kwargs(self) -> dict[str, Any]:
        """Both arguments, always (for services that take ``api_key`` too)."""
        return {"actor": self.user, "api_key": self.api_key}
