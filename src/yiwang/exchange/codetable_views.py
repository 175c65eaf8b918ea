"""Code-table pages of the data system (/exchange/codetables/): tables and their versions,
the codes of a version, the changes between two versions; a data administrator imports a
version from a CSV file and sets validity periods. Thin: ``yiwang.core.codetables`` does
the work (and the auditing)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiwang.accounts.roles import Cap
from yiwang.accounts.types import AuthedRequest
from yiwang.core import codetables
from yiwang.core.errors import DomainError, NotFound
from yiwang.web.views import requires

MAX_UPLOAD = 20 * 1024 * 1024


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@requires(Cap.DATA_CATALOG)
def table_list(request: AuthedRequest) -> HttpResponse:
    return render(
        request,
        "exchange/codetables.html",
        {
            "tables": codetables.tables(),
            "can_manage": request.user.can(Cap.CODETABLES_MANAGE),
        },
    )


@requires(Cap.DATA_CATALOG)
def table_detail(request: AuthedRequest, table: str) -> HttpResponse:
    summary = next((t for t in codetables.tables() if t.table == codetables.canonical(table)), None)
    if summary is None:
        raise Http404()
    chosen = request.GET.get("version", "")
    try:
        ver = codetables.version_for(summary.table, version=chosen or summary.current)
    except NotFound:
        ver = summary.versions[0]
    q = request.GET.get("q", "").strip()
    page = Paginator(codetables.values(ver, q=q), 100).get_page(request.GET.get("page"))
    diff: Any = None
    old, new = request.GET.get("old", ""), request.GET.get("new", "")
    if old and new:
        try:
            diff = codetables.diff(summary.table, old, new)
        except NotFound:
            messages.error(request, _("Choose two versions of this table."))
    return render(
        request,
        "exchange/codetable.html",
        {
            "t": summary,
            "ver": ver,
            "q": q,
            "page": page,
            "diff": diff,
            "old": old,
            "new": new,
            "can_manage": request.user.can(Cap.CODETABLES_MANAGE),
        },
    )


@requires(Cap.CODETABLES_MANAGE)
@require_POST
def table_import(request: AuthedRequest) -> HttpResponse:
    table = request.POST.get("table", "").strip()
    upload = request.FILES.get("file")
    back = redirect("exchange:codetables")
    if upload is None or (upload.size or 0) > MAX_UPLOAD:
        messages.error(request, _("Choose a CSV file (at most 20 MB)."))
        return back
    encoding = request.POST.get("encoding") or "utf-8-sig"
    try:
        text = upload.read().decode(encoding)
    except (UnicodeDecodeError, LookupError):
        messages.error(
            request, _("The file is not in the chosen encoding (try GBK for files from Excel).")
        )
        return back
    try:
        report = codetables.do_import_table(
            actor=request.user,
            table=table,
            version=request.POST.get("version", ""),
            content=text,
            title=request.POST.get("title", ""),
            source=request.POST.get("source", "") or upload.name or "",
            valid_from=_date(request.POST.get("valid_from", "")),
            valid_to=_date(request.POST.get("valid_to", "")),
            dry_run=bool(request.POST.get("dry_run")),
        )
    except DomainError as exc:
        messages.error(request, str(exc.message))
        for field, msgs in exc.fields.items():
            for m in msgs:
                messages.error(request, f"{field}: {m}")
        return back
    return render(
        request,
        "exchange/codetable_import.html",
        {"report": report, "display": codetables.display(report.table)},
    )


@requires(Cap.CODETABLES_MANAGE)
@require_POST
def table_validity(request: AuthedRequest, table: str, version: str) -> HttpResponse:
    try:
        codetables.do_set_validity(
            actor=request.user,
            table=table,
            version=version,
            valid_from=_date(request.POST.get("valid_from", "")),
            valid_to=_date(request.POST.get("valid_to", "")),
        )
    except NotFound:
        raise Http404() from None
    except DomainError as exc:
        for msgs in exc.fields.values():
            for m in msgs:
                messages.error(request, m)
        return redirect("exchange:codetable", table=table)
    messages.success(request, _("Validity period saved."))
    return redirect("exchange:codetable", table=table)
