"""Background jobs of tenants. Tasks take ids, load, and call one service."""

from __future__ import annotations

from celery import shared_task
from django.urls import reverse

from billspree.core.mail import send_link_mail
from billspree.core.scoping import organization_context
from tenants.models import TenantAccess
from tenants.services.portal import tenant_portal_mark_sent


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def tenant_portal_invitation_send(self, access_id: int, token: str) -> str:
    """The invitation email with the one-time link (console backend unless EMAIL_URL)."""
    access = (
        TenantAccess.objects.unscoped()
        .select_related("organization", "tenant", "invited_by")
        .get(pk=access_id)
    )
    if access.revoked_at is not None or access.accepted_at is not None:
        return ""  # revoked or used before the worker got to it: nothing to send
    with organization_context(access.organization):
        send_link_mail(
            to=access.email,
            subject=f"Your tenant portal at {access.organization.name}",
            template="tenant_portal/email/invitation.txt",
            path=reverse("my:accept", args=[token]),
            access=access,
            organization=access.organization,
        )
        tenant_portal_mark_sent(access_id=access.pk)
    return access.email
