"""Tenant portal access: invite a tenant by email, accept the one-time link, resend, revoke.

The pattern is core's member invitations (``billspree.core.services.invitation_*``): only a
SHA-256 of the token is stored, the link expires after ``INVITATION_TTL_DAYS``, the email
is sent by a Celery task queued on commit, and accepting claims the row with a
conditional update so a link used twice in parallel admits one user. Unlike a member
invitation it never creates a Membership: a tenant reaches only ``/my/``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from billspree.core.errors import Conflict
from billspree.core.models import Membership
from billspree.core.queue import enqueue_on_commit
from billspree.core.scoping import organization_context, require_organization
from billspree.core.services import audit_record, revoke_once
from tenants.models import Tenant, TenantAccess

INVALID_LINK = "This portal invitation link is invalid, expired, revoked or already used."


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _queue_email(access: TenantAccess, token: str) -> None:
    enqueue_on_commit("tenants.tasks.tenant_portal_invitation_send", access.pk, token)


def _clean_email(email: str) -> str:
    email = get_user_model().objects.normalize_email(email or "").strip().lower()
    if not email:
        raise ValidationError({"email": ["The tenant needs an email address to be invited."]})
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": [f"{email} is not a valid email address."]}) from exc
    return email


@transaction.atomic
def tenant_portal_invite(
    *, tenant: Tenant, actor: AbstractBaseUser | None, email: str = ""
) -> tuple[TenantAccess, str]:
    """Invite ``tenant`` (at ``email``, default the tenant's) and queue the email.

    Returns the access row and the raw token (shown nowhere; it travels in the email).
    A tenant with live access (invited or active) gets a Conflict: resend or revoke it.
    """
    email = _clean_email(email or tenant.email)
    if Membership.objects.filter(user__email__iexact=email).exists():
        raise Conflict(
            f"{email} is a member of this organization; a member cannot also be a tenant login.",
            fields={"email": ["is a member"]},
        )
    token, now = secrets.token_urlsafe(32), timezone.now()
    inviter = actor if isinstance(actor, get_user_model()) else None  # not an API key's user
    try:
        with transaction.atomic():
            access = TenantAccess.objects.create(
                organization=require_organization(), tenant=tenant, email=email,
                token_hash=_sha256(token), invited_by=inviter, invited_at=now,
                expires_at=now + timedelta(days=settings.INVITATION_TTL_DAYS),
            )
    except IntegrityError as exc:
        raise Conflict(
            f"{tenant.name} already has portal access or an open invitation; "
            "resend or revoke it first.",
            fields={"email": ["already invited"]},
        ) from exc
    audit_record(action="tenants.portal.invite", actor=actor, target=str(tenant),
                 detail={"email": email})
    _queue_email(access, token)
    return access, token


@transaction.atomic
def tenant_portal_resend(
    *, access: TenantAccess, actor: AbstractBaseUser | None
) -> tuple[TenantAccess, str]:
    """A fresh link for a not yet accepted invitation (the old link stops working)."""
    locked = TenantAccess.objects.select_for_update().get(pk=access.pk)
    if locked.revoked_at is not None:
        raise Conflict("This portal access was revoked; invite the tenant again.")
    if locked.accepted_at is not None:
        raise Conflict(f"{locked.email} already accepted; they log in with their password.")
    token, now = secrets.token_urlsafe(32), timezone.now()
    locked.token_hash = _sha256(token)
    locked.invited_at = now
    locked.expires_at = now + timedelta(days=settings.INVITATION_TTL_DAYS)
    locked.sent_at = None
    locked.save(update_fields=["token_hash", "invited_at", "expires_at", "sent_at"])
    audit_record(action="tenants.portal.resend", actor=actor, target=str(locked.tenant),
                 detail={"email": locked.email})
    _queue_email(locked, token)
    return locked, token


@transaction.atomic
def tenant_portal_revoke(*, access: TenantAccess, actor: AbstractBaseUser | None) -> TenantAccess:
    """End access now: the middleware checks ``revoked_at`` on every request. Idempotent."""
    locked = TenantAccess.objects.select_for_update().get(pk=access.pk)
    return revoke_once(locked, action="tenants.portal.revoke", actor=actor,
                       target=str(locked.tenant), detail={"email": locked.email})


def tenant_access_by_token(token: str) -> TenantAccess | None:
    """An open invitation across organizations: the token itself is the credential."""
    return (
        TenantAccess.objects.unscoped()
        .select_related("organization", "tenant")
        .filter(
            token_hash=_sha256(token), accepted_at__isnull=True, revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


@transaction.atomic
def tenant_portal_accept(*, token: str, user: AbstractBaseUser) -> TenantAccess:
    """Bind ``user`` to the invited tenant; the link works once."""
    access = tenant_access_by_token(token)
    if access is None:
        raise ValidationError({"token": [INVALID_LINK]})
    if user.email.lower() != access.email.lower():
        raise ValidationError(
            {"token": [f"This invitation is for {access.email}; log in with that address."]}
        )
    if Membership.objects.unscoped().filter(user=user).exists():
        # a member's session is bound to their organization, never to /my/: refuse here
        # rather than admit them to a portal they could not open
        raise Conflict(
            f"{user.email} is a member of an organization on Billspree and cannot also be a "
            "tenant login; ask for the invitation to go to another email address."
        )
    with organization_context(access.organization):
        try:
            with transaction.atomic():
                claimed = TenantAccess.objects.filter(
                    pk=access.pk, accepted_at__isnull=True, revoked_at__isnull=True
                ).update(accepted_at=timezone.now(), user=user)
        except IntegrityError as exc:
            raise Conflict(f"{user.email} already has portal access in this organization.") from exc
        if claimed != 1:
            raise ValidationError({"token": [INVALID_LINK]})
        audit_record(action="tenants.portal.accept", actor=user, target=str(access.tenant),
                     detail={"email": access.email})
        access.refresh_from_db()
    return access


def tenant_portal_mark_sent(*, access_id: int) -> None:
    TenantAccess.objects.unscoped().filter(pk=access_id).update(sent_at=timezone.now())


@transaction.atomic
def tenant_portal_signup(
    *, token: str, password: str, first_name: str = "", last_name: str = ""
) -> TenantAccess:
    """Create the login of an invited tenant whose email has no user yet, and accept.

    One transaction: a link that turns out to be used (or revoked) meanwhile leaves no
    orphan user behind.
    """
    access = tenant_access_by_token(token)
    if access is None:
        raise ValidationError({"token": [INVALID_LINK]})
    users = get_user_model().objects
    if users.filter(email__iexact=access.email).exists():
        raise Conflict(f"{access.email} already has an account; log in to accept.")
    user = users.create_user(access.email, password, first_name=first_name, last_name=last_name)
    return tenant_portal_accept(token=token, user=user)
