"""Test data of one organization, for every scoped model.

``populate_organization`` gives an organization at least one row of every
organization-scoped model, each carrying ``marker`` in a visible text field, so the
isolation test can tell whether another organization's data leaked into a response.
Apps add their rows in ``POPULATORS`` (one function per app, in dependency order); the
isolation test fails when a scoped model has no row, so a new model cannot go untested.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from billspree.core import services
from billspree.core.models import ApiKeyScope, Membership, Organization, Role, User
from billspree.core.scoping import organization_context

PASSWORD = "correct-horse-battery"


@dataclass
class OrgWorld:
    """One organization with a member of every role and API keys."""

    org: Organization
    marker: str
    admin: User
    manager: User
    operator: User
    viewer: User
    read_key: str = ""
    write_key: str = ""
    objects: dict[str, Any] = field(default_factory=dict)


def make_user(email: str, **extra: Any) -> User:
    return User.objects.create_user(email, PASSWORD, **extra)


def make_org_world(name: str, marker: str) -> OrgWorld:
    slug = marker.lower()
    admin = make_user(f"admin-{slug}@example.test", first_name=f"Admin {marker}")
    org = services.organization_create(name=f"{name} {marker}", owner=admin)
    world = OrgWorld(
        org=org,
        marker=marker,
        admin=admin,
        manager=make_user(f"manager-{slug}@example.test"),
        operator=make_user(f"operator-{slug}@example.test"),
        viewer=make_user(f"viewer-{slug}@example.test"),
    )
    with organization_context(org):
        for role in (Role.MANAGER, Role.OPERATOR, Role.VIEWER):
            Membership.objects.create(organization=org, user=getattr(world, role), role=role)
        _, world.read_key = services.api_key_create(
            name=f"read key {marker}", scopes=[ApiKeyScope.READ], actor=admin
        )
        _, world.write_key = services.api_key_create(
            name=f"write key {marker}", scopes=[ApiKeyScope.READ, ApiKeyScope.WRITE], actor=admin
        )
    return world


def populate_core(world: OrgWorld) -> None:
    invitation, token = services.invitation_create(
        email=f"invitee-{world.marker.lower()}@example.test", role=Role.VIEWER, actor=world.admin
    )
    world.objects["invitation"] = invitation
    world.objects["invitation_token"] = token


def _app_populators() -> list[Callable[[OrgWorld], None]]:
    """``tests/<app>/factories.py`` may define ``populate(world)``, and so may
    ``tests/<app>/factories_<part>.py`` (one per concern of a large app, after the app's
    own); called in app order."""
    import importlib
    import pkgutil

    found = [populate_core]
    for app in ("meters", "readings", "tenants", "tariffs", "billing", "gateways", "ledger"):
        package = importlib.import_module(f"tests.{app}")
        names = sorted(
            m.name for m in pkgutil.iter_modules(package.__path__)
            if m.name == "factories" or m.name.startswith("factories_")
        )
        for name in names:
            module = importlib.import_module(f"tests.{app}.{name}")
            if hasattr(module, "populate"):
                found.append(module.populate)
    return found


POPULATORS: list[Callable[[OrgWorld], None]] = _app_populators()


def populate_organization(world: OrgWorld) -> OrgWorld:
    with organization_context(world.org):
        for populate in POPULATORS:
            populate(world)
    return world


# monitoring (export jobs, scheduled reports): after every app it reads from
def _populate_monitoring(world: OrgWorld) -> None:
    from tests.monitoring.factories import populate

    populate(world)


POPULATORS.append(_populate_monitoring)
