"""Helpers shared by the services modules."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from billspree.core.models import ApiKey

POLL_TASK = "gateways.tasks.gateway_poll_task"


def _who(actor: AbstractBaseUser | None, api_key: ApiKey | None) -> dict[str, Any]:
    return {"actor": actor, "api_key": api_key}
