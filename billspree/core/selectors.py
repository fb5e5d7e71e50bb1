"""Read queries of the core: which organizations a user may act in, with which role."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from billspree.core.models import Membership, Organization


def user_memberships(user: AbstractBaseUser) -> QuerySet[Membership]:
    """A user's memberships in every organization: the switcher crosses organizations by design."""
    if not user.is_authenticated:
        return Membership.objects.unscoped().none()
    return (
        Membership.objects.unscoped()
        .filter(user=user)
        .select_related("organization")
        .order_by("organization__name")
    )


def user_membership(user: AbstractBaseUser, organization: Organization) -> Membership | None:
    return user_memberships(user).filter(organization=organization).first()
