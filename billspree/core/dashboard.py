"""Dashboard cards contributed by each app (see also ``panels.py``).

An app may have ``dashboard.py`` with ``cards(request) -> list[Card]``; the dashboard shows
them in INSTALLED_APPS order. Discovery keeps the core free of imports of the apps above it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from django.apps import apps
from django.http import HttpRequest


@dataclass(frozen=True)
class Card:
    label: str
    value: str | int
    foot: str = ""
    url: str = ""
    tone: str = ""  # "", "green", "red", "amber"


def collect_cards(request: HttpRequest) -> list[Card]:
    cards: list[Card] = []
    for app in apps.get_app_configs():
        if app.name == "billspree.core":
            continue
        try:
            module = importlib.import_module(f"{app.name}.dashboard")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app.name}.dashboard":
                raise
            continue
        cards.extend(module.cards(request))
    return cards
