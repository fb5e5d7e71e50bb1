"""The base viewset of tariffs: deletes go through the guarded service."""

from __future__ import annotations

from typing import Any

from billspree.core.api_base import (
    OrganizationModelViewSet,
)
from tariffs import services


class TariffViewSet(OrganizationModelViewSet):
    """Create/update/delete go through one service each."""

    def perform_destroy(self, instance: Any) -> None:
        services.delete(instance=instance, **self.audit_kwargs_actor())

    def audit_kwargs_actor(self) -> dict[str, Any]:
        return {"actor": self.request.user}
