from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from yiwang.accounts.actions import do_import_divisions
from yiwang.core.codetables import import_industry, load_shipped


class Command(BaseCommand):
    help = (
        "Import the GB/T 2260 division and GB/T 4754 industry code tables and the other code "
        "tables the project ships (idempotent per version)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--divisions-release", default="2022")
        parser.add_argument("--province", action="append", help="2-digit province code(s) to load")
        parser.add_argument("--no-streets", action="store_true")
        parser.add_argument("--industry-version", default="2017")
        parser.add_argument(
            "--industry-file", type=Path, help="official table: code,name,level,parent"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        n = do_import_divisions(
            actor=None,
            release=opts["divisions_release"],
            provinces=opts["province"],
            include_streets=not opts["no_streets"],
        )
        self.stdout.write(f"divisions: {n} added")
        rows, errors = import_industry(
            actor=None, version=opts["industry_version"], path=opts["industry_file"]
        )
        self.stdout.write(f"industry codes: {rows} added, {len(errors)} refused")
        for e in errors[:50]:
            self.stderr.write(e)
        for table, n in load_shipped(actor=None).items():
            self.stdout.write(f"{table}: {n} added")
