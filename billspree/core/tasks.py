"""Background jobs of the core. Tasks take ids, load, and call one service."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from billspree.core.models import Invitation
from billspree.core.scoping import organization_context
from billspree.core.services import invitation_mark_sent
from billspree.core.validators import one_line


@shared_task(bind=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invitation_send(self, invitation_id: int, token: str) -> str:
    invitation = (
        Invitation.objects.unscoped()
        .select_related("organization", "invited_by")
        .get(pk=invitation_id)
    )
    with organization_context(invitation.organization):
        link = settings.SITE_URL + reverse("portal:invitation_accept", args=[token])
        context = {"invitation": invitation, "link": link}
        send_mail(
            subject=one_line(f"You are invited to {invitation.organization.name} on Billspree"),
            message=render_to_string("core/email/invitation.txt", context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[invitation.email],
        )
        invitation_mark_sent(invitation_id=invitation.pk)
    return invitation.email
