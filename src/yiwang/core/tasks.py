"""Kernel background jobs (huey): audit checkpoints, event delivery, housekeeping."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

log = logging.getLogger(__name__)


@db_periodic_task(crontab(minute=f"*/{settings.YIWANG_AUDIT_CHECKPOINT_MINUTES}"))  # type: ignore[untyped-decorator]
def audit_checkpoint() -> int | None:
    """Pin the audit chain's head so truncating its tail is detectable."""
    from yiwang.core import audit

    cp = audit.write_checkpoint()
    return cp.seq if cp else None


@db_periodic_task(crontab(minute="17", hour="3"))  # type: ignore[untyped-decorator]
def purge_idempotency_keys() -> int:
    from yiwang.core.models import IdempotencyRecord

    cutoff = timezone.now() - timedelta(hours=settings.YIWANG_IDEMPOTENCY_TTL_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@db_task(retries=3, retry_delay=10)  # type: ignore[untyped-decorator]
def deliver_event(name: str, handler_path: str, payload: dict[str, Any]) -> None:
    from yiwang.core import events

    handler = events.handler_by_path(name, handler_path)
    if handler is None:
        log.warning("no handler %s for event %s", handler_path, name)
        return
    handler(payload)
