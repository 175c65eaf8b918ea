"""The generic scope walk: every API operation and page, anonymous / out of scope / in scope."""

from __future__ import annotations

import pytest

from yiwang.core import testing


@pytest.fixture
def scoped_world(world):
    from yiwang.accounts import actions

    world.extra["token_a"], _ = actions.do_create_api_token(
        actor=world.users["dept_staff_a"], name="t"
    )
    return testing.build_scope_world(world)


def test_every_api_operation_has_a_scope_case():
    cases = testing.load_cases()
    missing = [op for op in testing.api_operations() if op not in cases]
    assert not missing, f"register scope cases for: {missing}"


def test_every_page_has_a_scope_case():
    cases = testing.load_cases()
    paths = {p for _, p in cases}
    missing = [p for p in testing.page_routes() if p not in paths]
    assert not missing, f"register scope cases for pages: {missing}"


def _all_cases():
    return sorted(testing.load_cases().items())


@pytest.mark.parametrize(
    ("key", "case"), _all_cases(), ids=[f"{m} {p}" for (m, p), _ in _all_cases()]
)
@pytest.mark.django_db
def test_scope(key, case, client, scoped_world):
    method, path = key
    w = scoped_world
    in_probe = case.in_scope(w)
    if not case.public:
        anon = testing.Probe(None, in_probe.kwargs, in_probe.body)
        resp = testing.call(client, method, path, anon, w)
        if path.startswith("/api/"):
            assert resp.status_code == 401, resp.content
            assert resp.json()["code"] in {"not_authenticated", "session_expired"}
        else:
            assert resp.status_code == 302 and "/accounts/login/" in resp["Location"], resp
    if case.out_of_scope is not None:
        probe = case.out_of_scope(w)
        resp = testing.call(client, method, path, probe, w)
        assert resp.status_code == probe.expect, (probe, resp.status_code, resp.content[:300])
    resp = testing.call(client, method, path, in_probe, w)
    assert resp.status_code == in_probe.expect, (in_probe, resp.status_code, resp.content[:300])
