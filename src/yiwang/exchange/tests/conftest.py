from __future__ import annotations

import pytest


@pytest.fixture
def xw(world):
    """The test world with 城管局a's datasets loaded and a grant to 数据局a."""
    from yiwang.exchange.tests.factories import build

    build(world)
    return world


@pytest.fixture(autouse=True)
def _english():
    """Messages are checked in English (the pages and the API default to zh-Hans)."""
    from django.utils import translation

    with translation.override("en"):
        yield
