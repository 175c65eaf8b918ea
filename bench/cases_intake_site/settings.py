"""The product settings, with the bench URLs (the product's plus the floor endpoint).

One change besides the URLs: on PostgreSQL the product keeps connections for 60 s
(``conn_max_age=60``). Under uvicorn every request runs in a thread of its own, so persistent
connections are never reused and pile up until the server refuses more (50 clients exhausted
``max_connections`` = 100 here); Django's documentation says to disable them under ASGI. The
bench therefore opens one connection per request (``CONN_MAX_AGE = 0``) for both endpoints, or,
with ``YIWANG_BENCH_DB_POOL=N`` and ``psycopg_pool`` installed, a pool of at most N connections
per server process (Django ≥ 5.1).
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
