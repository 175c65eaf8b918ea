from __future__ import annotations

import pytest


@pytest.fixture
def cw(world):
    """The test world with grids, routing rules and one reported case per side."""
    from yiwang.cases.tests.scope_cases import build_cases
    from yiwang.grid.tests.scope_cases import build_grids

    build_grids(world)
    build_cases(world)
    return world
