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


# --- no import circles inside an app ----------------------------------------------------------
#
# Every ``import``/``from … import`` in an app's modules (migrations aside) is an edge from that
# module to the module it names, at module level *and inside functions*: an import moved into
# a function to dodge a circle still makes the two modules depend on each other. Only edges
# inside one app are followed (the order between apps is DESIGN.md's "Layout"). The parent
# package a module sits in is not an edge of its own (``import a.b.c`` runs ``a/b/__init__``
# first, but a package's ``__init__`` that re-exports its submodules is no circle); a
# submodule that imports its own package's ``__init__`` (``from readings.services import x``
# inside ``readings/services/ingestion.py``) is one, and is caught.

#: Circles not cut yet, each a group of modules (a strongly connected component may only
#: shrink: any circle found must lie inside one group). Remove a group once it is cut.
ALLOWED_CYCLES: list[set[str]] = []


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _app_modules() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.relative_to(ROOT).parts:
                modules[_module_name(path)] = path
    return modules


def _known(name: str, modules: dict[str, Path]) -> str:
    """The module ``name`` resolves to: itself, or the nearest package that holds it."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:``: an import only the type checker
    runs is how a module names a type of a module above it without importing it."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING",
                                                                   "typing.TYPE_CHECKING"):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _edges(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in _runtime_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"  # ``from readings import services``: a module
                targets.add(_known(full if full in modules else base, modules))
        elif isinstance(node, ast.Import):
            targets.update(_known(a.name, modules) for a in node.names)
    app = name.split(".")[0]
    return {t for t in targets if t and t != name and t.split(".")[0] == app}


def _import_graph() -> dict[str, set[str]]:
    modules = _app_modules()
    return {name: _edges(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_the_cycle_finder_finds_circles_through_function_imports():
    graph = {"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}, "a.w": {"a.x"}}
    assert _cycles(graph) == [{"a.x", "a.y", "a.z"}]
    assert _cycles({"a.x": {"a.y"}, "a.y": set()}) == []
    graph = _import_graph()
    assert "readings.ingest" in graph["readings.services.ingestion"]
    # an import inside a function is an edge too (upload_process imports ProgressWriter)
    assert "readings.progress" in graph["readings.services.csv_import"]
    # ``from gateways import poller``: the package gateways/poller/
    assert "gateways.poller" in graph["gateways.services.polling"]


def test_no_import_cycle_inside_an_app():
    unexpected = [
        sorted(cycle)
        for cycle in _cycles(_import_graph())
        if not any(cycle <= allowed for allowed in ALLOWED_CYCLES)
    ]
    assert unexpected == [], (
        "These modules import each other (imports inside functions count): move the shared "
        "type or function down into a module both import, or queue the task by name "
        "(billspree.core.queue). Allow-list only with a reason (ALLOWED_CYCLES)."
    )
