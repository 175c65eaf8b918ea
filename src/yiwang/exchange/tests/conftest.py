from __future__ import annotations

import pytest


@pytest.fixture
def xw(world):
    """The test world with 城管局a's datasets loaded and a grant to 数据局a."""
    from yiwang.exchange.tests.factories import build

    build(world)
    return world
