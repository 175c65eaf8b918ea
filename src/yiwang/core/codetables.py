"""Code tables kept centrally, with versions and validity periods (ADR 0018).

Every code table is named by a canonical id (``gbt4754``, ``gbt2260``, ``gbt2261.1`` …; what
people write — ``GB/T 4754-2017``, ``gbt2261.1@2003`` — is parsed by :func:`parse_ref`). Each
release is a :class:`CodeTableVersion` valid over ``[valid_from, valid_to)`` (open ends allowed;
``valid_to`` is the first day it no longer applies). Three storages answer the same way:

- GB/T 4754 industries in :class:`IndustryCode` (with levels and parents);
- GB/T 2260 divisions in ``accounts.Division`` (the release is the version);
- every other table in :class:`CodeValue` (code, name, optional parent and note).

Reads: :func:`members` (the set of codes of the version valid on a day, cached per version),
:func:`tables`, :func:`values`, :func:`diff`. Writes (audited): :func:`do_import_table`
(a new version from rows or CSV text; bad rows are reported and the good ones kept; the
previous open-ended version is closed at the new one's start), :func:`do_set_validity`,
:func:`load_shipped` (the tables the project carries, see ``data/SOURCES.md``), and
:func:`import_industry` for the industry table's own shape.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.core import audit
from yiwang.core.errors import Conflict, Errors, NotFound, ValidationFailed
from yiwang.core.models import CodeTableVersion, CodeValue, IndustryCode

DATA_DIR = Path(__file__).resolve().parent / "data"
LEVELS = {"section", "division", "group", "class"}
INDUSTRY = "gbt4754"
DIVISIONS = "gbt2260"
_TABLE_ID = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
_CODE = re.compile(r"^[0-9A-Za-z._-]{1,32}$")


@dataclass(frozen=True)
class Shipped:
    table: str
    version: str
    title: str
    file: str
    source: str


# The tables the project carries (typed from the public standards; data/SOURCES.md says how
# complete each is). Deployments import official editions as new versions.
SHIPPED: tuple[Shipped, ...] = (
    Shipped("gbt2261.1", "2003", "人的性别代码", "gbt2261.1-2003.csv", "GB/T 2261.1-2003"),
    Shipped("gbt2261.2", "2003", "婚姻状况代码", "gbt2261.2-2003.csv", "GB/T 2261.2-2003"),
    Shipped(
        "gbt3304",
        "1991",
        "中国各民族名称的罗马字母拼写法和代码",
        "gbt3304-1991.csv",
        "GB/T 3304-1991",
    ),
    Shipped(
        "gb32100-org",
        "2015",
        "统一社会信用代码 登记管理部门和机构类别代码",
        "gb32100-org.csv",
        "GB 32100-2015 附录",
    ),
)
TITLES = {
    INDUSTRY: "国民经济行业分类",
    DIVISIONS: "中华人民共和国行政区划代码",
    **{s.table: s.title for s in SHIPPED},
}


# ---------------------------------------------------------------- names


def canonical(table: str) -> str:
    """``GB/T 4754`` → ``gbt4754``; ``GB 32100-org`` → ``gb32100-org``."""
    return re.sub(r"[\s/]+", "", table or "").lower()


def parse_ref(ref: str) -> tuple[str, str]:
    """A table reference → ``(table id, pinned version or "")``.

    ``gbt2261.1@2003`` and ``GB/T 4754-2017`` pin a version; ``GB/T 4754`` does not.
    """
    ref = (ref or "").strip()
    if "@" in ref:
        table, _sep, version = ref.partition("@")
        return canonical(table), version.strip()
    m = re.match(r"^(.*?)-((?:19|20)\d\d)$", ref.strip())
    if m:
        return canonical(m.group(1)), m.group(2)
    return canonical(ref), ""


def display(table: str) -> str:
    """``gbt4754`` → ``GB/T 4754`` (for people)."""
    m = re.match(r"^(gb)(t?)(\d.*)$", table)
    if not m:
        return table
    return f"GB{'/T' if m.group(2) else ''} {m.group(3)}"


def known_tables() -> set[str]:
    """Every table id the platform knows: imported ones and the ones it ships."""
    have = set(CodeTableVersion.objects.values_list("table", flat=True).distinct())
    return have | {INDUSTRY, DIVISIONS} | {s.table for s in SHIPPED}


# ---------------------------------------------------------------- reads


def _valid_on(day: dt.date) -> Q:
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=day)) & (
        Q(valid_to__isnull=True) | Q(valid_to__gt=day)
    )


def version_for(table: str, *, on: dt.date | None = None, version: str = "") -> CodeTableVersion:
    """The pinned version, or the one valid on ``on`` (today): the latest-starting of those
    valid that day. ``NotFound`` names the table and the day."""
    table = canonical(table)
    qs = CodeTableVersion.objects.filter(table=table)
    if version:
        found = qs.filter(version=version).first()
        if found is None:
            raise NotFound(
                _("Code table %(table)s has no version %(version)s.")
                % {"table": display(table), "version": version}
            )
        return found
    day = on or timezone.localdate()
    found = qs.filter(_valid_on(day)).order_by("-valid_from", "-imported_at", "-pk").first()
    if found is None:
        raise NotFound(
            _("Code table %(table)s has no version valid on %(day)s.")
            % {"table": display(table), "day": day.isoformat()}
        )
    return found


_MEMBERS: dict[tuple[int, str], frozenset[str]] = {}
_LOCK = threading.Lock()


def _stamp(ver: CodeTableVersion) -> str:
    return f"{ver.imported_at.isoformat()}:{ver.rows}"


def codes_of(ver: CodeTableVersion) -> frozenset[str]:
    """Every code of one version (cached per version; a re-import changes the stamp)."""
    key = (ver.pk, _stamp(ver))
    hit = _MEMBERS.get(key)
    if hit is not None:
        return hit
    if ver.table == INDUSTRY:
        codes = frozenset(IndustryCode.objects.filter(version=ver).values_list("code", flat=True))
    elif ver.table == DIVISIONS:
        from yiwang.accounts.models import Division

        codes = frozenset(
            Division.objects.filter(release=ver.version).values_list("code", flat=True)
        )
    else:
        codes = frozenset(CodeValue.objects.filter(version=ver).values_list("code", flat=True))
    with _LOCK:
        if len(_MEMBERS) > 64:
            _MEMBERS.clear()
        _MEMBERS[key] = codes
    return codes


def members(ref: str, *, on: dt.date | None = None) -> tuple[CodeTableVersion, frozenset[str]]:
    """The version a reference means on ``on`` and its codes (``NotFound`` if none)."""
    table, pinned = parse_ref(ref)
    ver = version_for(table, on=on, version=pinned)
    return ver, codes_of(ver)


@dataclass
class TableSummary:
    table: str
    title: str
    display: str
    versions: list[CodeTableVersion] = field(default_factory=list)
    current: str = ""


def tables(*, on: dt.date | None = None) -> list[TableSummary]:
    """Every table with its versions (newest first) and the one valid on ``on``."""
    day = on or timezone.localdate()
    out: dict[str, TableSummary] = {}
    for ver in CodeTableVersion.objects.order_by("table", "-valid_from", "-imported_at"):
        t = out.setdefault(
            ver.table,
            TableSummary(ver.table, ver.title or TITLES.get(ver.table, ""), display(ver.table)),
        )
        t.versions.append(ver)
        valid = (ver.valid_from is None or ver.valid_from <= day) and (
            ver.valid_to is None or ver.valid_to > day
        )
        if valid and not t.current:
            t.current = ver.version
        if ver.title and not t.title:
            t.title = ver.title
    return list(out.values())


@dataclass(frozen=True)
class Value:
    code: str
    name: str
    parent: str
    note: str = ""


def values(ver: CodeTableVersion, *, q: str = "") -> list[Value]:
    """The codes of one version in code order, filtered by code prefix or name."""
    q = q.strip()
    if ver.table == INDUSTRY:
        qs: Any = IndustryCode.objects.filter(version=ver)
        if q:
            qs = qs.filter(Q(code__istartswith=q) | Q(name__icontains=q))
        return [
            Value(c, n, p, lvl)
            for c, n, p, lvl in qs.order_by("code").values_list(
                "code", "name", "parent_code", "level"
            )
        ]
    if ver.table == DIVISIONS:
        from yiwang.accounts.models import Division

        qs = Division.objects.filter(release=ver.version)
        if q:
            qs = qs.filter(Q(code__startswith=q) | Q(name__icontains=q))
        return [
            Value(c, n, p or "", lvl)
            for c, n, p, lvl in qs.order_by("code").values_list(
                "code", "name", "parent__code", "level"
            )
        ]
    qs = CodeValue.objects.filter(version=ver)
    if q:
        qs = qs.filter(Q(code__istartswith=q) | Q(name__icontains=q))
    return [
        Value(c, n, p, note)
        for c, n, p, note in qs.order_by("code").values_list("code", "name", "parent_code", "note")
    ]


@dataclass
class Diff:
    table: str
    old: str
    new: str
    added: list[Value]
    removed: list[Value]
    renamed: list[tuple[Value, Value]]

    def counts(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "renamed": len(self.renamed),
        }


def _diff(table: str, old: str, new: str, a: list[Value], b: list[Value]) -> Diff:
    before = {v.code: v for v in a}
    after = {v.code: v for v in b}
    return Diff(
        table=table,
        old=old,
        new=new,
        added=[after[c] for c in sorted(set(after) - set(before))],
        removed=[before[c] for c in sorted(set(before) - set(after))],
        renamed=[
            (before[c], after[c])
            for c in sorted(set(before) & set(after))
            if before[c].name != after[c].name
        ],
    )


def diff(table: str, old: str, new: str) -> Diff:
    """What changed from version ``old`` to ``new``: codes added, removed and renamed."""
    table = canonical(table)
    a = version_for(table, version=old)
    b = version_for(table, version=new)
    return _diff(table, old, new, values(a), values(b))


# ---------------------------------------------------------------- writes


@dataclass
class ImportReport:
    table: str
    version: str
    created: bool
    dry_run: bool
    accepted: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)
    closed: str = ""  # the previous version whose validity now ends
    diff: dict[str, int] = field(default_factory=dict)


def _require_manager(actor: Any) -> None:
    if actor is None:
        return  # the system (seeding, shipped tables, the management command)
    from yiwang.accounts.roles import Cap

    if not actor.can(Cap.CODETABLES_MANAGE):
        from yiwang.core.errors import Forbidden

        raise Forbidden(_("Only a data administrator manages code tables."))


def read_csv_rows(text: str) -> list[dict[str, str]]:
    """CSV text (UTF-8, a BOM tolerated) with columns code, name and optionally parent, note."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    cols = {c.strip().lower() for c in reader.fieldnames or []}
    if not {"code", "name"} <= cols:
        raise ValidationFailed(fields={"content": [_("The file needs the columns code and name.")]})
    return [{(k or "").strip().lower(): (v or "") for k, v in r.items()} for r in reader]


def _check_rows(
    rows: Iterable[Mapping[str, Any]],
) -> tuple[list[Value], list[dict[str, Any]]]:
    good: list[Value] = []
    refused: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, r in enumerate(rows, start=2):  # row 1 is the header of a file
        code = str(r.get("code") or "").strip()
        name = str(r.get("name") or "").strip()
        parent = str(r.get("parent") or r.get("parent_code") or "").strip()
        note = str(r.get("note") or "").strip()[:200]
        problem = ""
        if not _CODE.match(code):
            problem = _("The code is empty or has characters other than letters and digits.")
        elif not name:
            problem = _("The name is empty.")
        elif len(name) > 200:
            problem = _("The name is longer than 200 characters.")
        elif code in seen:
            problem = _("The code appears twice in the file.")
        if problem:
            refused.append({"row": n, "code": code, "reason": problem})
            continue
        seen.add(code)
        good.append(Value(code, name, parent, note))
    codes = {v.code for v in good}
    kept: list[Value] = []
    for n, v in enumerate(good):
        if v.parent and v.parent not in codes:
            refused.append(
                {
                    "row": _row_of(rows, v.code, n),
                    "code": v.code,
                    "reason": _("The parent code %s is not in the table.") % v.parent,
                }
            )
            continue
        kept.append(v)
    refused.sort(key=lambda x: x["row"])
    return kept, refused


def _row_of(rows: Iterable[Mapping[str, Any]], code: str, fallback: int) -> int:
    for n, r in enumerate(rows, start=2):
        if str(r.get("code") or "").strip() == code:
            return n
    return fallback + 2


def do_import_table(
    *,
    actor: Any,
    table: str,
    version: str,
    rows: list[Mapping[str, Any]] | None = None,
    content: str = "",
    title: str = "",
    source: str = "",
    valid_from: dt.date | None = None,
    valid_to: dt.date | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """A new version of a generic code table from ``rows`` (dicts with code, name, parent,
    note) or CSV ``content``. Bad rows are refused with their row number and reason, good
    rows kept. The version open at ``valid_from`` (an earlier start and no end) is closed on
    that day. Importing the same version again with the same codes and names changes
    nothing; with different ones it is a conflict (make a new version instead)."""
    _require_manager(actor)
    table = canonical(table)
    version = (version or "").strip()
    errors = Errors()
    if not _TABLE_ID.match(table):
        errors.add("table", _("Use a table id like gbt2261.1 (letters, digits, dot, dash)."))
    if table == DIVISIONS:
        errors.add(
            "table",
            _("Division codes are imported with their hierarchy: yiwang manage import_codetables."),
        )
    if not version or len(version) > 32:
        errors.add("version", _("Give the version (at most 32 characters)."))
    if valid_from and valid_to and valid_to <= valid_from:
        errors.add("valid_to", _("The end must be after the start."))
    if rows is None:
        if not content.strip():
            errors.add("content", _("Send rows or a CSV file."))
        errors.raise_if_any()
        rows = list(read_csv_rows(content))
    errors.raise_if_any()
    if not rows:
        raise ValidationFailed(fields={"rows": [_("The table has no rows.")]})
    if table == INDUSTRY:
        return _import_industry_rows(
            actor, version, rows, title, source, valid_from, valid_to, dry_run
        )
    good, refused = _check_rows(rows)
    existing = CodeTableVersion.objects.filter(table=table, version=version).first()
    if existing is not None:
        same = [(v.code, v.name) for v in values(existing)] == sorted(
            (v.code, v.name) for v in good
        )
        if same:
            return ImportReport(table, version, False, dry_run, len(good), refused)
        raise Conflict(
            _("Version %(version)s of %(table)s exists with other codes; import a new version.")
            % {"version": version, "table": display(table)}
        )
    report = ImportReport(table, version, True, dry_run, len(good), refused)
    previous = _open_before(table, valid_from)
    if previous is not None:
        report.diff = _diff(table, previous.version, version, values(previous), good).counts()
        report.closed = previous.version
    if dry_run or not good:
        report.created = False
        return report
    with transaction.atomic():
        ver = CodeTableVersion.objects.create(
            table=table,
            version=version,
            title=(title or TITLES.get(table, ""))[:100],
            source=source[:300],
            valid_from=valid_from,
            valid_to=valid_to,
            rows=len(good),
        )
        CodeValue.objects.bulk_create(
            [
                CodeValue(version=ver, code=v.code, name=v.name, parent_code=v.parent, note=v.note)
                for v in good
            ],
            batch_size=2000,
        )
        _close(previous, valid_from)
        audit.record(
            "codetable.imported",
            actor=actor,
            obj=ver,
            detail={
                "table": table,
                "version": version,
                "rows": len(good),
                "refused": len(refused),
                "closed": report.closed,
                **report.diff,
            },
        )
    return report


def _open_before(table: str, valid_from: dt.date | None) -> CodeTableVersion | None:
    """The open-ended version a new one starting on ``valid_from`` supersedes."""
    qs = CodeTableVersion.objects.filter(table=table, valid_to__isnull=True)
    if valid_from is not None:
        qs = qs.filter(Q(valid_from__isnull=True) | Q(valid_from__lt=valid_from))
    return qs.order_by("-valid_from", "-imported_at").first()


def _close(previous: CodeTableVersion | None, valid_from: dt.date | None) -> None:
    if previous is not None and valid_from is not None:
        previous.valid_to = valid_from
        previous.save(update_fields=["valid_to"])


def _import_industry_rows(
    actor: Any,
    version: str,
    rows: list[Mapping[str, Any]],
    title: str,
    source: str,
    valid_from: dt.date | None,
    valid_to: dt.date | None,
    dry_run: bool,
) -> ImportReport:
    text = io.StringIO()
    w = csv.writer(text)
    w.writerow(["code", "name", "level", "parent"])
    for r in rows:
        w.writerow([r.get("code", ""), r.get("name", ""), r.get("level", ""), r.get("parent", "")])
    report = ImportReport(INDUSTRY, version, False, dry_run)
    previous = _open_before(INDUSTRY, valid_from)
    if dry_run:
        created, errors = _industry_rows(text.getvalue().splitlines())
        report.accepted = len(created)
        report.refused = [{"row": 0, "code": "", "reason": e} for e in errors]
        return report
    with transaction.atomic():
        n, errors = import_industry(
            actor=actor, version=version, text=text.getvalue(), source=source
        )
        ver = CodeTableVersion.objects.get(table=INDUSTRY, version=version)
        if n:
            ver.title = title or TITLES[INDUSTRY]
            ver.valid_from, ver.valid_to = valid_from, valid_to
            ver.save(update_fields=["title", "valid_from", "valid_to"])
            if previous is not None and previous.pk != ver.pk:
                _close(previous, valid_from)
                report.closed = previous.version
    report.created = bool(n)
    report.accepted = n
    report.refused = [{"row": 0, "code": "", "reason": e} for e in errors]
    return report


def do_set_validity(
    *,
    actor: Any,
    table: str,
    version: str,
    valid_from: dt.date | None,
    valid_to: dt.date | None,
) -> CodeTableVersion:
    """Change the validity period of a version (e.g. retire it on a day)."""
    _require_manager(actor)
    ver = version_for(table, version=version)
    if valid_from and valid_to and valid_to <= valid_from:
        raise ValidationFailed(fields={"valid_to": [_("The end must be after the start.")]})
    with transaction.atomic():
        before = {
            "valid_from": str(ver.valid_from or ""),
            "valid_to": str(ver.valid_to or ""),
        }
        ver.valid_from, ver.valid_to = valid_from, valid_to
        ver.save(update_fields=["valid_from", "valid_to"])
        audit.record(
            "codetable.validity_changed",
            actor=actor,
            obj=ver,
            detail={
                "before": before,
                "after": {"valid_from": str(valid_from or ""), "valid_to": str(valid_to or "")},
            },
        )
    return ver


def load_shipped(*, actor: Any = None) -> dict[str, int]:
    """Load the tables the project carries (idempotent): ``{table: rows created}``."""
    out: dict[str, int] = {}
    for s in SHIPPED:
        if CodeTableVersion.objects.filter(table=s.table, version=s.version).exists():
            out[s.table] = 0
            continue
        text = (DATA_DIR / "codetables" / s.file).read_text(encoding="utf-8")
        report = do_import_table(
            actor=actor,
            table=s.table,
            version=s.version,
            content=text,
            title=s.title,
            source=s.source,
        )
        out[s.table] = report.accepted if report.created else 0
    return out


# ---------------------------------------------------------------- GB/T 4754


def _industry_rows(lines: Iterable[str]) -> tuple[list[IndustryCode], list[str]]:
    errors: list[str] = []
    rows: list[IndustryCode] = []
    reader = csv.DictReader(lines)
    if not reader.fieldnames or not {"code", "name", "level"} <= set(reader.fieldnames):
        raise ValidationFailed(fields={"file": ["columns code, name, level, parent are required"]})
    seen: set[str] = set()
    for n, r in enumerate(reader, start=2):
        code = (r.get("code") or "").strip().upper()
        level = (r.get("level") or "").strip()
        if (
            not code
            or not code[0].isalpha()
            or not (code[1:] == "" or code[1:].isdigit())
            or len(code) > 5
        ):
            errors.append(f"row {n}: bad code {code!r}")
            continue
        if level not in LEVELS:
            errors.append(f"row {n}: bad level {level!r}")
            continue
        if code in seen:
            errors.append(f"row {n}: duplicate code {code}")
            continue
        seen.add(code)
        rows.append(
            IndustryCode(
                code=code,
                name=(r.get("name") or "").strip(),
                level=level,
                parent_code=(r.get("parent") or "").strip().upper(),
            )
        )
    return rows, errors


def import_industry(
    *,
    actor: Any,
    version: str = "2017",
    path: Path | None = None,
    text: str | None = None,
    source: str = "",
) -> tuple[int, list[str]]:
    """Load an industry table (columns code, name, level, parent); returns (rows created,
    row errors). Idempotent per version."""
    path = path or DATA_DIR / "industry" / "gbt4754-2017.csv"
    with transaction.atomic():
        ver, created = CodeTableVersion.objects.get_or_create(
            table=INDUSTRY,
            version=version,
            defaults={
                "source": source or (str(path.name) if text is None else ""),
                "title": TITLES[INDUSTRY],
            },
        )
        if not created:
            return 0, []
        if text is None:
            with path.open(encoding="utf-8-sig") as fh:
                rows, errors = _industry_rows(fh)
        else:
            rows, errors = _industry_rows(text.lstrip("\ufeff").splitlines())
        for r in rows:
            r.version = ver
        IndustryCode.objects.bulk_create(rows, batch_size=2000)
        ver.rows = len(rows)
        ver.save(update_fields=["rows"])
        audit.record(
            "codetable.imported",
            actor=actor,
            obj=ver,
            detail={"table": INDUSTRY, "rows": len(rows), "refused": len(errors)},
        )
    return len(rows), errors


def industry(code: str, version: str | None = None) -> IndustryCode | None:
    qs = IndustryCode.objects.filter(code=code.strip().upper(), version__table=INDUSTRY)
    if version:
        qs = qs.filter(version__version=version)
    return qs.order_by("-version__imported_at").first()
