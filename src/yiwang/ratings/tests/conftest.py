"""Fixtures of the ratings tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def rw(world):
    """The test world with a completed service for ``resident_a`` by 城管局a (not rated)."""
    from yiwang.ratings.tests.factories import build

    build(world)
    return world


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run an action and deliver its after-commit events (huey is immediate in tests)."""

    def go(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return go


@pytest.fixture(autouse=True)
def _fresh_statistics_cache():
    """The public statistics are cached per process; each test starts without them."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _english():
    """Messages are checked in English (the pages and the API default to zh-Hans)."""
    from django.utils import translation

    with translation.override("en"):
        yield
