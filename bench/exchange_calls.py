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

import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

from bench.env import REPO, log
from bench.registry import Result, register

GOAL = "exchange >= 50% of the bare endpoint's throughput"
DATASET = "ent_reg_a"
EXCHANGE_PATH = f"/api/v1/exchange/query/{DATASET}"
FLOOR_PATH = f"/bench/api/floor/{DATASET}"
FIELDS = ["name", "legal_rep", "capital"]


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


class _Server:
    def __init__(self, db_url: str, data_dir: str, workers: int) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.exchange_site",
            "DATABASE_URL": db_url,
            "YIWANG_DATA_DIR": data_dir,
            "YIWANG_ENV": "development",
            "YIWANG_DEBUG": "0",
            "YIWANG_LOG_LEVEL": "WARNING",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "yiwang.config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        log(f"starting uvicorn ({workers} workers) on port {self.port}")
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.proc.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/v1/health")
                conn.getresponse().read()
                conn.close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("uvicorn did not answer in time")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _run_phase(
    port: int, path: str, credentials: list[str], bodies: list[bytes], per_client: int
) -> dict[str, Any]:
    latencies: list[list[float]] = [[] for _ in credentials]
    failures = [0 for _ in credentials]
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(len(credentials) + 1)

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {
            "Authorization": f"Bearer {credentials[k]}",
            "Content-Type": "application/json",
            "X-Yiwang-User": f"bench-{k}",
        }
        start.wait()
        for j in range(per_client):
            body = bodies[(k * per_client + j) % len(bodies)]
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status = 0
            latencies[k].append(time.perf_counter() - t0)
            if status != 200:
                failures[k] += 1
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [
        threading.Thread(target=client, args=(k,), daemon=True) for k in range(len(credentials))
    ]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    flat = [x for lat in latencies for x in lat]
    return {"wall_s": wall, "latencies": flat, "failures": sum(failures), "statuses": statuses}


def _summary(phases: list[dict[str, Any]]) -> dict[str, Any]:
    lat = sorted(x for p in phases for x in p["latencies"])
    wall = sum(p["wall_s"] for p in phases)
    n = len(lat)

    def pct(q: float) -> float:
        return round(lat[min(n - 1, int(q * n))] * 1000, 1) if n else 0.0

    statuses: dict[str, int] = {}
    for p in phases:
        for k, v in p["statuses"].items():
            statuses[str(k)] = statuses.get(str(k), 0) + v
    return {
        "requests": n,
        "failures": sum(p["failures"] for p in phases),
        "statuses": statuses,
        "wall_s": round(wall, 3),
        "throughput_rps": round(n / wall, 1) if wall else None,
        "per_round_rps": [round(len(p["latencies"]) / p["wall_s"], 1) for p in phases],
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": round(lat[-1] * 1000, 1) if n else 0.0,
        "mean_ms": round(statistics.fmean(lat) * 1000, 1) if n else 0.0,
    }


@register(
    "exchange-calls",
    "data-exchange calls through the HTTP API (uvicorn, 50 clients) beside a bare endpoint",
    4000,
)
def run(args: Any) -> Result:
    from django.conf import settings
    from django.db import connection

    from yiwang.core.models import AuditRecord
    from yiwang.exchange.models import ExchangeLog

    clients = _int_env("YIWANG_BENCH_CLIENTS", 50)
    rounds = _int_env("YIWANG_BENCH_ROUNDS", 4)
    workers = _int_env("YIWANG_BENCH_WORKERS", 2)
    enterprises = _int_env("YIWANG_BENCH_ENTERPRISES", 10_000)
    per_client = max(1, args.size // (clients * rounds))
    log(f"seeding {enterprises} enterprises and {clients} client credentials")
    seed = _seed(clients, enterprises)
    db = settings.DATABASES["default"]
    db_url = "" if db["ENGINE"].endswith("sqlite3") else os.environ["DATABASE_URL"]
    connection.close()
    bodies = _bodies(seed["codes"])
    server = _Server(db_url, str(settings.DATA_DIR), workers)
    floor_phases: list[dict[str, Any]] = []
    exchange_phases: list[dict[str, Any]] = []
    try:
        server.wait_ready()
        for path in (FLOOR_PATH, EXCHANGE_PATH):  # warm up every worker
            _run_phase(server.port, path, seed["credentials"], bodies, 2)
        logs_before = ExchangeLog.objects.count()
        audit_before = AuditRecord.objects.count()
        for r in range(rounds):
            for path, into in ((FLOOR_PATH, floor_phases), (EXCHANGE_PATH, exchange_phases)):
                phase = _run_phase(server.port, path, seed["credentials"], bodies, per_client)
                into.append(phase)
                log(
                    f"round {r + 1}/{rounds} {path}: "
                    f"{len(phase['latencies']) / phase['wall_s']:.0f} req/s, "
                    f"{phase['failures']} failed"
                )
    finally:
        server.stop()
    floor = _summary(floor_phases)
    exchange = _summary(exchange_phases)
    ratio = (
        round(exchange["throughput_rps"] / floor["throughput_rps"], 3)
        if floor["throughput_rps"] and exchange["throughput_rps"]
        else None
    )
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
