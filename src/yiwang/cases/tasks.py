"""Case background jobs (huey): the deadline sweep every few minutes."""

from __future__ import annotations

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

SWEEP_MINUTES = int(getattr(settings, "YIWANG_CASES_SWEEP_MINUTES", 5))


@db_periodic_task(crontab(minute=f"*/{SWEEP_MINUTES}"))  # type: ignore[untyped-decorator]
def sweep_deadlines() -> dict[str, int]:
    """Yellow before due, red when overdue, escalation to leaders and the centre."""
    from yiwang.cases.actions import do_sweep_deadlines

    return do_sweep_deadlines()


from yiwang.cases import tasks_notify  # noqa: E402, F401  (email/SMS sends, 部件 follow-up)
