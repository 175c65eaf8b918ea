"""A fresh database and Django for one benchmark run, and a description of the machine.

Django reads its settings once per process, so the database is chosen here, before
``django.setup()``: a temporary ``YIWANG_DATA_DIR`` (SQLite) or a scratch PostgreSQL database
that is dropped and recreated (``DATABASE_URL``).
"""

from __future__ import annotations

import os
import platform
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PG_SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_PG_DB = "yiwang_bench"
REPO = Path(__file__).resolve().parent.parent


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


@dataclass
class Database:
    kind: str  # "sqlite" or "postgres"
    data_dir: Path
    url: str = ""
    info: dict[str, Any] = field(default_factory=dict)


def _pg_url(server: str, dbname: str) -> str:
    parts = urlsplit(server)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, ""))


def _recreate_pg_database(server: str, dbname: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(_pg_url(server, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def _drop_pg_database(server: str, dbname: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(_pg_url(server, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


@contextmanager
def fresh_database(
    kind: str, *, pg_server: str, pg_db: str, keep: bool = False, migrate: bool = True
) -> Iterator[Database]:
    """Point Django at a new, migrated database; remove it afterwards unless ``keep``.
    With ``migrate=False`` only Django is set up (a temporary data directory, no database)."""
    data_dir = Path(tempfile.mkdtemp(prefix="yiwang-bench-"))
    db = Database(kind=kind, data_dir=data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "yiwang.config.settings"
    os.environ["YIWANG_ENV"] = "development"
    os.environ["YIWANG_DEBUG"] = "0"  # DEBUG would keep every query in memory
    os.environ["YIWANG_LOG_LEVEL"] = "WARNING"
    os.environ["YIWANG_DATA_DIR"] = str(data_dir)
    if kind == "postgres" and migrate:
        db.url = _pg_url(pg_server, pg_db)
        log(f"recreating PostgreSQL database {pg_db!r}")
        _recreate_pg_database(pg_server, pg_db)
    os.environ["DATABASE_URL"] = db.url
    try:
        import django
        from django.core.management import call_command

        django.setup()
        if migrate:
            log("migrating")
            t0 = time.perf_counter()
            call_command("migrate", verbosity=0, interactive=False, stdout=sys.stderr)
            log(f"migrated in {time.perf_counter() - t0:.1f}s")
            db.info = database_info()
        yield db
    finally:
        from django.db import connections

        connections.close_all()
        if keep:
            log(f"kept the database ({db.url or data_dir})")
        else:
            if db.url:
                _drop_pg_database(pg_server, pg_db)
            shutil.rmtree(data_dir, ignore_errors=True)


def database_info() -> dict[str, Any]:
    from django.db import connection

    info: dict[str, Any] = {"vendor": connection.vendor}
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            import sqlite3

            info["sqlite_version"] = sqlite3.sqlite_version
            for pragma in ("journal_mode", "synchronous"):
                cur.execute(f"PRAGMA {pragma}")
                info[pragma] = cur.fetchone()[0]
            info["synchronous"] = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(
                info["synchronous"], info["synchronous"]
            )
        else:
            for setting in ("server_version", "synchronous_commit", "fsync", "shared_buffers"):
                cur.execute(f"SHOW {setting}")
                info[setting] = cur.fetchone()[0]
            import psycopg

            info["psycopg_version"] = psycopg.__version__
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip()


def machine_info() -> dict[str, Any]:
    import django

    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "django": django.get_version(),
        "openssl": ssl.OPENSSL_VERSION,
        "loadavg_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "git": _git_commit(),
    }
