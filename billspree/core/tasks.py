"""Background jobs of the core. Tasks take ids, load, and call one service."""

from __future__ import annotations

from celery import shared_task
from django.urls import reverse

from billspree.core.mail import send_link_mail
from billspree.core.models import Invitation
from billspree.core.scoping import organization_context
from billspree.core.services import invitation_mark_sent


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invitation_send(self, invitation_id: int, token: str) -> str:
    invitation = (
        Invitation.objects.unscoped()
        .select_related("organization", "invited_by")
        .get(pk=invitation_id)
    )
    with organization_context(invitation.organization):
        send_link_mail(
            to=invitation.email,
            subject=f"You are invited to {invitation.organization.name} on Billspree",
            template="core/email/invitation.txt",
            path=reverse("portal:invitation_accept", args=[token]),
            invitation=invitation,
        )
        invitation_mark_sent(invitation_id=invitation.pk)
    return invitation.email
