"""The dashboard: cards, the getting-started checklist and recent activity, contributed
by each app (see also ``panels.py``).

An app may have ``dashboard.py`` with any of:

- ``cards(request) -> list[Card]``: numbers that matter, shown in INSTALLED_APPS order;
- ``setup_steps(request) -> list[Step]``: what of the setup is really done (admins see
  the checklist), sorted by ``Step.order``;
- ``describe(events) -> dict[int, Activity]``: recent audit events (all of them, in one
  call) in words with links, for the actions the app records.

Discovery keeps the core free of imports of the apps above it. Every contribution works
on sets (a fixed number of queries per app, whatever the portfolio size).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.http import HttpRequest

from billspree.core.discovery import app_hooks


@dataclass(frozen=True)
class Card:
    label: str
    value: str | int
    foot: str = ""
    url: str = ""
    tone: str = ""  # "", "green", "red", "amber"
    lines: tuple[str, ...] = ()  # further values under the first (e.g. one per currency)


@dataclass(frozen=True)
class Step:
    """One item of the getting-started checklist."""

    order: int
    label: str
    done: bool
    url: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Activity:
    """An audit event in words: "{who} {verb} {obj}" with ``obj`` linked when ``url``."""

    verb: str
    obj: str = ""
    url: str = ""
    rest: str = ""  # words after the object ("for Shop 3")


@dataclass
class ActivityRow:
    event: object
    who: str
    activity: Activity
    extra: dict = field(default_factory=dict)


def collect_cards(request: HttpRequest) -> list[Card]:
    cards: list[Card] = []
    for contribute in app_hooks("dashboard", "cards"):
        cards.extend(contribute(request))
    return cards


def collect_steps(request: HttpRequest) -> list[Step]:
    steps: list[Step] = []
    for contribute in app_hooks("dashboard", "setup_steps"):
        steps.extend(contribute(request))
    return sorted(steps, key=lambda s: s.order)


def by_action(events: Iterable, *prefixes: str) -> list:
    return [e for e in events if e.action.startswith(prefixes)]


def amount(value: Decimal) -> str:
    """A money amount with thousands separators and two decimals ("12,345.60")."""
    return f"{value.quantize(Decimal('0.01')):,}"


def count(n: int, word: str, plural: str = "") -> str:
    """"1 meter", "3 meters" ("1 batch", "2 batches" with ``plural``)."""
    return f"{n} {word if n == 1 else (plural or word + 's')}"
