"""The generic scope walk over the ratings API operations and pages."""

from __future__ import annotations

import pytest

from yiwang.core import testing


def _cases():
    return sorted(
        (k, c)
        for k, c in testing.load_cases().items()
        if k[1].startswith(("/api/v1/ratings", "/ratings"))
    )


def test_every_ratings_api_operation_has_a_scope_case():
    cases = testing.load_cases()
    ops = [op for op in testing.api_operations() if op[1].startswith("/api/v1/ratings")]
    assert ops, "the ratings router is not mounted"
    assert not [op for op in ops if op not in cases]


def test_every_ratings_page_has_a_scope_case(monkeypatch):
    monkeypatch.setattr(testing, "PAGE_NAMESPACES", {*testing.PAGE_NAMESPACES, "ratings"})
    paths = {p for _, p in testing.load_cases()}
    pages = [p for p in testing.page_routes() if p.startswith("/ratings/")]
    assert pages
    assert not [p for p in pages if p not in paths]


@pytest.fixture
def scoped_world(world):
    from yiwang.ratings.tests.scope_cases import build_ratings

    testing.load_cases()
    build_ratings(world)
    return world


@pytest.mark.parametrize(("key", "case"), _cases(), ids=[f"{m} {p}" for (m, p), _ in _cases()])
@pytest.mark.django_db
def test_scope(key, case, client, scoped_world):
    """Anonymous → 401 / login, out of scope → 404, in scope → success (the platform's walk)."""
    from yiwang.accounts.tests.test_scope import test_scope as walk

    walk(key, case, client, scoped_world)
