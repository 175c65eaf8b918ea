"""grid sits below registry and the domain apps (ARCHITECTURE.md): it imports none of them;
their counts reach the grid pages through ``grid.counts``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from yiwang.grid import counts

GRID = Path(__file__).resolve().parents[1]
ABOVE = ("yiwang.registry", "yiwang.cases", "yiwang.policies", "yiwang.exchange", "yiwang.web.")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
    return out


def test_grid_code_imports_nothing_above_it():
    offenders = [
        (str(p.relative_to(GRID)), name)
        for p in GRID.rglob("*.py")
        if "tests" not in p.parts and "migrations" not in p.parts
        for name in _imports(p)
        if name.startswith(ABOVE)
    ]
    # The pages use the shared page decorator of web; nothing else from above.
    assert [o for o in offenders if o[1] != "yiwang.web.views"] == []


@pytest.mark.django_db
def test_the_registry_registers_its_counts():
    keys = [m.key for m in counts.metrics()]
    assert keys[:4] == ["people", "places", "things", "organisations"]
    assert all(m.list_url.startswith("registry:") for m in counts.metrics()[:4])
