"""Import jobs the actor may see: their own; a system admin sees every job. Others: 404."""

from __future__ import annotations

from pathlib import Path

from django.db.models import QuerySet

from yiwang.accounts.models import User
from yiwang.accounts.roles import Cap, Role
from yiwang.core.errors import NotFound
from yiwang.registry.models import ImportJob


def list_import_jobs_for(actor: User) -> QuerySet[ImportJob]:
    if not actor.is_authenticated or not actor.is_active or not actor.can(Cap.REGISTRY_IMPORT):
        return ImportJob.objects.none()
    qs = ImportJob.objects.select_related("created_by")
    if actor.role == Role.SYSADMIN:
        return qs
    return qs.filter(created_by=actor)


def access_import_job(actor: User, job_id: int) -> ImportJob:
    job = list_import_jobs_for(actor).filter(pk=job_id).first()
    if job is None:
        raise NotFound()
    return job


def report_file(job: ImportJob) -> Path | None:
    """The job's report, once it is finished and the file is there."""
    if job.status not in (ImportJob.Status.DONE, ImportJob.Status.FAILED) or not job.report_path:
        return None
    p = Path(job.report_path)
    return p if p.is_file() else None


def job_notes(job: ImportJob) -> dict[str, int] | None:
    """A finished job's warnings: ``no_grid`` (rows stored in no grid: no area lists them)
    and ``skipped`` (the template's example row); None while the job runs."""
    if job.status in (ImportJob.Status.PENDING, ImportJob.Status.RUNNING):
        return None
    return {"no_grid": job.no_grid_count, "skipped": job.skipped_count}
