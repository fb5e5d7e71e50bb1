"""Contributions of the apps above to the core (and to the apps below them).

Core must not import the apps above it, yet its dashboard shows their cards, a billing
point's page shows their panels and System status their checks. Each app that contributes
has a module of a known name (``dashboard``, ``panels``, ``ops``); this finds them, in
INSTALLED_APPS order, among the project's own apps only (a third-party app's module of the
same name is not ours to call).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from types import ModuleType

from django.apps import apps
from django.conf import settings


@cache
def _project_modules(name: str) -> tuple[ModuleType, ...]:
    root = Path(settings.BASE_DIR).resolve()
    found = []
    for app in apps.get_app_configs():
        if app.name == "billspree.core" or root not in Path(app.path).resolve().parents:
            continue
        try:
            found.append(importlib.import_module(f"{app.name}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{app.name}.{name}":
                raise  # the module exists but imports something missing: a real error
    return tuple(found)


def app_modules(name: str) -> Iterator[ModuleType]:
    """Each project app's module ``name`` (e.g. ``"panels"``), where it has one."""
    yield from _project_modules(name)


def app_hooks(name: str, hook: str) -> Iterator[Callable]:
    """Each project app's function ``hook`` of its module ``name`` (e.g. the ``cards`` of
    ``dashboard``), where it has both."""
    for module in _project_modules(name):
        contribute = getattr(module, hook, None)
        if contribute is not None:
            yield contribute
