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
