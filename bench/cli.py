"""``python -m bench``: list the benchmarks, or run one and report its figures."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from bench import env
from bench.registry import BENCHMARKS

_NOT_BENCHMARKS = {"__main__", "cli", "env", "registry"}


def _load() -> None:
    """Import every module of the package: each registers its benchmarks (no Django at
    import time). A module that cannot be imported here is reported, not fatal."""
    import importlib
    import pkgutil

    import bench

    for mod in pkgutil.iter_modules(bench.__path__):
        if mod.name in _NOT_BENCHMARKS:
            continue
        try:
            importlib.import_module(f"bench.{mod.name}")
        except ImportError as exc:
            env.log(f"skipping bench.{mod.name}: {exc}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run one Yiwang benchmark against a fresh database.",
    )
    p.add_argument("name", nargs="?", help="the benchmark to run (see --list)")
    p.add_argument("--list", action="store_true", help="name the benchmarks and exit")
    p.add_argument("--size", type=int, help="number of records (default: per benchmark)")
    p.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    p.add_argument(
        "--batch", type=int, default=100, help="records per append_many call (audit-append)"
    )
    p.add_argument(
        "--build-batch",
        type=int,
        default=5000,
        help="records per append_many call when building the chain (audit-verify)",
    )
    p.add_argument("--repeat", type=int, default=3, help="timed repetitions where repeatable")
    p.add_argument(
        "--pg-server",
        default=os.environ.get("YIWANG_BENCH_PG_SERVER", env.DEFAULT_PG_SERVER),
        help="PostgreSQL server URL without a database (env YIWANG_BENCH_PG_SERVER)",
    )
    p.add_argument(
        "--pg-db",
        default=env.DEFAULT_PG_DB,
        help="scratch database, DROPPED and recreated (default %(default)s)",
    )
    p.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return p


def _human(result: dict[str, Any], indent: str = "") -> str:
    lines = []
    for key, value in result.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines.append(_human(value, indent + "  "))
        elif isinstance(value, float):
            lines.append(f"{indent}{key}: {value:,.3f}")
        else:
            lines.append(f"{indent}{key}: {value}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    _load()
    args = _parser().parse_args(argv)
    if args.list:
        for b in BENCHMARKS.values():
            print(f"{b.name:16} {b.summary} (default --size {b.default_size})")
        return 0
    if not args.name:
        _parser().print_usage(sys.stderr)
        print("name a benchmark, or --list", file=sys.stderr)
        return 2
    bench = BENCHMARKS.get(args.name)
    if bench is None:
        print(f"unknown benchmark {args.name!r}; try --list", file=sys.stderr)
        return 2
    if args.size is None:
        args.size = bench.default_size
    if args.size < 1 or args.batch < 1 or args.build_batch < 1 or args.repeat < 1:
        print("--size, --batch, --build-batch and --repeat must be positive", file=sys.stderr)
        return 2
    started = time.time()
    with env.fresh_database(
        args.database,
        pg_server=args.pg_server,
        pg_db=args.pg_db,
        keep=args.keep,
        migrate=bench.database,
    ) as db:
        machine = env.machine_info()
        figures = bench.run(args)
        if hasattr(os, "getloadavg"):
            machine["loadavg_at_end"] = list(os.getloadavg())
        report: dict[str, Any] = {
            "benchmark": bench.name,
            "size": args.size,
            "database": args.database if bench.database else None,
            "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "wall_seconds": round(time.time() - started, 3),
            "results": figures,
            "machine": machine,
            "database_info": db.info,
        }
    if args.json:
        json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(_human(report))
    return 0
