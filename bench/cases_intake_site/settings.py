"""The product settings, with the bench URLs (the product's plus the floor endpoint).

On PostgreSQL the product already holds its connections in a psycopg pool per process
(``YIWANG_DB_POOL_MAX``, default 20; under uvicorn every request runs in a thread of its own,
so per-thread persistent connections would pile up until the server refuses more). The bench
keeps that, and ``YIWANG_BENCH_DB_POOL=N`` sets the pool's size for the run.
"""

import os

from yiwang.config.settings import *  # noqa: F403
from yiwang.config.settings import DATABASES

ROOT_URLCONF = "bench.cases_intake_site.urls"

if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    _pool = int(os.environ.get("YIWANG_BENCH_DB_POOL", "0") or 0)
    if _pool:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 2,
            "max_size": _pool,
            "timeout": 30,
        }
