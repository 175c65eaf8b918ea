"""The import as a background job (huey)."""

from __future__ import annotations

from huey.contrib.djhuey import db_task


@db_task()  # type: ignore[untyped-decorator]
def run_import_job(job_id: int) -> None:
    from yiwang.registry.importing.jobs import do_run_import_job

    do_run_import_job(job_id=job_id)
