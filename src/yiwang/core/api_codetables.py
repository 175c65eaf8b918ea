"""Code tables API (``/api/v1/codetables``): tables and versions, values, diffs, imports.

Staff with console access read; a data administrator (``core.codetables``) imports versions
and changes validity periods. Writes are audited by ``yiwang.core.codetables``.
"""

from datetime import date, datetime
from typing import Any

from ninja import Router, Schema, Status
from ninja.pagination import paginate

from yiwang.accounts.roles import Cap
from yiwang.accounts.types import AuthedRequest
from yiwang.core import codetables
from yiwang.core.api import PageNumber, error_responses
from yiwang.core.errors import Forbidden

router = Router()
ERRORS: dict[int, Any] = error_responses(409)


def _reader(request: AuthedRequest) -> None:
    if not request.user.can(Cap.CONSOLE):
        raise Forbidden()


class VersionOut(Schema):
    version: str
    title: str
    source: str
    valid_from: date | None
    valid_to: date | None
    rows: int
    imported_at: datetime


class TableOut(Schema):
    table: str
    display: str
    title: str
    current: str
    versions: list[VersionOut]


class ValueOut(Schema):
    code: str
    name: str
    parent: str
    note: str


class DiffOut(Schema):
    table: str
    old: str
    new: str
    added: list[ValueOut]
    removed: list[ValueOut]
    renamed: list[dict[str, str]]


class RowIn(Schema):
    code: str
    name: str
    parent: str = ""
    note: str = ""
    level: str = ""  # GB/T 4754 only


class ImportIn(Schema):
    version: str
    title: str = ""
    source: str = ""
    valid_from: date | None = None
    valid_to: date | None = None
    rows: list[RowIn] | None = None
    content: str = ""  # CSV text: code,name[,parent,note] (GB/T 4754: code,name,level,parent)
    dry_run: bool = False


class ImportOut(Schema):
    table: str
    version: str
    created: bool
    dry_run: bool
    accepted: int
    refused: list[dict[str, Any]]
    closed: str
    diff: dict[str, int]


class ValidityIn(Schema):
    valid_from: date | None = None
    valid_to: date | None = None


@router.get("", response={200: list[TableOut], **ERRORS}, summary="Code tables and versions")
def list_tables(request: AuthedRequest, on: date | None = None) -> Any:
    _reader(request)
    return [
        {
            "table": t.table,
            "display": t.display,
            "title": t.title,
            "current": t.current,
            "versions": t.versions,
        }
        for t in codetables.tables(on=on)
    ]


@router.get(
    "/{table}/values",
    response={200: list[ValueOut], **ERRORS},
    summary="Codes of a version (pinned, or the one valid on a day; today by default)",
)
@paginate(PageNumber)
def list_values(
    request: AuthedRequest,
    table: str,
    version: str = "",
    on: date | None = None,
    q: str = "",
) -> Any:
    _reader(request)
    ver = codetables.version_for(table, on=on, version=version)
    return codetables.values(ver, q=q)


@router.get("/{table}/diff", response={200: DiffOut, **ERRORS}, summary="Changes between versions")
def diff(request: AuthedRequest, table: str, old: str, new: str) -> Any:
    _reader(request)
    d = codetables.diff(table, old, new)
    return {
        "table": d.table,
        "old": d.old,
        "new": d.new,
        "added": d.added,
        "removed": d.removed,
        "renamed": [{"code": a.code, "old_name": a.name, "new_name": b.name} for a, b in d.renamed],
    }


@router.post(
    "/{table}/versions",
    response={200: ImportOut, 201: ImportOut, **ERRORS},
    summary="Import a version (rows or CSV); bad rows refused with reasons, good rows kept",
)
def import_version(request: AuthedRequest, table: str, payload: ImportIn) -> Any:
    report = codetables.do_import_table(
        actor=request.user,
        table=table,
        version=payload.version,
        rows=[r.dict() for r in payload.rows] if payload.rows is not None else None,
        content=payload.content,
        title=payload.title,
        source=payload.source,
        valid_from=payload.valid_from,
        valid_to=payload.valid_to,
        dry_run=payload.dry_run,
    )
    return Status(201 if report.created else 200, report)


@router.post(
    "/{table}/versions/{version}/validity",
    response={200: VersionOut, **ERRORS},
    summary="Change a version's validity period (e.g. retire it)",
)
def set_validity(request: AuthedRequest, table: str, version: str, payload: ValidityIn) -> Any:
    return codetables.do_set_validity(
        actor=request.user,
        table=table,
        version=version,
        valid_from=payload.valid_from,
        valid_to=payload.valid_to,
    )
