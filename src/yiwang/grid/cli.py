"""``yiwang grids import <file.geojson>``: import unit grids and print the validation report.

Mounted by ``yiwang.cli.build_parser`` through ``add_subparsers(subparsers)``. The import is
``grid.actions.do_import_grids`` (the same as the API): every feature is validated, refused
features, overlaps and gaps are listed with area and location, and ``--dry-run`` writes
nothing. Exit status: 0 when nothing was refused, 1 when some features were refused, 2 on a
usage error (no such file, not JSON, unknown user, bad ``--mapping``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

MAPPING_KEYS = ("code", "name", "community")


def parse_mapping(text: str) -> dict[str, str]:
    """``code=编码,name=名称`` → ``{"code": "编码", "name": "名称"}``."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        key, sep, prop = part.partition("=")
        key, prop = key.strip(), prop.strip()
        if not sep or key not in MAPPING_KEYS or not prop:
            raise ValueError(
                f"bad mapping {part!r}: use KEY=PROPERTY with KEY one of {', '.join(MAPPING_KEYS)}"
            )
        out[key] = prop
    return out


def add_subparsers(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser("grids", help="unit grids (GeoJSON)")
    gsub = p.add_subparsers(dest="grids_command", required=True)
    imp = gsub.add_parser(
        "import",
        help="import unit grids from a GeoJSON FeatureCollection and print the report",
        description="Validate every feature (invalid or self-intersecting polygons, overlaps "
        "with each other and with stored grids, gaps) and import the valid ones; upsert by "
        "grid code, number features without a code west to east, north to south.",
    )
    imp.add_argument("file", help="a GeoJSON FeatureCollection (WGS84), UTF-8")
    imp.add_argument(
        "--mapping",
        default="",
        metavar="code=PROP,name=PROP,community=PROP",
        help="which feature properties hold the 15-digit grid code, the name and the 12-digit "
        "community code (default code=code,name=name,community=community)",
    )
    imp.add_argument(
        "--community",
        default="",
        metavar="CODE",
        help="the 12-digit community of features that name none",
    )
    imp.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    imp.add_argument(
        "--user",
        default="",
        metavar="USERNAME",
        help="import as this data or system administrator (limits the import to their "
        "territory and audits it under their name); default: the system, everywhere",
    )
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.set_defaults(func=cmd_import)
    return p


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def format_report(report: dict[str, Any]) -> str:
    head = (
        f"{report['features']} features{' (dry run: nothing written)' if report['dry_run'] else ''}"
        f": {report['created']} created, {report['updated']} updated, "
        f"{report['refused']} refused, {report['numbered']} numbered"
    )
    lines = [head]
    if not report["problems"]:
        lines.append("no problems")
    for p in report["problems"]:
        where = ""
        if p["location"]:
            where = f" at {p['location'][0]:.6f},{p['location'][1]:.6f}"
        area = f" ({p['area_m2']:.0f} m²)" if p["area_m2"] else ""
        prop = f" [{p['field']}]" if p.get("field") else ""
        lines.append(f"{p['kind']:<18} {p['message']}{prop}{area}{where}")
    return "\n".join(lines)


def cmd_import(args: argparse.Namespace, *, setup: bool = True) -> int:
    try:
        mapping = parse_mapping(args.mapping)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if not os.path.isfile(args.file):
        print(f"no such file: {args.file}", file=sys.stderr)
        return 2
    try:
        with open(args.file, encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except (ValueError, UnicodeDecodeError) as exc:
        print(f"{args.file} is not JSON (UTF-8): {exc}", file=sys.stderr)
        return 2
    if setup:
        _setup()
    from yiwang.accounts.models import User
    from yiwang.core.errors import DomainError
    from yiwang.grid import actions

    actor = None
    if args.user:
        actor = User.objects.filter(username=args.user, is_active=True).first()
        if actor is None:
            print(f"no active user {args.user!r}", file=sys.stderr)
            return 2
    try:
        report = actions.do_import_grids(
            actor=actor,
            data=data,
            mapping=actions.PropertyMapping(**mapping),
            community_code=args.community,
            dry_run=args.dry_run,
            source=f"cli:{os.path.basename(args.file)}"[:200],
        )
    except DomainError as exc:
        print(str(exc.message), file=sys.stderr)
        return 2
    out = report.as_dict()
    if args.json:
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_report(out))
    return 1 if report.refused else 0
