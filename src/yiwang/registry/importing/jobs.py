"""Import jobs: create one (the upload is already on disk), run it, record it.

``do_create_import_job`` and ``do_run_import_job`` are the writes the web page and the
command line use; each import writes one audit record (who, what, which file, the counts,
dry run or not) — never one per row.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.accounts.models import User
from yiwang.accounts.roles import Cap
from yiwang.core import audit
from yiwang.core.errors import Forbidden, ValidationFailed
from yiwang.core.models import AuditResult
from yiwang.registry.importing.reading import (
    EXTENSIONS,
    FileError,
    normalize_encoding,
    open_source,
)
from yiwang.registry.importing.runner import ImportResult, Progress, default_workers, run

__all__ = [
    "default_workers",
    "do_accept_upload",
    "do_create_import_job",
    "do_expire_stale_imports",
    "do_run_import_job",
    "may_import",
]
from yiwang.registry.importing.schema import (
    SCHEMAS,
    HeaderError,
    match_header,
    parse_mapping,
    resolve_type,
)
from yiwang.registry.models import ImportJob

#: Seconds between progress writes to the job row.
PROGRESS_EVERY = 0.5


def may_import(actor: User | None) -> bool:
    return bool(
        actor is not None
        and actor.is_authenticated
        and actor.is_active
        and actor.can(Cap.REGISTRY_IMPORT)
    )


def imports_dir() -> Path:
    d = Path(settings.DATA_DIR) / "imports"
    d.mkdir(parents=True, exist_ok=True)
    return d


def report_path_for(job: ImportJob) -> Path:
    return imports_dir() / f"{job.pk}-report.csv"


def do_create_import_job(
    *,
    actor: User | None,
    entity_type: str,
    file_name: str,
    file_path: str | Path,
    encoding: str = "",
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
) -> ImportJob:
    """A pending job for a file already stored under ``$YIWANG_DATA_DIR/imports``."""
    if actor is not None and not may_import(actor):
        raise Forbidden(_("Only data administrators may import."))
    errors: dict[str, list[str]] = {}
    if entity_type not in SCHEMAS:
        errors["entity_type"] = [_("Unknown entity type.")]
    if Path(file_name).suffix.lower() not in EXTENSIONS:
        errors["file"] = [_("Only .csv and .xlsx files can be imported.")]
    try:
        normalize_encoding(encoding)
    except FileError as exc:
        errors["encoding"] = [str(exc)]
    if errors:
        raise ValidationFailed(fields=errors)
    return ImportJob.objects.create(
        entity_type=entity_type,
        file_name=Path(file_name).name[:255],
        file_path=str(file_path),
        encoding=encoding.strip(),
        mapping=dict(mapping or {}),
        dry_run=dry_run,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )


#: The largest upload accepted from the web page (bytes); ``YIWANG_IMPORT_MAX_BYTES``.
MAX_UPLOAD_BYTES = int(os.environ.get("YIWANG_IMPORT_MAX_BYTES", str(500 * 1024 * 1024)))


def do_accept_upload(
    *,
    actor: User,
    upload: UploadedFile[bytes],
    entity_type: str,
    encoding: str = "",
    mapping_text: str = "",
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
) -> ImportJob:
    """Store an uploaded file under ``$YIWANG_DATA_DIR/imports`` (streamed in chunks) and
    create its pending job. Refuses other types than .csv/.xlsx, files over the limit, and
    (before any job exists) files that cannot be read or lack a required column. The column
    mapping comes as text (``column=field`` pairs: the page) or as ``mapping`` (the API)."""
    if not may_import(actor):
        raise Forbidden(_("Only data administrators may import."))
    name = Path(upload.name or "").name
    ext = Path(name).suffix.lower()
    errors: dict[str, list[str]] = {}
    if ext not in EXTENSIONS:
        errors["file"] = [_("Only .csv and .xlsx files can be imported.")]
    elif upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        errors["file"] = [
            _("The file is larger than %(mb)d MB.") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
        ]
    elif not upload.size:
        errors["file"] = [_("The file is empty.")]
    entity_type = resolve_type(entity_type) or entity_type  # "people", "人口", …
    if entity_type not in SCHEMAS:
        errors["entity_type"] = [
            _("Unknown entity type; use one of: %(types)s") % {"types": ", ".join(SCHEMAS)}
        ]
    mapping = dict(mapping or {})
    try:
        if mapping_text.strip():
            mapping.update(parse_mapping([mapping_text]))
    except HeaderError as exc:
        errors["mapping"] = [str(exc)]
    if mapping and entity_type in SCHEMAS:
        fields = SCHEMAS[entity_type].fields
        unknown = sorted({f for f in mapping.values() if f not in fields})
        if unknown:
            errors["mapping"] = [
                _("The mapping names unknown fields %(unknown)s; the fields are: %(fields)s")
                % {"unknown": ", ".join(unknown), "fields": ", ".join(fields)}
            ]
    if errors:
        raise ValidationFailed(fields=errors)
    dest = imports_dir() / f"upload-{uuid.uuid4().hex}{ext}"
    with dest.open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    try:
        check_file(dest, entity_type, encoding, mapping)
        return do_create_import_job(
            actor=actor,
            entity_type=entity_type,
            file_name=name,
            file_path=dest,
            encoding=encoding,
            mapping=mapping,
            dry_run=dry_run,
        )
    except Exception:
        dest.unlink(missing_ok=True)
        raise


def check_file(path: Path, entity_type: str, encoding: str, mapping: dict[str, str]) -> None:
    """Refuse, before any job exists, a file that cannot be read at all or whose header lacks
    a required column (the import would fail straight away): field-level errors on ``file``
    (or ``encoding``, ``mapping``)."""
    try:
        normalize_encoding(encoding)
    except FileError as exc:
        raise ValidationFailed(fields={"encoding": [str(exc)]}) from None
    try:
        src = open_source(path, encoding)
    except FileError as exc:
        raise ValidationFailed(fields={"file": [str(exc)]}) from None
    except (OSError, ValueError) as exc:  # a damaged file the readers did not expect
        raise ValidationFailed(
            fields={"file": [_("The file cannot be read: %(err)s") % {"err": exc}]}
        ) from None
    try:
        match_header(SCHEMAS[entity_type], src.header, mapping)
    except HeaderError as exc:
        raise ValidationFailed(fields={exc.field: [str(exc)]}) from None
    finally:
        src.close()


def _is_upload(path: str) -> bool:
    """Files the web page stored (removed after the import: they hold personal data in
    clear); a file named on the command line belongs to its owner and stays."""
    p = Path(path)
    return p.parent == imports_dir() and p.name.startswith("upload-")


def do_run_import_job(
    *,
    job_id: int,
    batch_size: int = 0,
    on_progress: Any = None,
    report_path: str | Path | None = None,
    workers: int | None = None,
) -> ImportResult | None:
    """Run a pending job to the end, keeping its progress and counts up to date."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status not in (ImportJob.Status.PENDING, ImportJob.Status.RUNNING):
        return None
    actor = job.created_by
    job.status = ImportJob.Status.RUNNING
    job.report_path = str(report_path or report_path_for(job))
    job.save(update_fields=["status", "report_path"])
    last = [0.0]

    def progress(p: Progress) -> None:
        if on_progress is not None:
            on_progress(p)
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY and p.rows < p.estimated:
            return
        last[0] = now
        ImportJob.objects.filter(pk=job.pk).update(
            total_rows=max(p.estimated, p.rows),
            processed_rows=p.rows,
            created_count=p.counts["accepted"],
            updated_count=p.counts["updated"],
            unchanged_count=p.counts["unchanged"],
            refused_count=p.counts["refused"],
        )

    result: ImportResult | None = None
    error = ""
    try:
        result = run(
            job.entity_type,
            job.file_path,
            actor=actor,
            encoding=job.encoding,
            mapping=job.mapping or None,
            dry_run=job.dry_run,
            report_path=job.report_path,
            batch_size=batch_size,
            source=f"import:{job.pk}",
            on_progress=progress,
            workers=default_workers() if workers is None else workers,
        )
    except (FileError, HeaderError) as exc:
        error = str(exc)
    except Exception as exc:
        error = _("The import stopped: %(error)s") % {"error": exc}
        _finish(job, None, error)
        raise
    finally:
        if _is_upload(job.file_path):
            Path(job.file_path).unlink(missing_ok=True)
    _finish(job, result, error)
    return result


def _finish(job: ImportJob, result: ImportResult | None, error: str) -> None:
    job.refresh_from_db()
    job.finished_at = timezone.now()
    job.error = error
    job.status = ImportJob.Status.FAILED if error else ImportJob.Status.DONE
    if result is not None:
        c = result.counts
        job.total_rows = job.processed_rows = result.rows
        job.created_count, job.updated_count = c["accepted"], c["updated"]
        job.unchanged_count, job.refused_count = c["unchanged"], c["refused"]
        job.no_grid_count, job.skipped_count = result.no_grid, result.skipped
        if result.encoding and not job.encoding:
            job.encoding = result.encoding
    job.save()
    detail: dict[str, Any] = {
        "entity_type": job.entity_type,
        "file_name": job.file_name,
        "dry_run": job.dry_run,
        "rows": job.processed_rows,
        "accepted": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count,
        "refused": job.refused_count,
    }
    if result is not None:
        detail["encoding"] = result.encoding
        if result.no_grid:
            detail["no_grid"] = result.no_grid
        if result.skipped:
            detail["skipped"] = result.skipped
        if result.failed_batches:
            detail["failed_batches"] = result.failed_batches
    if error:
        detail["error"] = error[:300]
    audit.record(
        "registry.imported",
        actor=job.created_by,
        obj=job,
        result=AuditResult.FAILED if error else AuditResult.OK,
        detail=detail,
    )


#: A job not finished this long after it was created never will be (a million residents
#: import in under two minutes): ``YIWANG_IMPORT_STALE_HOURS``.
STALE_HOURS = float(os.environ.get("YIWANG_IMPORT_STALE_HOURS", "24"))


def do_expire_stale_imports(*, now: Any = None, hours: float | None = None) -> dict[str, int]:
    """Uploaded files hold personal data in clear and are deleted once their import has run.
    A job whose worker never ran it (or died in it) would keep its file for ever: after
    ``STALE_HOURS`` such a job is marked failed and its file deleted, and so is any upload
    file that no waiting job names (a crash between storing the file and creating the job).
    Runs daily (``registry.importing.tasks``); audited with the counts."""
    from datetime import timedelta

    now = now or timezone.now()
    cutoff = now - timedelta(hours=STALE_HOURS if hours is None else hours)
    waiting = (ImportJob.Status.PENDING, ImportJob.Status.RUNNING)
    expired = 0
    for job in ImportJob.objects.filter(status__in=waiting, created_at__lt=cutoff):
        if _is_upload(job.file_path):
            Path(job.file_path).unlink(missing_ok=True)
        job.status = ImportJob.Status.FAILED
        job.finished_at = now
        job.error = _(
            "The import did not run to its end within %(hours)d hours; its uploaded file was "
            "deleted (it holds personal data). Upload the file again."
        ) % {"hours": int(STALE_HOURS if hours is None else hours)}
        job.save(update_fields=["status", "finished_at", "error"])
        expired += 1
    named = set(ImportJob.objects.filter(status__in=waiting).values_list("file_path", flat=True))
    orphans = 0
    for f in imports_dir().glob("upload-*"):
        try:
            old = f.stat().st_mtime < cutoff.timestamp()
        except FileNotFoundError:
            continue
        if old and str(f) not in named:
            f.unlink(missing_ok=True)
            orphans += 1
    if expired or orphans:
        audit.record(
            "registry.imports_expired",
            purpose="delete stale uploads",
            detail={"jobs": expired, "orphan_files": orphans},
        )
    return {"jobs": expired, "orphan_files": orphans}
