"""政策通 background jobs (huey): the daily expiry of items past their deadline and the
email/SMS notice of a delivery."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

# huey evaluates crontabs in UTC: 16:05 UTC is 00:05 in Asia/Shanghai, just after midnight.
EXPIRE_HOUR = "16"
EXPIRE_MINUTE = "5"


@db_periodic_task(crontab(minute=EXPIRE_MINUTE, hour=EXPIRE_HOUR))  # type: ignore[untyped-decorator]
def expire_items() -> int:
    """Published items whose deadline has passed become expired."""
    from yiwang.policies.actions import expire_due

    return expire_due()


@db_task(retries=5, retry_delay=120)  # type: ignore[untyped-decorator]
def send_policy_notice(delivery_id: int) -> dict[str, int]:
    """Email/SMS one inbox delivery to the enterprise's users; retried on transient failures."""
    from yiwang.policies.delivery import send_notice

    with HUEY.lock_task(f"policy-delivery-{delivery_id}", ttl=600):
        return send_notice(delivery_id)


@db_periodic_task(crontab(minute="20", hour="16"))  # type: ignore[untyped-decorator]
def prune_fact_changes() -> int:
    """Trim the fact change log (ADR 0018) to a week; a process whose snapshot is older
    rebuilds its fact columns."""
    from yiwang.policies.factstore import prune

    return prune()
