"""No module imports another module's private names (``from x import _y``) or a private
module (``x._y``): what crosses a module boundary has a public name, so the next engineer
can tell what a module offers from what it keeps to itself.

ruff's PLC2701 (turned on in pyproject.toml) says the same but exempts imports inside one
top-level package, which is where most of them were (``billing.services.invoices._retotal``
used by four sibling modules); this test covers those too, tests and benchmarks included.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREES = ("billspree", "meters", "readings", "tenants", "tariffs", "billing", "gateways",
         "bench", "tests")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _private_imports() -> list[str]:
    found = []
    for tree in TREES:
        for path in sorted((ROOT / tree).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [a.name for a in node.names if _private(a.name)]
                    if names or any(_private(part) for part in node.module.split(".")):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} "
                                     f"from {node.module} import {', '.join(names) or '…'}")
    return found


def test_no_private_name_crosses_a_module():
    assert _private_imports() == []
