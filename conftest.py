"""Project-wide fixtures: a small organisation with one user per role, in and out of scope."""

from __future__ import annotations

import os

import pytest

collect_ignore_glob = ["var/*", "node_modules/*"]

# Browser tests anywhere in the tree use Debian's Chromium with the same launch and context
# settings (and are skipped with a reason when it is absent): one definition, in the web app.
from yiwang.web.tests.conftest import (  # noqa: E402, F401
    browser_context_args,
    browser_type_launch_args,
    pytest_collection_modifyitems,
)


def pytest_report_header(config):
    url = os.environ.get("YIWANG_TEST_DATABASE_URL", "")
    return f"yiwang database: {'PostgreSQL ' + url.rsplit('@', 1)[-1] if url else 'SQLite'}"


@pytest.fixture
def world(db):
    """Two districts' worth of organisation: everything under ``a`` is in scope for the
    ``a`` actors; ``b`` mirrors it for out-of-scope checks."""
    from yiwang.accounts.tests.factories import build_world

    return build_world()


@pytest.fixture
def api_client(client):
    return client


def _is_transactional(request) -> bool:
    if {"transactional_db", "live_server"} & set(request.fixturenames):
        return True
    marker = request.node.get_closest_marker("django_db")
    return bool(
        marker and (marker.kwargs.get("transaction") or (len(marker.args) > 0 and marker.args[0]))
    )


@pytest.fixture(autouse=True)
def _audit_append_only_vs_flush(request):
    """Transactional tests end with a flush, which the audit table's append-only triggers
    refuse. Lift them just for the flush and put them back when the next test starts."""
    if not _is_transactional(request):
        yield
        return
    request.getfixturevalue("transactional_db")
    from yiwang.core.testing import lift_audit_triggers, restore_audit_triggers

    restore_audit_triggers()
    yield
    lift_audit_triggers()
