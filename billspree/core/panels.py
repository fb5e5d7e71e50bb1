"""Panels that apps above contribute to a page of an app below.

A billing point's page (meters) should show who occupies it (tenants), its latest
readings (readings) and its rates (tariffs), but meters must not import those apps. Each
app may have ``panels.py`` with a function per slot (e.g. ``billing_point(request, obj)``)
returning :class:`Panel` objects; the page renders them in INSTALLED_APPS order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from billspree.core.discovery import app_hooks


@dataclass(frozen=True)
class Panel:
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    #: an alert the page shows across its width, above the other panels
    wide: bool = False


def collect_panels(slot: str, request: HttpRequest, obj: Any) -> list[Panel]:
    panels: list[Panel] = []
    for contribute in app_hooks("panels", slot):
        panels.extend(contribute(request, obj))
    return panels
