from __future__ import annotations

import pytest


@pytest.fixture
def pw(world):
    """The test world with grids and the policies objects of the scope world."""
    from yiwang.grid.tests.scope_cases import build_grids
    from yiwang.policies.tests.scope_cases import build_policies

    build_grids(world)
    build_policies(world)
    return world


@pytest.fixture
def gw(world):
    """The test world with grids only."""
    from yiwang.grid.tests.scope_cases import build_grids

    build_grids(world)
    return world


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run an action and deliver its after-commit events (huey is immediate in tests)."""

    def go(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return go
