"""Bulk import API, mounted at ``/api/v1/registry/imports``: upload a file (the same
background job as the import page), poll it, download its report, list my jobs, download the
templates. See docs/imports.md.

Same rules as the pages (``registry.views_import``): only data administrators and system
administrators (capability ``registry.import``) reach these operations — anyone else gets a
404, as on the pages; a job is visible to the person who started it and to system
administrators. The import itself is audited once per job (``registry.imported``), as from
the page. ``POST`` honours ``Idempotency-Key`` (``core.idempotency``): a retry with the same
key gets the first answer (the same job) and starts nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import transaction
from django.http import FileResponse
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from yiwang.accounts.types import AuthedRequest
from yiwang.core.api import PageNumber, error_responses
from yiwang.core.errors import Conflict, NotFound, ValidationFailed
from yiwang.registry.importing import jobs, schema, selectors, tasks
from yiwang.registry.models import ImportJob

router = Router()
ERRORS: dict[int, Any] = error_responses()
REPORT_ERRORS: dict[int, Any] = error_responses(409)

RUNNING = (ImportJob.Status.PENDING, ImportJob.Status.RUNNING)


# --- Schemas ----------------------------------------------------------------------------------
class ProgressOut(Schema):
    rows: int
    estimated: int
    percent: int


class CountsOut(Schema):
    accepted: int
    updated: int
    unchanged: int
    refused: int


class ImportJobOut(Schema):
    id: int
    entity_type: str
    file_name: str
    encoding: str
    mapping: dict[str, str]
    dry_run: bool
    status: str
    error: str
    progress: ProgressOut
    counts: CountsOut
    created_by: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    report_url: str | None


class ImportJobDetailOut(ImportJobOut):
    #: accepted or updated rows left in no grid (no location); null until the job finished
    no_grid: int | None
    #: rows skipped as the template's unchanged example row; null until the job finished
    skipped: int | None


class ColumnOut(Schema):
    field: str
    header: str
    required: bool
    aliases: list[str]
    help: str
    example: str


class ImportTypeOut(Schema):
    entity_type: str
    label: str
    key: str
    columns: list[ColumnOut]
    templates: dict[str, str]


def _require_importer(request: AuthedRequest) -> None:
    """As the pages: those who may not import do not learn these operations exist."""
    if not jobs.may_import(request.user):
        raise NotFound()


def _job_out(j: ImportJob) -> dict[str, Any]:
    running = j.status in RUNNING
    total = max(j.total_rows, j.processed_rows)
    percent = 100 if not running else (int(j.processed_rows * 100 / total) if total else 0)
    has_report = selectors.report_file(j) is not None
    return {
        "id": j.pk,
        "entity_type": j.entity_type,
        "file_name": j.file_name,
        "encoding": j.encoding,
        "mapping": j.mapping or {},
        "dry_run": j.dry_run,
        "status": j.status,
        "error": j.error,
        "progress": {"rows": j.processed_rows, "estimated": total, "percent": percent},
        "counts": {
            "accepted": j.created_count,
            "updated": j.updated_count,
            "unchanged": j.unchanged_count,
            "refused": j.refused_count,
        },
        "created_by": j.created_by.username if j.created_by else None,
        "created_at": j.created_at,
        "finished_at": j.finished_at,
        "report_url": f"/api/v1/registry/imports/{j.pk}/report.csv" if has_report else None,
    }


def _job_detail(j: ImportJob) -> dict[str, Any]:
    out = _job_out(j)
    notes = selectors.job_notes(j) or {}
    out["no_grid"], out["skipped"] = notes.get("no_grid"), notes.get("skipped")
    return out


def _mapping_text(raw: str) -> tuple[str, dict[str, str] | None]:
    """The ``mapping`` form field: ``column=field`` pairs (one a line, or comma-separated) as
    on the page, or a JSON object ``{"column": "field"}``."""
    text = raw.strip()
    if not text.startswith("{"):
        return raw, None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip()
        for k, v in value.items()
    ):
        raise ValidationFailed(
            fields={"mapping": [_('A JSON mapping is an object {"file column": "field"}.')]}
        )
    return "", {k.strip(): v.strip() for k, v in value.items()}


# --- Operations -------------------------------------------------------------------------------
@router.post(
    "",
    response={202: ImportJobOut, **ERRORS},
    summary="Upload a file and start its import (multipart)",
    description=(
        "multipart/form-data: `file` (.csv or .xlsx, at most `YIWANG_IMPORT_MAX_BYTES`), "
        "`entity_type` (person, place, thing or organisation; aliases such as `people` are "
        "taken), optional `encoding` (utf-8, gbk, gb18030, utf-16 or a Python codec name; "
        "detected when empty), optional `mapping` (`file column=field` pairs, one a line, or a "
        'JSON object `{"file column": "field"}`), optional `dry_run` (true: check and report, '
        "write nothing). The file's header is checked at once (an unreadable file, a missing "
        "required column or a bad mapping answer 422 with the field at fault); the import "
        "then runs in the background: poll `GET /imports/{job_id}`. Answers 202 with the "
        "job. Send an `Idempotency-Key` to retry safely: the same key gets the same job."
    ),
    openapi_extra={
        "requestBody": {"content": {"multipart/form-data": {"schema": {"required": ["file"]}}}}
    },
)
def upload(
    request: AuthedRequest,
    entity_type: Form[str],
    file: UploadedFile | None = File(None),  # type: ignore[type-arg]  # noqa: B008
    encoding: Form[str] = "",
    mapping: Form[str] = "",
    dry_run: Form[bool] = False,
) -> Any:
    _require_importer(request)
    if file is None:  # named here: ninja's own message would name it "file.file"
        raise ValidationFailed(fields={"file": [_("Choose a file to import.")]})
    text, as_dict = _mapping_text(mapping)
    job = jobs.do_accept_upload(
        actor=request.user,
        upload=file,
        entity_type=entity_type,
        encoding=encoding,
        mapping_text=text,
        mapping=as_dict,
        dry_run=dry_run,
    )
    transaction.on_commit(lambda: tasks.run_import_job(job.pk))
    job.refresh_from_db()
    return Status(202, _job_out(job))


@router.get(
    "",
    response={200: list[ImportJobOut], **ERRORS},
    summary="My import jobs, newest first",
    description=(
        "The caller's own jobs (a system administrator sees everyone's). Filter by `status` "
        "(pending, running, done, failed) and `entity_type`."
    ),
)
@paginate(PageNumber)
def list_jobs(request: AuthedRequest, status: str = "", entity_type: str = "") -> Any:
    _require_importer(request)
    qs = selectors.list_import_jobs_for(request.user)
    if status:
        if status not in ImportJob.Status.values:
            raise ValidationFailed(
                fields={"status": [_("Use one of: %(v)s") % {"v": ", ".join(ImportJob.Status)}]}
            )
        qs = qs.filter(status=status)
    if entity_type:
        qs = qs.filter(entity_type=schema.resolve_type(entity_type) or entity_type)
    return [_job_out(j) for j in qs.order_by("-created_at", "-pk")]


@router.get(
    "/types",
    response={200: list[ImportTypeOut], **ERRORS},
    summary="What can be imported: the columns of each type",
    description=(
        "Per entity type: the natural key, the columns (field name, zh-Hans header, whether "
        "required, accepted aliases, description, the template's example value) and the "
        "template downloads. A file's header matches a field by its name, header or alias; "
        "anything else needs a `mapping`."
    ),
)
def list_types(request: AuthedRequest) -> Any:
    _require_importer(request)
    out = []
    for t in schema.ENTITY_TYPES:
        s = schema.SCHEMAS[t]
        out.append(
            {
                "entity_type": t,
                "label": str(schema.TYPE_LABELS[t]),
                "key": s.key,
                "columns": [
                    {
                        "field": c.field,
                        "header": c.header,
                        "required": c.required,
                        "aliases": list(c.aliases),
                        "help": str(c.help),
                        "example": c.example,
                    }
                    for c in s.columns
                ],
                "templates": {
                    fmt: f"/api/v1/registry/imports/templates/{t}.{fmt}" for fmt in ("csv", "xlsx")
                },
            }
        )
    return out


@router.get(
    "/templates/{entity_type}.{fmt}",
    response={200: None, **ERRORS},
    summary="Download the template for a type (csv or xlsx)",
    description=(
        "CSV (UTF-8 with BOM) or XLSX (text-formatted columns, a second sheet describing "
        "them). Row 2 is an example: left unchanged it is skipped on import."
    ),
)
def template(request: AuthedRequest, entity_type: str, fmt: str) -> Any:
    _require_importer(request)
    errors: dict[str, list[str]] = {}
    entity = schema.resolve_type(entity_type)
    if entity is None:
        errors["entity_type"] = [
            _("Unknown entity type; use one of: %(types)s")
            % {"types": ", ".join(schema.ENTITY_TYPES)}
        ]
    if fmt not in ("csv", "xlsx"):
        errors["fmt"] = [_("Use csv or xlsx.")]
    if errors or entity is None:
        raise ValidationFailed(fields=errors)
    from yiwang.registry.views_import import template_response

    return template_response(entity, fmt)


@router.get(
    "/{job_id}",
    response={200: ImportJobDetailOut, **ERRORS},
    summary="One import job: status, progress, counts",
    description=(
        "`status`: pending, running, done or failed (`error` says why: an unreadable file, a "
        "missing column). `progress.rows` of `progress.estimated` (an estimate from the file "
        "size until the end). `counts`: accepted, updated, unchanged, refused rows. Once "
        "finished: `no_grid` (rows stored without a location, in no grid, which no area "
        "lists), `skipped` (the template's example row) and `report_url`."
    ),
)
def get_job(request: AuthedRequest, job_id: int) -> Any:
    _require_importer(request)
    return _job_detail(selectors.access_import_job(request.user, job_id))


@router.get(
    "/{job_id}/report.csv",
    response={200: None, **REPORT_ERRORS},
    summary="Download a finished job's report (CSV)",
    description=(
        "UTF-8 with BOM, columns `row, key, status, field, reason`: one line per refusal, per "
        "updated row, per row stored without a grid (status accepted, field `grid`) and per "
        "skipped example row, then `total` lines. 409 `report_not_ready` while the job runs."
    ),
)
def report(request: AuthedRequest, job_id: int) -> Any:
    _require_importer(request)
    j = selectors.access_import_job(request.user, job_id)
    if j.status in RUNNING:
        raise Conflict(
            _("The import is still running; its report is not ready."), code="report_not_ready"
        )
    path = selectors.report_file(j)
    if path is None:
        raise NotFound()
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"import-{j.pk}-report.csv",
        content_type="text/csv; charset=utf-8",
    )
