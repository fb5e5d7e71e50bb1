"""Audit events in words: the core's own (organization, members, invitations, API keys),
the fallback for actions no app describes, and :func:`describe_events`, which puts the
apps' descriptions together for the dashboard's recent activity. It lives here, not in
``dashboard.py``, because the value types it fills (``Activity``) live there: one way down.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from billspree.core.dashboard import Activity, ActivityRow
from billspree.core.discovery import app_hooks

#: verbs of the actions apps record, for events nobody describes more precisely
VERBS = {
    "create": "created", "update": "changed", "delete": "deleted", "remove": "removed",
    "assign": "assigned", "import": "imported", "issue": "issued", "void": "voided",
    "start": "started", "cancel": "cancelled", "finish": "finished", "upload": "uploaded",
    "revoke": "revoked", "invite": "invited", "accept": "accepted", "register": "registered",
    "end": "ended", "set": "set", "record": "recorded", "resend": "re-sent",
    "poll_now": "polled", "mark_paid": "marked as paid", "regenerate": "regenerated",
    "request": "requested", "recompute": "recomputed", "return": "returned",
}


def _role(value: str) -> str:
    return {"admin": "admin", "manager": "manager", "operator": "operator",
            "viewer": "viewer"}.get(value, value)


def describe(events: Sequence) -> dict[int, Activity]:
    members = reverse("portal:members")
    keys = reverse("portal:api_keys")
    settings_url = reverse("portal:settings")
    out: dict[int, Activity] = {}
    for e in events:
        d = e.detail if isinstance(e.detail, dict) else {}
        words = {
            "organization.create": Activity("created the organization", e.target),
            "organization.update": Activity("changed the", "organization settings",
                                            settings_url),
            "member.role": Activity("made", e.target, members,
                                    f"{_role(str(d.get('to', '')))}"),
            "member.remove": Activity("removed", e.target, members, "from the organization"),
            "invitation.create": Activity("invited", e.target, members,
                                          f"as {_role(str(d.get('role', '')))}"),
            "invitation.revoke": Activity("withdrew the invitation of", e.target, members),
            "invitation.accept": Activity("joined as", _role(str(d.get("role", ""))),
                                          members),
            "api_key.create": Activity("created the API key", e.target, keys),
            "api_key.revoke": Activity("revoked the API key", e.target, keys),
            "login.locked": Activity("locked the login of", e.target, "",
                                     "after repeated failures"),
        }
        if e.action in words:
            out[e.pk] = words[e.action]
    return out


def fallback(event) -> Activity:
    """"meters.meter.create" on "E-1001" → "created meter E-1001"."""
    parts = event.action.split(".")
    verb = VERBS.get(parts[-1], parts[-1].replace("_", " "))
    noun = parts[-2].replace("_", " ") if len(parts) > 1 else ""
    return Activity(f"{verb} {noun}".strip(), event.target)


def describe_events(events: Sequence) -> list[ActivityRow]:
    """Each event in words: the apps describe the actions they know (each app one call
    for all events), the core its own; anything else falls back to its action name."""
    described: dict[int, Activity] = describe(events)
    for contribute in app_hooks("dashboard", "describe"):
        described.update(contribute(events))
    return [ActivityRow(event=e, who=actor_name(e),
                        activity=described.get(e.pk) or fallback(e))
            for e in events]


def actor_name(event) -> str:
    if event.actor_id and event.actor is not None:
        user = event.actor
        return user.get_full_name() or user.email
    if event.api_key_id and event.api_key is not None:
        return f"API key “{event.api_key.name}”"
    return "Billspree"
