"""The job queue is real: tasks are enqueued into huey's storage and run by a consumer."""

from __future__ import annotations

import os

import pytest
from huey import RedisHuey, SqliteHuey


def _roundtrip(huey) -> int:
    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(2, 3)
    assert huey.pending_count() == 1
    task = huey.dequeue()
    huey.execute(task)
    return result.get()


def test_sqlite_storage_enqueue_dequeue_execute(tmp_path):
    huey = SqliteHuey("yiwang-test", filename=str(tmp_path / "q.sqlite3"))
    assert _roundtrip(huey) == 5


def test_embedded_queue_runs_wal_with_normal_sync(tmp_path):
    """The settings' embedded queue: WAL and synchronous=NORMAL like our own SQLite database
    (no fsync per enqueue), and it still enqueues, dequeues and runs jobs."""
    from yiwang.core.queue import SqliteHuey as EmbeddedHuey

    huey = EmbeddedHuey("yiwang-test", filename=str(tmp_path / "q.sqlite3"))
    conn = huey.storage.conn
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert conn.execute("pragma synchronous").fetchone()[0] == 1
    assert _roundtrip(huey) == 5
    # an explicit fsync setting wins
    strict = EmbeddedHuey("yiwang-test2", filename=str(tmp_path / "q2.sqlite3"), fsync=True)
    assert strict.storage.conn.execute("pragma synchronous").fetchone()[0] == 2


def test_settings_use_the_embedded_queue_without_redis():
    from yiwang.config import settings as product  # the product module, not the test one

    if product.REDIS_URL:
        pytest.skip("REDIS_URL is set: the product settings use Redis")
    assert product.HUEY["huey_class"] == "yiwang.core.queue.SqliteHuey"


def test_redis_storage_when_available():
    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception:
        pytest.skip(f"Redis not reachable at {url}")
    huey = RedisHuey("yiwang-test", url=url)
    huey.flush()
    assert _roundtrip(huey) == 5
    huey.flush()


def test_audit_checkpoint_is_a_scheduled_job():
    from huey.contrib.djhuey import HUEY

    from yiwang.core import tasks

    periodic = HUEY._registry._periodic_tasks
    assert tasks.audit_checkpoint.task_class in periodic


@pytest.mark.django_db
def test_audit_checkpoint_job_pins_the_head():
    from yiwang.core import audit, tasks
    from yiwang.core.models import AuditCheckpoint

    audit.record("test.event")
    audit.record("test.event")
    tasks.audit_checkpoint.call_local()
    assert AuditCheckpoint.objects.get().seq == 2
