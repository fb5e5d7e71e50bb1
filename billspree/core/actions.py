"""Next steps that apps above offer on pages of an app below.

A move (tenants) is followed by the outgoing tenant's final bill (billing), but tenants
must not import billing. Like :mod:`billspree.core.panels`, each app may have
``actions.py`` with a function per slot (e.g. ``move_registered(request, move)``)
returning :class:`Action` objects; the page shows them in INSTALLED_APPS order. An action
is a link (the app above owns the page it opens and decides there), or a note saying why
there is nothing to do (``url`` empty).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from billspree.core.discovery import app_hooks


@dataclass(frozen=True)
class Action:
    label: str
    url: str = ""
    note: str = ""
    testid: str = ""


def collect_actions(slot: str, request: HttpRequest, obj: object) -> list[Action]:
    actions: list[Action] = []
    for contribute in app_hooks("actions", slot):
        actions.extend(contribute(request, obj))
    return actions
