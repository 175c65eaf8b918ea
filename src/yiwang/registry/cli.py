"""``yiwang import <type> <file>``: bulk import with a progress bar on stderr.

Mounted by ``yiwang.cli.build_parser`` through ``add_subparsers(subparsers)``; ``main(argv)``
runs it stand-alone (``python -m yiwang.registry.cli person people.csv``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, TextIO

TYPES_HELP = "person | place | thing | organisation (also: people, places, things, organisations)"


class ProgressBar:
    """A one-line progress bar for a terminal (plain periodic lines when not a terminal)."""

    def __init__(self, stream: TextIO | None = None, width: int = 30) -> None:
        # sys.stderr looked up now, not at import (a test harness may have swapped it since)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self.last = 0.0
        self.shown_done = -1

    def __call__(self, p: Any) -> None:
        now = time.monotonic()
        done = p.rows >= p.estimated > 0
        if done and self.shown_done == p.rows:
            return
        if not done and now - self.last < (0.2 if self.tty else 5.0):
            return
        if done:
            self.shown_done = p.rows
        self.last = now
        total = max(p.estimated, p.rows, 1)
        frac = min(p.rows / total, 1.0)
        filled = int(frac * self.width)
        rate = p.rows / p.elapsed if p.elapsed else 0.0
        c = p.counts
        line = (
            f"[{'#' * filled}{'.' * (self.width - filled)}] {frac * 100:5.1f}% "
            f"{p.rows:,}/{total:,} rows  {rate:,.0f} rows/s  "
            f"+{c['accepted']:,} ~{c['updated']:,} ={c['unchanged']:,} x{c['refused']:,}"
        )
        if self.tty:
            self.stream.write("\r" + line)
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("type", help=TYPES_HELP)
    p.add_argument("file", help="a .csv or .xlsx file")
    p.add_argument(
        "--encoding",
        default="",
        help="CSV encoding: utf-8, gbk (read as gb18030), gb18030, utf-16 … (default: detect)",
    )
    p.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    p.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help="map a file column to a field, e.g. --map 身份证号=id_number (repeatable)",
    )
    p.add_argument(
        "--report",
        default="",
        metavar="PATH",
        help="where to write the report CSV (default $YIWANG_DATA_DIR/imports/<job>-report.csv)",
    )
    p.add_argument("--user", default="", help="import as this user (a data or system admin)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=0,
        help="rows per transaction (default 20000 for people, 5000 for the other types)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes that clean and encrypt rows (people; default: one per CPU, max 4; 0: none)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--template", action="store_true", help="write the template to FILE and exit")


def add_subparsers(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "import", help="bulk import people, places, things or organisations from CSV/XLSX"
    )
    add_arguments(p)
    p.set_defaults(func=cmd_import)
    return p


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.config.settings")
    import django

    django.setup()


def cmd_import(args: argparse.Namespace, *, setup: bool = True) -> int:
    if setup:
        _setup()
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
    from django.conf import settings
    from django.utils import translation

    from yiwang.core.errors import DomainError
    from yiwang.registry.importing import jobs, schema

    translation.activate(os.environ.get("YIWANG_CLI_LANGUAGE", settings.LANGUAGE_CODE))
    entity = schema.resolve_type(args.type)
    if entity is None:
        print(f"unknown type {args.type!r}: use {TYPES_HELP}", file=sys.stderr)
        return 2
    if args.template:
        data = (
            schema.template_xlsx(entity)
            if args.file.lower().endswith(".xlsx")
            else schema.template_csv(entity)
        )
        with open(args.file, "wb") as fh:
            fh.write(data)
        print(f"template for {entity} written to {args.file}")
        return 0
    if not os.path.isfile(args.file):
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    try:
        mapping = schema.parse_mapping(args.map)
    except schema.HeaderError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    actor = None
    if args.user:
        from yiwang.accounts.models import User

        actor = User.objects.filter(username=args.user).first()
        if actor is None or not jobs.may_import(actor):
            print(f"{args.user!r} is not a user who may import", file=sys.stderr)
            return 2
    try:
        job = jobs.do_create_import_job(
            actor=actor,
            entity_type=entity,
            file_name=os.path.basename(args.file),
            file_path=os.path.abspath(args.file),
            encoding=args.encoding,
            mapping=mapping,
            dry_run=args.dry_run,
        )
    except DomainError as exc:
        msgs = [m for ms in exc.fields.values() for m in ms] or [str(exc.message)]
        print("; ".join(msgs), file=sys.stderr)
        return 2
    bar = None if args.no_progress else ProgressBar()
    try:
        result = jobs.do_run_import_job(
            job_id=job.pk,
            batch_size=max(args.batch_size, 0),
            on_progress=bar,
            report_path=args.report or None,
            workers=args.workers,
        )
    finally:
        if bar is not None:
            bar.close()
    job.refresh_from_db()
    if result is None:
        print(f"import {job.pk} failed: {job.error}", file=sys.stderr)
        return 1
    c = result.counts
    print(
        f"import {job.pk} ({entity}{', dry run' if args.dry_run else ''}): {result.rows:,} rows "
        f"in {result.seconds:.1f}s ({result.rows_per_second:,.0f} rows/s): "
        f"{c['accepted']:,} accepted, {c['updated']:,} updated, "
        f"{c['unchanged']:,} unchanged, {c['refused']:,} refused"
    )
    if result.no_grid:
        print(
            f"warning: {result.no_grid:,} stored row(s) have no location and are in no grid "
            "(no area lists them); see the report (field grid)"
        )
    if result.skipped:
        print("the template's example row was left unchanged and skipped")
    if result.encoding_detected:
        print(f"encoding: {result.encoding} (detected)")
    if result.ignored_columns:
        print("ignored columns: " + ", ".join(result.ignored_columns))
    if result.failed_batches:
        print(f"{result.failed_batches} batch(es) failed in the database; see the report")
    print(f"report: {result.report_path}")
    return 0


def main(argv: list[str] | None = None, *, setup: bool = True) -> int:
    p = argparse.ArgumentParser(prog="yiwang import", description="bulk import from CSV/XLSX")
    add_arguments(p)
    return cmd_import(p.parse_args(argv), setup=setup)


if __name__ == "__main__":
    sys.exit(main())
