"""exchange-calls: data-exchange calls through the real HTTP API, beside a bare endpoint.

A real server (uvicorn serving the product's ASGI application, ``--workers`` processes) runs
in a subprocess against the benchmark's fresh database, with the bench-only site
``bench.exchange_site`` (the product's URLs plus ``POST /bench/api/floor/{dataset}``, which
authenticates the same client credential and reads the same row but checks no grant and
writes no log). ``--clients`` threads (default 50), each with its own keep-alive connection
and its own department-system credential (all of one requesting department, under one
grant), ask for granted fields of random enterprises as fast as the answers come back:

- **exchange**: ``POST /api/v1/exchange/query/{dataset}`` — credential, grant and field
  check, the atomic quota/rate counter, the row read and masking, the ``ExchangeLog`` row
  and the audit-chain record in one transaction;
- **floor**: the bare endpoint with the same body.

The two alternate in ``--rounds`` rounds so load from elsewhere falls on both alike. Each
figure: requests per second over the round's wall time, p50/p99 per-request latency. Goal
(issue 6): exchange throughput ≥ 50 % of the floor's.

``python -m bench exchange-calls --database postgres --pg-db yiwang_bench_exchange --json``;
``--size`` is the number of requests per endpoint.
"""

from __future__ import annotations

import json
import random
from typing import Any

from bench import http_load
from bench.env import log
from bench.registry import Result, register

GOAL = "exchange >= 50% of the bare endpoint's throughput"
DATASET = "ent_reg_a"
EXCHANGE_PATH = f"/api/v1/exchange/query/{DATASET}"
FLOOR_PATH = f"/bench/api/floor/{DATASET}"
FIELDS = ["name", "legal_rep", "capital"]


def _seed(clients: int, enterprises: int) -> dict[str, Any]:
    """The test world's datasets and grant, ``enterprises`` rows, one credential per client."""
    from yiwang.accounts.tests.factories import build_world
    from yiwang.core.ids import make_credit_code
    from yiwang.exchange import actions
    from yiwang.exchange.models import Grant
    from yiwang.exchange.tests.factories import build

    w = build_world()
    build(w)
    codes = [make_credit_code("330106", f"MB{i:07d}") for i in range(enterprises)]
    rows = [
        {
            "credit_code": c,
            "name": f"压测企业{i}",
            "legal_rep": "王小明",
            "legal_rep_id": "330106199003070011",
            "capital": 100 + i % 900,
            "founded": "2020-01-01",
        }
        for i, c in enumerate(codes)
    ]
    for i in range(0, len(rows), 5000):
        actions.do_load_dataset(
            actor=w.users["dept_staff_a"], code=DATASET, source="api", content=rows[i : i + 5000]
        )
    g = w.extra["grant_a"]
    Grant.objects.filter(pk=g.pk).update(daily_quota=10**9, rate_per_minute=10**9)
    credentials = [
        actions.do_create_client(
            actor=None, name=f"bench {k}", department=w.departments["admin_a"]
        )[1]
        for k in range(clients)
    ]
    return {"codes": codes, "credentials": credentials}


def _bodies(codes: list[str], n: int = 2000) -> list[bytes]:
    rng = random.Random(6)
    return [
        json.dumps(
            {
                "subject": rng.choice(codes),
                "fields": FIELDS,
                "purpose": "企业画像（压测）",
                "case": f"BENCH-{i}",
            },
            ensure_ascii=False,
        ).encode()
        for i in range(n)
    ]


@register(
    "exchange-calls",
    "data-exchange calls through the HTTP API (uvicorn, 50 clients) beside a bare endpoint",
    4000,
)
def run(args: Any) -> Result:
    from yiwang.core.models import AuditRecord
    from yiwang.exchange.models import ExchangeLog

    clients = http_load.int_env("YIWANG_BENCH_CLIENTS", 50)
    rounds = http_load.int_env("YIWANG_BENCH_ROUNDS", 4)
    workers = http_load.int_env("YIWANG_BENCH_WORKERS", 2)
    enterprises = http_load.int_env("YIWANG_BENCH_ENTERPRISES", 10_000)
    per_client = max(1, args.size // (clients * rounds))
    log(f"seeding {enterprises} enterprises and {clients} client credentials")
    seed = _seed(clients, enterprises)
    db_url, data_dir = http_load.server_database()
    bodies = _bodies(seed["codes"])
    headers = [
        {
            "Authorization": f"Bearer {credential}",
            "Content-Type": "application/json",
            "X-Yiwang-User": f"bench-{k}",
        }
        for k, credential in enumerate(seed["credentials"])
    ]
    load = http_load.Load((FLOOR_PATH, EXCHANGE_PATH), headers, bodies, per_client, rounds, 200, 60)

    def counts() -> tuple[int, int]:
        return ExchangeLog.objects.count(), AuditRecord.objects.count()

    server = http_load.Server(
        "bench.exchange_site", db_url, data_dir, workers, health_path="/api/v1/health"
    )
    (logs_before, audit_before), results = http_load.measure(server, load, counts)
    floor, exchange = results[FLOOR_PATH], results[EXCHANGE_PATH]
    ratio = http_load.ratio(exchange, floor)
    return {
        "server": f"uvicorn, {workers} workers, ASGI",
        "clients": clients,
        "rounds": rounds,
        "enterprises": enterprises,
        "requests_per_endpoint": clients * rounds * per_client,
        "floor": floor,
        "exchange": exchange,
        "exchange_vs_floor": ratio,
        "exchange_logs_added": ExchangeLog.objects.count() - logs_before,
        "audit_records_added": AuditRecord.objects.count() - audit_before,
        "goal": GOAL,
        "goal_met": bool(ratio is not None and ratio >= 0.5 and not exchange["failures"]),
    }
