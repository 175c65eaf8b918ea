"""Data-system background jobs (huey): grant expiry and the nightly quality run."""

from __future__ import annotations

from typing import Any

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_periodic_task(crontab(hour="0", minute="5"))  # type: ignore[untyped-decorator]
def expire_grants() -> int:
    """Active grants whose period is over become expired (calls are refused either way)."""
    from yiwang.exchange.actions import expire_grants as do_expire

    return do_expire()


@db_periodic_task(crontab(hour="2", minute="30"))  # type: ignore[untyped-decorator]
def nightly_quality() -> dict[str, Any]:
    """Every dataset's quality rules; problems get a deadline for the owning department."""
    from yiwang.exchange.quality import run_all

    return run_all()


@db_periodic_task(crontab(hour="3", minute="15"))  # type: ignore[untyped-decorator]
def retention_purge() -> list[Any]:
    """Rows past their dataset's retention period are deleted; a purge report per dataset."""
    from yiwang.exchange.actions import purge_expired

    return [(r.dataset_id, r.records_deleted) for r in purge_expired()]


@db_task(retries=3, retry_delay=60)  # type: ignore[untyped-decorator]
def send_quality_notice(run_id: int, stage: str) -> dict[str, int]:
    """Tell the owning department about a quality run's problems (see quality.py)."""
    from yiwang.exchange.quality import send_quality_notice as send

    return send(run_id, stage)
