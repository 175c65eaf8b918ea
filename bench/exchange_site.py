"""Settings *and* URLs of the server that ``bench.exchange_calls`` starts (one module, so the
bench package stays flat): the product's settings and URLs plus ``POST /bench/api/floor``.

The floor is the bare endpoint: the same framework, middleware and client-credential
authentication as ``POST /api/v1/exchange/query/{dataset}``, and the same row read (by the
subject's blind index, personal fields decrypted) — but no grant check, quota or rate
counter, masking, exchange log or audit record. The gap between the two is what the
exchange's safeguards cost.

As in ``bench.cases_intake_site``: on PostgreSQL one connection per request under ASGI
(``CONN_MAX_AGE = 0``), or a pool with ``YIWANG_BENCH_DB_POOL=N``. The URL patterns are built
on first use (``__getattr__``), so importing this module needs no configured Django.
"""

# ruff: noqa: F403

import os
from typing import Any

# Only as the server's settings module: the bench harness imports every module of the package
# before it has chosen the database, and must not cache the product settings early.
if os.environ.get("DJANGO_SETTINGS_MODULE") == __name__:
    from yiwang.config.settings import *
    from yiwang.config.settings import DATABASES

    ROOT_URLCONF = "bench.exchange_site"

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

_URLS: list[Any] = []


def _build() -> list[Any]:
    from django.urls import path
    from ninja import NinjaAPI

    from yiwang.config.urls import urlpatterns as product_urlpatterns
    from yiwang.exchange.api import ClientAuth
    from yiwang.exchange.keys import subject_hash
    from yiwang.exchange.models import Dataset, Record
    from yiwang.exchange.schemas import QueryIn
    from yiwang.exchange.selectors import record_values

    floor_api = NinjaAPI(urls_namespace="bench_exchange_floor", auth=[ClientAuth()], docs_url=None)

    @floor_api.post("/floor/{dataset}")
    def floor(request: Any, dataset: str, payload: QueryIn) -> Any:
        ds = Dataset.objects.get(code=dataset)
        recs = Record.objects.filter(dataset=ds, subject_hash=subject_hash(payload.subject))
        rows = []
        for rec in recs:
            values = record_values(ds, rec)
            rows.append({f: values.get(f) for f in payload.fields})
        return {"dataset": ds.code, "records": rows}

    return [path("bench/api/", floor_api.urls), *product_urlpatterns]


def __getattr__(name: str) -> Any:
    if name == "urlpatterns":
        if not _URLS:
            _URLS.extend(_build())
        return _URLS
    raise AttributeError(name)
