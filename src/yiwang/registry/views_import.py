"""Import pages: upload a file, follow its progress (HTMX polling), download the report and
the templates. Data administrators and system administrators only; anyone else gets a 404."""

from __future__ import annotations

from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from yiwang.accounts.roles import Cap
from yiwang.accounts.types import AuthedRequest
from yiwang.core.errors import ValidationFailed
from yiwang.registry.importing import jobs, schema, selectors, tasks
from yiwang.registry.models import ImportJob
from yiwang.web.views import requires

ENCODINGS = [
    ("", "auto"),
    ("utf-8", "UTF-8"),
    ("gbk", "GBK / GB18030"),
    ("utf-16", "UTF-16"),
]
RECENT = 20


def _form_context(request: AuthedRequest, **extra: object) -> dict[str, object]:
    return {
        "types": [(t, schema.TYPE_LABELS[t]) for t in schema.ENTITY_TYPES],
        "schemas": [(t, schema.TYPE_LABELS[t], schema.SCHEMAS[t]) for t in schema.ENTITY_TYPES],
        "encodings": ENCODINGS,
        "jobs": selectors.list_import_jobs_for(request.user)[:RECENT],
        "max_mb": jobs.MAX_UPLOAD_BYTES // (1024 * 1024),
        "form": {},
        "errors": {},
        **extra,
    }


@require_http_methods(["GET", "POST"])
@requires(Cap.REGISTRY_IMPORT)
def index(request: AuthedRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "registry/import.html", _form_context(request))
    # Refuse an oversized body before reading it.
    if int(request.META.get("CONTENT_LENGTH") or 0) > jobs.MAX_UPLOAD_BYTES + (1 << 20):
        errors = {
            "file": [_("The file is larger than %(mb)d MB.") % {"mb": jobs.MAX_UPLOAD_BYTES >> 20}]
        }
        return render(
            request, "registry/import.html", _form_context(request, errors=errors), status=413
        )
    form = request.POST
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationFailed(fields={"file": [_("Choose a file to import.")]})
        job = jobs.do_accept_upload(
            actor=request.user,
            upload=upload,
            entity_type=form.get("entity_type", ""),
            encoding=form.get("encoding", ""),
            mapping_text=form.get("mapping", ""),
            dry_run=form.get("dry_run") == "1",
        )
    except ValidationFailed as exc:
        ctx = _form_context(request, form=form, errors=exc.fields)
        return render(request, "registry/import.html", ctx, status=422)
    transaction.on_commit(lambda: tasks.run_import_job(job.pk))
    return redirect("registry_import:job", job_id=job.pk)


@requires(Cap.REGISTRY_IMPORT)
def job(request: AuthedRequest, job_id: int) -> HttpResponse:
    j = selectors.access_import_job(request.user, job_id)
    return render(request, "registry/import_job.html", _job_context(j))


@requires(Cap.REGISTRY_IMPORT)
def progress(request: AuthedRequest, job_id: int) -> HttpResponse:
    j = selectors.access_import_job(request.user, job_id)
    return render(request, "registry/import_progress.html", _job_context(j))


def _job_context(j: ImportJob) -> dict[str, object]:
    running = j.status in (ImportJob.Status.PENDING, ImportJob.Status.RUNNING)
    total = max(j.total_rows, j.processed_rows)
    return {
        "job": j,
        "running": running,
        "percent": 100 if not running else (int(j.processed_rows * 100 / total) if total else 0),
        "has_report": selectors.report_file(j) is not None,
        "type_label": schema.TYPE_LABELS.get(j.entity_type, j.entity_type),
        "notes": selectors.job_notes(j) or {},
    }


@requires(Cap.REGISTRY_IMPORT)
def report(request: AuthedRequest, job_id: int) -> HttpResponse:
    j = selectors.access_import_job(request.user, job_id)
    path = selectors.report_file(j)
    if path is None:
        raise Http404()
    resp: HttpResponse = FileResponse(  # type: ignore[assignment]  # a streamed file
        path.open("rb"),
        as_attachment=True,
        filename=f"import-{j.pk}-report.csv",
        content_type="text/csv; charset=utf-8",
    )
    return resp


@requires(Cap.REGISTRY_IMPORT)
def template(request: AuthedRequest, entity_type: str, fmt: str) -> HttpResponse:
    if entity_type not in schema.SCHEMAS or fmt not in ("csv", "xlsx"):
        raise Http404()
    return template_response(entity_type, fmt)


def template_response(entity_type: str, fmt: str) -> HttpResponse:
    """The template of ``entity_type`` as a download (``fmt``: csv or xlsx; page and API)."""
    if fmt == "csv":
        data, ctype = schema.template_csv(entity_type), "text/csv; charset=utf-8"
    else:
        data = schema.template_xlsx(entity_type)
        ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    resp = HttpResponse(data, content_type=ctype)
    resp["Content-Disposition"] = f'attachment; filename="{entity_type}-template.{fmt}"'
    return resp
