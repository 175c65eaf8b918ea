"""Fixtures of the ratings tests.

Until the platform adds ``yiwang.ratings`` to INSTALLED_APPS, these tests run with
``--ds=yiwang.ratings.tests.settings`` and are left out of a run with the project's settings.
"""

from __future__ import annotations

import pytest
from django.conf import settings

INSTALLED = "yiwang.ratings" in settings.INSTALLED_APPS
if not INSTALLED:
    collect_ignore_glob = ["test_*.py"]
elif settings.ROOT_URLCONF == "yiwang.ratings.tests.urls":
    import yiwang.ratings.tests.urls  # noqa: F401  (mount the API router before anything else)


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
