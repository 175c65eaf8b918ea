"""Background jobs of 一网通办 (huey): the deadline sweep that reminds departments a working day
before a task falls due and escalates overdue ones."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

SWEEP_MINUTES = 15


@db_periodic_task(crontab(minute=f"*/{SWEEP_MINUTES}"))  # type: ignore[untyped-decorator]
def sweep_task_deadlines() -> dict[str, int]:
    from yiwang.onestop.actions import do_sweep_deadlines

    return do_sweep_deadlines()
