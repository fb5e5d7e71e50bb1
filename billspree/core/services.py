"""State changes of organizations, members, invitations and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from billspree.core.banking import iban_or_raw
from billspree.core.errors import Conflict
from billspree.core.files import check_upload_size
from billspree.core.limits import date_in_range, date_range_message
from billspree.core.models import (
    ApiKey,
    ApiKeyScope,
    AuditEvent,
    Invitation,
    Membership,
    Organization,
    Role,
)
from billspree.core.postal import POSTAL_FIELDS
from billspree.core.queue import enqueue_on_commit
from billspree.core.scoping import organization_context, require_organization
from billspree.core.signals import login_organizations, organization_changed

API_KEY_PREFIX = "bsk"
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    target: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    if actor is not None and getattr(actor, "api_key", None) is not None:
        api_key, actor = api_key or actor.api_key, None  # an API key's ServiceUser
    return AuditEvent.objects.create(
        organization=require_organization(),
        actor=actor if actor is not None and actor.is_authenticated else None,
        api_key=api_key,
        action=action,
        target=target[:200],
        detail=detail or {},
    )


def revoke_once(
    obj: Any, *, action: str, actor: AbstractBaseUser | None, target: str,
    detail: dict[str, Any] | None = None,
) -> Any:
    """Stamp ``revoked_at`` (now) on an invitation, API key or portal access and audit it;
    revoking again changes nothing."""
    if obj.revoked_at is None:
        obj.revoked_at = timezone.now()
        obj.save(update_fields=["revoked_at"])
        audit_record(action=action, actor=actor, target=target, detail=detail)
    return obj


def login_lock_audit(
    *, email: str, scope: str, address: str, failures: int, minutes: float
) -> None:
    """Audit a login lock (``login.locked``) in every organization the login belongs to, as
    a member or through the tenant portal, so its admins see someone guessing at one of
    their people. A lock of an unknown email, or of an address alone, has no organization
    to tell; it goes to the ``billspree.security`` log only."""
    user = get_user_model().objects.filter(email__iexact=email.strip()).first()
    if user is None:
        return
    orgs = {
        m.organization_id: m.organization
        for m in Membership.objects.unscoped().select_related("organization").filter(user=user)
    }
    for _receiver, found in login_organizations.send(sender=None, user=user):
        orgs.update({org.pk: org for org in found or ()})
    for org in orgs.values():
        with organization_context(org):
            audit_record(
                action="login.locked",
                target=user.email,
                detail={"locked": scope, "failures": failures, "minutes": minutes,
                        "address": address},
            )


@transaction.atomic
def organization_create(
    *, name: str, owner: AbstractBaseUser, default_currency: str = "EUR", time_zone: str = "UTC"
) -> Organization:
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["An organization needs a name."]})
    org = Organization.objects.create(
        name=name, default_currency=default_currency, time_zone=time_zone
    )
    with organization_context(org):
        Membership.objects.create(organization=org, user=owner, role=Role.ADMIN)
        audit_record(action="organization.create", actor=owner, target=org.name)
    return org


@transaction.atomic
def organization_update(*, actor: AbstractBaseUser | None, **fields: Any) -> Organization:
    org = require_organization()
    allowed = {"name", "default_currency", "time_zone", "logo",
               "brand_color", "address", "payment_details", "payment_terms_days",
               "default_vat_rate", "iban", "bic", "vat_number", *POSTAL_FIELDS}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({k: ["This field cannot be changed."] for k in unknown})
    if "name" in fields and not str(fields["name"]).strip():
        raise ValidationError({"name": ["An organization needs a name."]})
    if fields.get("logo"):
        check_upload_size(fields["logo"], field="logo")  # before the file is stored
    if fields.get("iban"):  # pasted in groups of four: stored compact (validated below)
        fields["iban"] = iban_or_raw(fields["iban"])
    changed = {k for k, v in fields.items() if getattr(org, k) != v}
    # from the database: a ModelForm has already put the new file on this very instance
    old_logo = Organization.objects.filter(pk=org.pk).values_list("logo", flat=True).first()
    for key, value in fields.items():
        setattr(org, key, value)
    org.full_clean()
    org.save()
    new_logo = org.logo.name if org.logo else ""
    if old_logo and old_logo != new_logo:
        # the replaced logo is private data too: it does not stay behind in the storage
        storage = Organization._meta.get_field("logo").storage
        transaction.on_commit(lambda: storage.delete(old_logo))
    organization_changed.send(sender=Organization, organization=org, changed=changed)
    audit_record(
        action="organization.update",
        actor=actor,
        target=org.name,
        detail={k: str(v) for k, v in fields.items()},
    )
    return org


def _admins_left(excluding: Membership) -> int:
    return (
        Membership.objects.select_for_update()
        .filter(role=Role.ADMIN)
        .exclude(pk=excluding.pk)
        .count()
    )


@transaction.atomic
def member_role_set(*, membership: Membership, role: str, actor: AbstractBaseUser) -> Membership:
    if role not in Role.values:
        raise ValidationError(
            {"role": [f"Unknown role '{role}'. Use one of {', '.join(Role.values)}."]}
        )
    if membership.role == Role.ADMIN and role != Role.ADMIN and _admins_left(membership) == 0:
        raise Conflict("An organization needs at least one admin.", fields={"role": ["last admin"]})
    old = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(
        action="member.role",
        actor=actor,
        target=membership.user.get_username(),
        detail={"from": old, "to": role},
    )
    return membership


@transaction.atomic
def member_remove(*, membership: Membership, actor: AbstractBaseUser) -> None:
    if membership.role == Role.ADMIN and _admins_left(membership) == 0:
        raise Conflict("You cannot remove the last admin of an organization.")
    username = membership.user.get_username()
    membership.delete()
    audit_record(action="member.remove", actor=actor, target=username)


@transaction.atomic
def invitation_create(
    *, email: str, role: str, actor: AbstractBaseUser | None
) -> tuple[Invitation, str]:
    """Create an invitation and queue its email; returns the invitation and its raw token."""
    email = get_user_model().objects.normalize_email(email).strip().lower()
    if role not in Role.values:
        raise ValidationError({"role": [f"Unknown role '{role}'."]})
    if Membership.objects.filter(user__email__iexact=email).exists():
        raise Conflict(
            f"{email} is already a member of this organization.",
            fields={"email": ["already a member"]},
        )
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            invitation = Invitation.objects.create(
                organization=require_organization(),
                email=email,
                role=role,
                token_hash=_sha256(token),
                invited_by=actor,
                expires_at=timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS),
            )
    except IntegrityError as exc:
        raise Conflict(
            f"{email} already has an open invitation; revoke it to send a new one.",
            fields={"email": ["already invited"]},
        ) from exc
    audit_record(action="invitation.create", actor=actor, target=email, detail={"role": role})
    enqueue_on_commit("billspree.core.tasks.invitation_send", invitation.pk, token)
    return invitation, token


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: AbstractBaseUser) -> Invitation:
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was already accepted.")
    return revoke_once(invitation, action="invitation.revoke", actor=actor,
                       target=invitation.email)


def invitation_by_token(token: str) -> Invitation | None:
    """Find an open invitation across organizations: the token itself is the credential."""
    return (
        Invitation.objects.unscoped()
        .select_related("organization")
        .filter(
            token_hash=_sha256(token),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .first()
    )


class InvitationForAnotherAccount(PermissionDenied):
    """The link was opened by a login whose email is not the invited one."""


def invitation_is_for(invitation: Invitation, user: AbstractBaseUser) -> bool:
    return (getattr(user, "email", "") or "").strip().lower() == invitation.email.strip().lower()


def invitation_refuse_account(*, invitation: Invitation, user: AbstractBaseUser) -> None:
    """Audit that another account tried the link (its own transaction: the refusal itself
    changes nothing else)."""
    with organization_context(invitation.organization):
        audit_record(action="invitation.wrong_account", actor=user, target=invitation.email,
                     detail={"opened_by": getattr(user, "email", ""),
                             "role": invitation.role})


@transaction.atomic
def invitation_accept(*, token: str, user: AbstractBaseUser) -> Membership:
    """Only the invited email may accept: the link alone is not proof of who holds it (a
    forwarded or leaked link must not make another login a member, let alone an admin)."""
    invitation = invitation_by_token(token)
    if invitation is None:
        raise ValidationError(
            {"token": ["This invitation link is invalid, expired or already used."]}
        )
    if not invitation_is_for(invitation, user):
        raise InvitationForAnotherAccount(
            f"This invitation is for {invitation.email}; you are logged in as "
            f"{getattr(user, 'email', '')}. Log out and open the link again, or ask the "
            "organization's admin to invite this address.")
    with organization_context(invitation.organization):
        claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
            accepted_at=timezone.now()
        )
        if claimed != 1:
            raise ValidationError({"token": ["This invitation was already used."]})
        membership, created = Membership.objects.get_or_create(
            organization=invitation.organization, user=user, defaults={"role": invitation.role}
        )
        audit_record(
            action="invitation.accept",
            actor=user,
            target=invitation.email,
            detail={"role": membership.role, "new_member": created},
        )
    return membership


def invitation_mark_sent(*, invitation_id: int) -> None:
    Invitation.objects.unscoped().filter(pk=invitation_id).update(sent_at=timezone.now())


def _api_key_expiry(
    value: datetime | date | None, organization: Organization, errors: dict[str, list[str]]
) -> datetime | None:
    """A day means local midnight of that day in the organization's time zone (the key
    works through the day before, and "expired on <day>" reads right); an instant must be
    aware. Either must lie in the future, within the dates the product computes."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0), tzinfo=ZoneInfo(str(organization.time_zone)))
    if timezone.is_naive(value):
        errors["expires_at"] = ["Give the expiry with a time zone offset (or as a date)."]
    elif not date_in_range(value):
        errors["expires_at"] = [date_range_message()]
    elif value <= timezone.now():
        errors["expires_at"] = ["The expiry must be in the future."]
    return value


@transaction.atomic
def api_key_create(
    *,
    name: str,
    scopes: list[str],
    actor: AbstractBaseUser | None,
    expires_at: datetime | date | None = None,
) -> tuple[ApiKey, str]:
    """Create a key; the returned secret is the only time it exists in clear. An expiry
    (optional) makes the key answer 401 from then on, so a contractor's or a test key
    cannot outlive its purpose when nobody remembers to revoke it."""
    name = name.strip()
    organization = require_organization()
    errors: dict[str, list[str]] = {}
    if not name:
        errors["name"] = ["Give the key a name that says who uses it."]
    bad = [s for s in scopes if s not in ApiKeyScope.values]
    if bad or not scopes:
        errors["scopes"] = [f"Scopes must be a non-empty subset of {ApiKeyScope.values}."]
    expires_at = _api_key_expiry(expires_at, organization, errors)
    if errors:
        raise ValidationError(errors)
    scopes = sorted(set(scopes) | {ApiKeyScope.READ})
    prefix = secrets.token_hex(4)
    secret = f"{API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        organization=organization,
        name=name,
        prefix=prefix,
        key_hash=_sha256(secret),
        scopes=scopes,
        created_by=actor,
        expires_at=expires_at,
    )
    audit_record(
        action="api_key.create",
        actor=actor,
        target=name,
        detail={"scopes": scopes, "expires_at": expires_at.isoformat() if expires_at else None},
    )
    return key, secret


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: AbstractBaseUser | None) -> ApiKey:
    return revoke_once(api_key, action="api_key.revoke", actor=actor, target=api_key.name)


def api_key_authenticate(raw: str) -> ApiKey | None:
    """Resolve a presented secret to an unrevoked key, across organizations, and stamp its
    use. An expired key is returned unstamped: the caller refuses it with its expiry.

    The last-used stamp is a conditional update at most once a minute, so a busy
    integrator does not turn every request into a write.
    """
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    key = (
        ApiKey.objects.unscoped()
        .select_related("organization")
        .filter(prefix=parts[1], revoked_at__isnull=True)
        .first()
    )
    if key is None or not hmac.compare_digest(key.key_hash, _sha256(raw)):
        return None
    if key.is_expired:
        return key  # refused by the caller, which says since when; not a use
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.unscoped().filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
