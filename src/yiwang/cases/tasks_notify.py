"""Case notification jobs (huey): send a case message by email/SMS; the 部件 follow-up sweep.

Importing this module also registers the ``cases.changed`` subscriber that queues the sends
(``yiwang.cases.notifications``), so it must be imported when the app loads.
"""

from __future__ import annotations

from typing import Any

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from yiwang.cases import followup, notifications

FOLLOW_UP_MINUTE = "23"


@db_task(retries=5, retry_delay=120)  # type: ignore[untyped-decorator]
def send_case_message(message_id: int) -> dict[str, int]:
    """Deliver one in-app message by email and SMS; retried on transient failures.

    The lock keeps two workers off the same message (its expiry frees it after a crash);
    the audit records of earlier deliveries keep a retry from sending one twice.
    """
    with HUEY.lock_task(f"case-message-{message_id}", ttl=600):
        return notifications.deliver_message(message_id)


@db_task(retries=5, retry_delay=120)  # type: ignore[untyped-decorator]
def send_case_event(event_id: int) -> dict[str, int]:
    """Send a public step of a case to its reporter known only by contact details."""
    with HUEY.lock_task(f"case-event-{event_id}", ttl=600):
        return notifications.deliver_case_event(event_id)


@db_periodic_task(crontab(minute=FOLLOW_UP_MINUTE))  # type: ignore[untyped-decorator]
def send_follow_ups() -> dict[str, Any]:
    """Hourly: ask reporters of 部件 cases closed four weeks ago whether it is still fixed
    (only in daytime, Asia/Shanghai; see ``followup.QUIET_HOURS``)."""
    return followup.do_send_follow_ups()
