"""Audit events of the core (organization, members, invitations, API keys) in words, and
the fallback for actions no app describes. See :func:`billspree.core.dashboard.describe_events`.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from billspree.core.dashboard import Activity

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
