"""Emails that carry a link into the site (invitations of members and of tenants)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from billspree.core.validators import one_line


def send_link_mail(*, to: str, subject: str, template: str, path: str, **context: Any) -> None:
    """Send ``template`` (plain text) to ``to`` with ``link``, the absolute URL of ``path``,
    in its context (console backend unless EMAIL_URL)."""
    context["link"] = settings.SITE_URL + path
    send_mail(
        subject=one_line(subject),
        message=render_to_string(template, context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[to],
    )


def send_document_mail(*, to: str, subject: str, body: str, filename: str,
                       content: bytes, mimetype: str = "application/pdf") -> None:
    """Send ``body`` to ``to`` with one attached document (a reminder letter)."""
    from django.core.mail import EmailMessage

    msg = EmailMessage(subject=one_line(subject), body=body,
                       from_email=settings.DEFAULT_FROM_EMAIL, to=[to])
    msg.attach(filename, content, mimetype)
    msg.send()
