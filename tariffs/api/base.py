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


class SavedWholeViewSet(TariffViewSet):
    # Create and update through one ``*_save`` service (named by ``save_service``) that takes
    # the whole row: an update passes the row as ``save_key``, its current ``kept_fields``
    # overlaid with the request's ``changes()`` (a PATCH sends only some). A comment, not a
    # docstring: the OpenAPI descriptions keep TariffViewSet's.

    save_service: str
    save_key: str
    kept_fields: tuple[str, ...] = ()

    def changes(self, serializer: Any) -> dict[str, Any]:
        return dict(serializer.validated_data)

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = getattr(services, self.save_service)(
            **self.changes(serializer), **self.audit_kwargs_actor()
        )

    def perform_update(self, serializer: Any) -> None:
        row = serializer.instance
        data = {**{f: getattr(row, f) for f in self.kept_fields}, **self.changes(serializer)}
        getattr(services, self.save_service)(
            **{self.save_key: row}, **data, **self.audit_kwargs_actor()
        )
