"""``yiwang codetable ...``: list tables, show codes, import a version, diff, set validity.

- ``yiwang codetable list [--on DATE]`` — every table, its versions and the current one.
- ``yiwang codetable show TABLE [--version V | --on DATE] [--q TEXT]`` — codes, tab-separated.
- ``yiwang codetable import TABLE FILE --version V [--valid-from D] [--title T] [--dry-run]``
  — CSV with code,name[,parent,note] (GB/T 4754: code,name,level,parent); refused rows are
  printed with their row number and reason; exit 1 when a row was refused.
- ``yiwang codetable diff TABLE OLD NEW`` — codes added, removed, renamed.
- ``yiwang codetable validity TABLE VERSION [--valid-from D] [--valid-to D]``.
- ``yiwang codetable load-shipped`` — the tables the project carries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any


def _setup() -> None:
    import os

    from django.conf import settings

    if not settings.configured:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.config.settings")
    import django

    django.setup()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from None


def _fail(exc: Exception) -> int:
    from yiwang.core.errors import DomainError

    if isinstance(exc, DomainError):
        print(str(exc.message), file=sys.stderr)
        for field, problems in exc.fields.items():
            for p in problems:
                print(f"  {field}: {p}", file=sys.stderr)
        return 1
    raise exc


def cmd_list(args: argparse.Namespace) -> int:
    _setup()
    from yiwang.core import codetables

    for t in codetables.tables(on=args.on):
        print(f"{t.table}\t{t.display}\t{t.title}\tcurrent={t.current or '-'}")
        for v in t.versions:
            period = f"[{v.valid_from or '…'}, {v.valid_to or '…'})"
            print(f"  {v.version}\t{period}\t{v.rows} codes\t{v.source}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    _setup()
    from yiwang.core import codetables

    try:
        ver = codetables.version_for(args.table, on=args.on, version=args.version)
    except Exception as exc:
        return _fail(exc)
    for v in codetables.values(ver, q=args.q):
        print(f"{v.code}\t{v.name}\t{v.parent}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    _setup()
    from yiwang.core import codetables

    try:
        report = codetables.do_import_table(
            actor=None,
            table=args.table,
            version=args.version,
            content=Path(args.file).read_text(encoding=args.encoding),
            title=args.title,
            source=args.source or Path(args.file).name,
            valid_from=args.valid_from,
            valid_to=args.valid_to,
            dry_run=args.dry_run,
        )
    except Exception as exc:
        return _fail(exc)
    print(
        json.dumps(
            {
                "table": report.table,
                "version": report.version,
                "created": report.created,
                "dry_run": report.dry_run,
                "accepted": report.accepted,
                "refused": len(report.refused),
                "closed": report.closed,
                "diff": report.diff,
            },
            ensure_ascii=False,
        )
    )
    for r in report.refused:
        print(f"row {r['row']}\t{r['code']}\t{r['reason']}", file=sys.stderr)
    return 1 if report.refused else 0


def cmd_diff(args: argparse.Namespace) -> int:
    _setup()
    from yiwang.core import codetables

    try:
        d = codetables.diff(args.table, args.old, args.new)
    except Exception as exc:
        return _fail(exc)
    for v in d.added:
        print(f"+ {v.code}\t{v.name}")
    for v in d.removed:
        print(f"- {v.code}\t{v.name}")
    for a, b in d.renamed:
        print(f"~ {a.code}\t{a.name} → {b.name}")
    print(json.dumps(d.counts()), file=sys.stderr)
    return 0


def cmd_validity(args: argparse.Namespace) -> int:
    _setup()
    from yiwang.core import codetables

    try:
        ver = codetables.do_set_validity(
            actor=None,
            table=args.table,
            version=args.version,
            valid_from=args.valid_from,
            valid_to=args.valid_to,
        )
    except Exception as exc:
        return _fail(exc)
    print(f"{ver.table} {ver.version} [{ver.valid_from or '…'}, {ver.valid_to or '…'})")
    return 0


def cmd_load_shipped(args: argparse.Namespace) -> int:
    _setup()
    from yiwang.core import codetables

    for table, n in codetables.load_shipped(actor=None).items():
        print(f"{table}\t{n} added")
    return 0


def add_subparsers(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "codetable", help="code tables (代码表): list, show, import a version, diff, validity"
    )
    sub = p.add_subparsers(dest="codetable_command", required=True)
    ls = sub.add_parser("list", help="tables, versions and the current one")
    ls.add_argument("--on", type=_date, default=None, help="the day (default today)")
    ls.set_defaults(func=cmd_list)
    sh = sub.add_parser("show", help="the codes of a version")
    sh.add_argument("table", help="e.g. gbt2261.1, GB/T 4754")
    sh.add_argument("--version", default="")
    sh.add_argument("--on", type=_date, default=None)
    sh.add_argument("--q", default="", help="code prefix or part of the name")
    sh.set_defaults(func=cmd_show)
    im = sub.add_parser("import", help="import a version from CSV (exit 1 if a row is refused)")
    im.add_argument("table")
    im.add_argument("file")
    im.add_argument("--version", required=True)
    im.add_argument("--valid-from", type=_date, default=None)
    im.add_argument("--valid-to", type=_date, default=None)
    im.add_argument("--title", default="")
    im.add_argument("--source", default="")
    im.add_argument("--encoding", default="utf-8-sig", help="e.g. gbk for files from Excel")
    im.add_argument("--dry-run", action="store_true")
    im.set_defaults(func=cmd_import)
    df = sub.add_parser("diff", help="codes added, removed and renamed between two versions")
    df.add_argument("table")
    df.add_argument("old")
    df.add_argument("new")
    df.set_defaults(func=cmd_diff)
    va = sub.add_parser("validity", help="set a version's validity period")
    va.add_argument("table")
    va.add_argument("version")
    va.add_argument("--valid-from", type=_date, default=None)
    va.add_argument("--valid-to", type=_date, default=None)
    va.set_defaults(func=cmd_validity)
    lo = sub.add_parser("load-shipped", help="load the code tables the project carries")
    lo.set_defaults(func=cmd_load_shipped)
    return p
