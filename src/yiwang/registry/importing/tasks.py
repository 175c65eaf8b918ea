"""The import as a background job (huey)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_task()  # type: ignore[untyped-decorator]
def run_import_job(job_id: int) -> None:
    from yiwang.registry.importing.jobs import do_run_import_job

    do_run_import_job(job_id=job_id)


@db_periodic_task(crontab(minute="17", hour="3"))  # type: ignore[untyped-decorator]
def expire_stale_imports() -> dict[str, int]:
    """Daily: uploads of imports that never ran are deleted (they hold personal data)."""
    from yiwang.registry.importing.jobs import do_expire_stale_imports

    return do_expire_stale_imports()
