"""好差评 background jobs (huey): the rectification sweep and the overdue notices."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

# huey evaluates crontabs in UTC; every 30 minutes is close enough for day-long deadlines.
SWEEP_MINUTES = "*/30"


@db_periodic_task(crontab(minute=SWEEP_MINUTES))  # type: ignore[untyped-decorator]
def sweep_rectifications() -> dict[str, int]:
    """Mark overdue rectifications (and notify), close ones the rater left unconfirmed."""
    from yiwang.ratings.actions import do_sweep_rectifications

    return do_sweep_rectifications()


@db_task(retries=5, retry_delay=120)  # type: ignore[untyped-decorator]
def notify_overdue(department_id: int, rectification_ids: list[int]) -> dict[str, int]:
    """Email/SMS a department's handlers one digest of its newly overdue rectifications;
    retried on transient failures (deliveries already recorded are skipped)."""
    from yiwang.ratings.notifications import batch_key, deliver_overdue

    key = batch_key(department_id, rectification_ids)
    with HUEY.lock_task(f"ratings-overdue-{key}", ttl=600):
        return deliver_overdue(department_id, rectification_ids)
