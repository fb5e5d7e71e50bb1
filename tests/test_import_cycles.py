"""Services never import task modules: tasks import services, and services queue tasks by
name through billspree.core.queue. An import of ``<app>.tasks`` inside a service (even
inside a function) would bring back the services ↔ tasks circle."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("billspree", "meters", "readings", "tenants", "tariffs", "billing", "gateways")


def _service_modules() -> list[Path]:
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            rel = path.relative_to(ROOT).parts
            if "migrations" in rel:
                continue
            if "services" in rel or path.stem in ("services", "rollups"):
                found.append(path)
    return found


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_the_scan_sees_the_services():
    assert len(_service_modules()) > 20


def test_no_service_imports_a_task_module():
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in _imported(path)
                                            if m.split(".")[-1] == "tasks" or ".tasks." in m)
        for path in _service_modules()
    }
    assert {k: v for k, v in offenders.items() if v} == {}
