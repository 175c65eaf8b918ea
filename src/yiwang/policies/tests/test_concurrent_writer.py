"""Freshness across connections: a fact written and committed by another database
connection (another process, a feed, SQL) after this process built its fact columns is seen
by the next ``for_item`` and ``for_enterprise`` here — including a write whose transaction
commits after a later one (PostgreSQL assigns log sequence numbers at write, not at commit).

The data must be committed for the other connection to see it, so these tests run outside the
test transaction (``transaction=True``)."""

from __future__ import annotations

import json

import pytest
from django.db import connection, connections
from django.utils import timezone

from yiwang.policies import factstore, matching
from yiwang.policies.models import EnterpriseFact
from yiwang.policies.tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

LAST_FY = f"FY{timezone.localdate().year - 1}"


def _other_connection():
    """A second connection to the test database, as another process would have."""
    other = connections.create_connection("default")
    other.ensure_connection()
    return other


def _forget_flushes() -> None:
    """Drop the "everything changed" rows the test database's flush (TRUNCATE) left in the
    log. While a transaction in another database of the cluster (another test worker) holds
    the snapshot xmin back, a process re-reads such rows as possibly uncommitted and rebuilds
    — correct, but these tests are about not rebuilding."""
    from yiwang.policies.models import FactChange

    FactChange.objects.filter(organisation_id__isnull=True).delete()


def _set_revenue(conn, org_id: int, value: float) -> None:
    table = EnterpriseFact._meta.db_table
    with conn.cursor() as cur:
        cur.execute(
            f"UPDATE {table} SET value = %s WHERE organisation_id = %s AND name = %s "  # noqa: S608
            "AND period = %s",
            [json.dumps(value), org_id, "revenue", LAST_FY],
        )
        assert cur.rowcount == 1


@pytest.fixture
def setup(gw):
    a = f.organisation(gw, "a")
    b = f.organisation(gw, "a")
    f.revenue(a, 100)
    f.revenue(b, 100)
    item = f.published_item(gw, rule=f.rule(revenue=500))
    _forget_flushes()
    factstore.reset()
    summary = matching.for_item(item)
    assert a.pk not in summary.pass_ids and b.pk not in summary.pass_ids
    return a, b, item


def test_a_fact_committed_by_another_connection_is_seen(setup):
    a, _b, item = setup
    other = _other_connection()
    try:
        _set_revenue(other, a.pk, 900)  # autocommit: committed at once
    finally:
        other.close()
    summary = matching.for_item(item)
    assert a.pk in summary.pass_ids
    assert summary.amounts[a.pk] == 9.0
    assert factstore.store().stats.kind == "delta"
    mine = {m.item.pk: m for m in matching.for_enterprise(a)}
    assert mine[item.pk].verdict == "pass"


def test_a_transaction_that_commits_late_is_seen(setup):
    """The other connection writes first but commits after this connection's own write was
    already seen: its change must still be picked up."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "SQLite serialises writers: a second connection cannot hold an open write "
            "transaction while this one writes, so a late commit cannot happen"
        )
    a, b, item = setup
    other = _other_connection()
    try:
        other.set_autocommit(False)
        _set_revenue(other, a.pk, 900)  # written, not committed
        assert a.pk not in matching.for_item(item).pass_ids  # not visible yet
        f.revenue(b, 800)  # a later write by this connection, committed first
        summary = matching.for_item(item)
        assert b.pk in summary.pass_ids and a.pk not in summary.pass_ids
        other.commit()
    finally:
        other.set_autocommit(True)
        other.close()
    summary = matching.for_item(item)
    assert a.pk in summary.pass_ids and b.pk in summary.pass_ids
    mine = {m.item.pk: m for m in matching.for_enterprise(a)}
    assert mine[item.pk].verdict == "pass"


def test_a_rolled_back_write_of_another_connection_is_not_kept(setup):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers (see test_a_transaction_that_commits_late)")
    a, _b, item = setup
    other = _other_connection()
    try:
        other.set_autocommit(False)
        _set_revenue(other, a.pk, 900)
        assert a.pk not in matching.for_item(item).pass_ids
        other.rollback()
    finally:
        other.set_autocommit(True)
        other.close()
    assert a.pk not in matching.for_item(item).pass_ids


def test_a_new_process_starts_from_the_saved_file(setup, settings, tmp_path):
    """A committed build is saved; a new process loads it and applies what another
    connection changed since, without building."""
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite test database is in memory: there is nothing to persist")
    settings.DATA_DIR = tmp_path
    a, _b, item = setup
    _forget_flushes()
    factstore.reset()
    matching.for_item(item)
    assert factstore.store().stats.kind == "rebuild"
    assert factstore.store().saved
    other = _other_connection()
    try:
        _set_revenue(other, a.pk, 900)
    finally:
        other.close()
    factstore.reset()  # a new process
    summary = matching.for_item(item)
    store = factstore.store()
    assert store.loaded
    assert store.stats.rebuilds == 0 and store.stats.kind == "load+delta"
    assert a.pk in summary.pass_ids
