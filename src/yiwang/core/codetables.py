"""Code tables kept centrally with versions: GB/T 4754 industries (divisions live in accounts).

The shipped industry table is incomplete (see core/data/SOURCES.md); an official table in the
same CSV shape (code,name,level,parent) is imported as a new version with ``import_industry``.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.db import transaction

from yiwang.core import audit
from yiwang.core.errors import ValidationFailed
from yiwang.core.models import CodeTableVersion, IndustryCode

DATA_DIR = Path(__file__).resolve().parent / "data"
LEVELS = {"section", "division", "group", "class"}


def import_industry(
    *, actor: Any, version: str = "2017", path: Path | None = None, source: str = ""
) -> tuple[int, list[str]]:
    """Load an industry table; returns (rows created, row errors). Idempotent per version."""
    path = path or DATA_DIR / "industry" / "gbt4754-2017.csv"
    errors: list[str] = []
    rows: list[IndustryCode] = []
    with transaction.atomic():
        ver, created = CodeTableVersion.objects.get_or_create(
            table="gbt4754", version=version, defaults={"source": source or str(path.name)}
        )
        if not created:
            return 0, []
        seen: set[str] = set()
        with path.open(encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"code", "name", "level"} <= set(reader.fieldnames):
                raise ValidationFailed(
                    fields={"file": ["columns code, name, level, parent are required"]}
                )
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
                        version=ver,
                        code=code,
                        name=(r.get("name") or "").strip(),
                        level=level,
                        parent_code=(r.get("parent") or "").strip().upper(),
                    )
                )
        IndustryCode.objects.bulk_create(rows, batch_size=2000)
        ver.rows = len(rows)
        ver.save(update_fields=["rows"])
        audit.record(
            "codetable.imported",
            actor=actor,
            obj=ver,
            detail={"table": "gbt4754", "rows": len(rows), "refused": len(errors)},
        )
    return len(rows), errors


def industry(code: str, version: str | None = None) -> IndustryCode | None:
    qs = IndustryCode.objects.filter(code=code.strip().upper(), version__table="gbt4754")
    if version:
        qs = qs.filter(version__version=version)
    return qs.order_by("-version__imported_at").first()
