"""Dashboard cards contributed by each app (see also ``panels.py``).

An app may have ``dashboard.py`` with ``cards(request) -> list[Card]``; the dashboard shows
them in INSTALLED_APPS order. Discovery keeps the core free of imports of the apps above it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest

from billspree.core.discovery import app_modules


@dataclass(frozen=True)
class Card:
    label: str
    value: str | int
    foot: str = ""
    url: str = ""
    tone: str = ""  # "", "green", "red", "amber"


def collect_cards(request: HttpRequest) -> list[Card]:
    cards: list[Card] = []
    for module in app_modules("dashboard"):
        cards.extend(module.cards(request))
    return cards
