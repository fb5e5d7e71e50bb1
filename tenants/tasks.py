"""Background jobs of tenants. Tasks take ids, load, and call one service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from billspree.core.scoping import organization_context
from billspree.core.validators import one_line
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
        link = settings.SITE_URL + reverse("my:accept", args=[token])
        context = {"access": access, "link": link, "organization": access.organization}
        send_mail(
            subject=one_line(f"Your tenant portal at {access.organization.name}"),
            message=render_to_string("tenant_portal/email/invitation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[access.email],
        )
        tenant_portal_mark_sent(access_id=access.pk)
    return access.email
