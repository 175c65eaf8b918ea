"""The fact columns saved to the data directory: a new process loads them and applies the
change log since the saved position; anything doubtful (another database, format or catalog,
a damaged or half-written file, a log that moved) falls back to a full build.

The test database lives in memory on SQLite and inside the test's transaction, so the tests
write the file with ``snapshotfile.save`` directly under a fixed database identity."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import numpy as np
import pytest
from django.db import connection, transaction
from django.utils import timezone

from yiwang.policies import factstore, snapshotfile
from yiwang.policies.tests import factories as f
from yiwang.policies.tests.test_concurrent_writer import _forget_flushes
from yiwang.policies.tests.test_factstore import assert_agrees

pytestmark = pytest.mark.django_db

LAST_FY = f"FY{timezone.localdate().year - 1}"
REV = f"revenue__{LAST_FY.lower()}"


@pytest.fixture
def disk(tmp_path, monkeypatch, settings):
    """A data directory of its own and a fixed identity for the test database."""
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(settings, "POLICIES_FACT_SNAPSHOT", True, raising=False)
    ident = {"vendor": "test", "database": "one"}
    monkeypatch.setattr(snapshotfile, "identity", lambda conn: dict(ident))
    _forget_flushes()
    factstore.reset()
    return ident


def _saved(store: factstore.FactStore) -> Path:
    path = snapshotfile.save(store.snapshot, store.position, connection)
    assert path is not None
    return path


def _new_process() -> factstore.FactStore:
    s = factstore.FactStore()
    s.current()
    return s


def test_a_new_process_loads_the_file_and_applies_the_log(gw, disk):
    a = f.organisation(gw, "a")
    b = f.organisation(gw, "b", industry_code="I6510")
    f.revenue(a, 800)
    built = factstore.FactStore()
    built.current()
    path = _saved(built)

    fresh = _new_process()
    assert fresh.loaded
    assert fresh.stats.kind in ("load", "load+delta")  # PG re-reads the open transaction's
    assert fresh.stats.rebuilds == 0
    snap = fresh.snapshot
    assert isinstance(snap.ids, np.memmap) or isinstance(snap.ids.base, np.memmap)
    assert snap.value(REV, a.pk) == 800.0
    assert snap.industry_code is not None
    assert_agrees(snap)

    # changes after the save are applied from the log by the loading process
    f.revenue(b, 1234)
    f.organisation(gw, "a", industry_code="C2710")
    other = _new_process()
    assert other.stats.kind == "load+delta"
    assert other.stats.rebuilds == 0
    assert other.snapshot.value(REV, b.pk) == 1234.0
    assert_agrees(other.snapshot)
    # the mapped arrays are never written: a refresh copies what it changes
    assert snapshotfile.load(connection)[0].value(REV, b.pk) is None

    # permissions: directory 0700, files 0600
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for p in path.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_the_sweep_over_a_loaded_snapshot_is_the_same(gw, disk):
    from yiwang.policies import matching

    orgs = [f.organisation(gw, "a") for _ in range(4)]
    for i, o in enumerate(orgs):
        if i != 2:
            f.revenue(o, 300 * i)
    item = f.published_item(gw, rule=f.rule(revenue=500))
    before = matching.for_item(item)
    _saved(factstore.store())
    factstore.reset()
    after = matching.for_item(item)
    assert factstore.store().loaded
    assert after.to_dict() == before.to_dict()
    assert (after.pass_ids, after.unknown_ids, after.amounts) == (
        before.pass_ids,
        before.unknown_ids,
        before.amounts,
    )


@pytest.mark.parametrize(
    "damage",
    ["truncated", "bit_flip", "no_manifest", "old_format", "other_catalog", "other_database"],
)
def test_a_doubtful_file_is_not_used(gw, disk, damage):
    a = f.organisation(gw, "a")
    f.revenue(a, 800)
    built = factstore.FactStore()
    built.current()
    path = _saved(built)
    manifest = json.loads((path / "manifest.json").read_text())
    col = manifest["layout"]["numeric"][REV]
    if damage == "truncated":
        data = (path / f"{col}.npy").read_bytes()
        (path / f"{col}.npy").write_bytes(data[:-4])
    elif damage == "bit_flip":
        data = bytearray((path / f"{col}.npy").read_bytes())
        data[-1] ^= 0x40
        (path / f"{col}.npy").write_bytes(bytes(data))
    elif damage == "no_manifest":  # as if the writer had died before its last step
        (path / "manifest.json").unlink()
    elif damage == "old_format":
        manifest["format"] = snapshotfile.FORMAT - 1
        (path / "manifest.json").write_text(json.dumps(manifest))
    elif damage == "other_catalog":
        manifest["fingerprint"] = "0" * 64
        (path / "manifest.json").write_text(json.dumps(manifest))
    else:
        manifest["database"] = {"vendor": "test", "database": "two"}
        (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(snapshotfile.Refused):
        snapshotfile.load(connection)
    fresh = _new_process()
    assert fresh.stats.kind == "rebuild"
    assert "snapshot file not used" in fresh.stats.reason
    assert fresh.snapshot.value(REV, a.pk) == 800.0
    assert_agrees(fresh.snapshot)


def test_another_database_finds_no_file(gw, disk, monkeypatch):
    f.revenue(f.organisation(gw, "a"), 5)
    built = factstore.FactStore()
    built.current()
    _saved(built)
    monkeypatch.setattr(snapshotfile, "identity", lambda conn: {"vendor": "test", "db": "x"})
    with pytest.raises(snapshotfile.Refused, match="no snapshot saved"):
        snapshotfile.load(connection)


def test_a_moved_log_rebuilds(gw, disk):
    """The log row the file stands on is gone (pruned, flushed or rolled back): rebuild."""
    from yiwang.policies.models import FactChange

    a = f.organisation(gw, "a")
    f.revenue(a, 1)
    built = factstore.FactStore()
    built.current()
    _saved(built)
    FactChange.objects.filter(seq=built.position.seq).update(tok=built.position.tok + 1)
    fresh = _new_process()
    assert fresh.loaded
    assert fresh.stats.kind == "rebuild"
    assert_agrees(fresh.snapshot)


def test_a_half_written_snapshot_is_never_read(gw, disk, monkeypatch):
    a = f.organisation(gw, "a")
    f.revenue(a, 800)
    built = factstore.FactStore()
    built.current()
    first = _saved(built)
    f.revenue(a, 900)
    built.current()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(snapshotfile.json, "dump", boom)  # dies before the manifest
    with pytest.raises(OSError):
        snapshotfile.save(built.snapshot, built.position, connection)
    monkeypatch.undo()
    monkeypatch.setattr(snapshotfile, "identity", lambda conn: dict(disk))
    # no temporary directory is left, and the pointer still names the complete snapshot
    assert [p.name for p in first.parent.iterdir() if p.is_dir()] == [first.name]
    assert (first.parent / snapshotfile.CURRENT).read_text() == first.name
    fresh = _new_process()
    assert fresh.loaded
    assert fresh.snapshot.value(REV, a.pk) == 900.0  # the log brought it up to date


def test_the_store_saves_only_committed_data(gw, disk):
    f.revenue(f.organisation(gw, "a"), 5)
    store = factstore.FactStore()
    store.current()
    assert connection.in_atomic_block  # the test's transaction
    assert store.save() is False  # what it read might still roll back
    with pytest.raises(snapshotfile.Refused):
        snapshotfile.load(connection)


def test_an_in_memory_database_is_never_persisted(gw, settings, tmp_path):
    settings.DATA_DIR = tmp_path
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite test database is in memory; PostgreSQL's is not")
    assert snapshotfile.identity(connection) is None
    store = factstore.FactStore()
    store.current()
    assert snapshotfile.save(store.snapshot, store.position, connection) is None


def test_saving_twice_keeps_one_snapshot(gw, disk):
    f.revenue(f.organisation(gw, "a"), 5)
    store = factstore.FactStore()
    store.current()
    one = _saved(store)
    two = _saved(store)
    assert one.exists() and two.exists()  # a save never removes one just written
    old = time.time() - 2 * snapshotfile.GRACE
    os.utime(one, (old, old))
    os.utime(two, (old, old))
    three = _saved(store)
    assert not one.exists() and not two.exists() and three.exists()
    two = three
    with transaction.atomic():
        assert snapshotfile.load(connection)[2]["dir"] == str(two)
