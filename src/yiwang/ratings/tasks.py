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
def notify_overdue(rectification_id: int) -> dict[str, int]:
    """Email/SMS the department that a rectification is overdue; retried on failures."""
    from yiwang.ratings.notifications import deliver_overdue

    with HUEY.lock_task(f"ratings-overdue-{rectification_id}", ttl=600):
        return deliver_overdue(rectification_id)
