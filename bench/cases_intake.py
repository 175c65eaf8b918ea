"""cases-intake: sustained case creation through the real HTTP API, beside the framework floor.

A real server (uvicorn serving the product's ASGI application, ``--workers`` processes) runs in
a subprocess against the benchmark's fresh database, with the bench-only site
``bench.cases_intake_site`` (the product's URLs plus ``POST /bench/api/floor``, a bare endpoint
behind the same middleware and token authentication that only inserts the same case row).
``--clients`` threads (default 50), each with its own keep-alive connection and its own
resident's API token, POST reports as fast as the answers come back:

- **intake**: ``POST /api/v1/cases`` — validation, grid lookup, routing, the accept deadline on
  the working-time calendar, the timeline row, the audit record, the in-app messages and the
  ``cases.changed`` job;
- **floor**: ``POST /bench/api/floor`` with the same body.

The two alternate in ``--rounds`` rounds (floor, intake, floor, intake, …) so that load from
anything else on the machine falls on both alike. Each figure: requests per second over the
round's wall time, and p50/p99 of the per-request latency seen by the client. Goal: intake
throughput ≥ 50 % of the floor's, intake p99 ≤ 150 ms.

``python -m bench cases-intake --database postgres --pg-db yiwang_bench_intake --json``, or
``python -m bench.cases_intake --database-url postgres://…/yiwang_bench_intake`` (the
database is dropped and recreated). ``--size`` is the number of requests per endpoint.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from typing import Any

from bench.env import REPO, log
from bench.registry import Result, register

GOAL = "intake >= 50% of the floor's throughput, intake p99 <= 150 ms"
INTAKE_PATH = "/api/v1/cases"
FLOOR_PATH = "/bench/api/floor"
CSRF = "b3nchb3nchb3nchb3nchb3nchb3nchAB"  # any 32 letters and digits


def _int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(clients: int) -> dict[str, Any]:
    """The two-territory world with grids and a district routing rule, and one resident with
    an API token per client."""
    from yiwang.accounts.actions import do_create_api_token
    from yiwang.accounts.roles import Role
    from yiwang.accounts.tests.factories import UserFactory, build_world
    from yiwang.cases.models import Category, RoutingRule
    from yiwang.cases.routing import route
    from yiwang.grid.tests.scope_cases import build_grids

    w = build_world()
    build_grids(w)
    RoutingRule.objects.create(
        division_prefix=w.divisions["county_a"].prefix,
        department=w.departments["bureau_a"],
        note="bench: 城管局 takes everything in its district",
    )
    street = w.divisions["street_a"]
    tokens = []
    for i in range(clients):
        user = UserFactory(username=f"bench_resident_{i}", role=Role.RESIDENT, division=street)
        tokens.append(do_create_api_token(actor=user, name="bench")[1])
    grid = w.extra["grid_a"]
    category = Category.objects.get(kind="component", code="01004")  # 井盖
    dept = route(category, grid).department
    return {
        "tokens": tokens,
        "grid": grid,
        "category": category,
        "department": dept,
    }


def _body(seed: dict[str, Any], i: int) -> bytes:
    g = seed["grid"]
    # Points spread inside the grid's bounding box, shrunk towards the centroid.
    fx = ((i * 37) % 100) / 100 - 0.5
    fy = ((i * 61) % 100) / 100 - 0.5
    lng = g.centroid_lng + fx * (g.max_lng - g.min_lng) * 0.5
    lat = g.centroid_lat + fy * (g.max_lat - g.min_lat) * 0.5
    return json.dumps(
        {
            "category": seed["category"].service_code,
            "description": f"井盖破损，有坠落危险（压测 {i}）",
            "lng": lng,
            "lat": lat,
            "attributes": {"hazard": "yes"},
        },
        ensure_ascii=False,
    ).encode()


class _Server:
    def __init__(self, db_url: str, data_dir: str, seed: dict[str, Any], workers: int) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.cases_intake_site.settings",
            "DATABASE_URL": db_url,
            "YIWANG_DATA_DIR": data_dir,
            "YIWANG_ENV": "development",
            "YIWANG_DEBUG": "0",
            "YIWANG_LOG_LEVEL": "WARNING",
            "YIWANG_BENCH_CATEGORY": str(seed["category"].pk),
            "YIWANG_BENCH_GRID": str(seed["grid"].pk),
            "YIWANG_BENCH_DEPARTMENT": str(seed["department"].pk if seed["department"] else 0),
            "YIWANG_BENCH_PREFIX": seed["grid"].code,
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
                conn.request("GET", "/api/v1/cases/categories")
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
    port: int, path: str, tokens: list[str], bodies: list[bytes], per_client: int
) -> dict[str, Any]:
    """``len(tokens)`` threads, each sending ``per_client`` requests back to back."""
    latencies: list[list[float]] = [[] for _ in tokens]
    failures: list[int] = [0 for _ in tokens]
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(len(tokens) + 1)

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {
            "Authorization": f"Bearer {tokens[k]}",
            "Content-Type": "application/json",
            # SessionAuth comes first in the API's auth list and checks CSRF on writes before
            # the bearer token is tried (see docs/benchmarks.md); a matching cookie and header
            # get past it, and the token then authenticates.
            "Cookie": f"csrftoken={CSRF}",
            "X-CSRFToken": CSRF,
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
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            latencies[k].append(time.perf_counter() - t0)
            if status != 201:
                failures[k] += 1
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(len(tokens))]
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
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": round(lat[-1] * 1000, 1) if n else 0.0,
        "mean_ms": round(statistics.fmean(lat) * 1000, 1) if n else 0.0,
    }


@register(
    "cases-intake",
    "case intake through the HTTP API (uvicorn, 50 clients) beside a bare-insert floor",
    4000,
)
def run(args: Any) -> Result:
    from django.conf import settings
    from django.db import connection

    from yiwang.cases.models import Case, CaseEvent, Message
    from yiwang.core.models import AuditRecord

    clients = int(getattr(args, "clients", 0) or _int_env("YIWANG_BENCH_CLIENTS", 50))
    rounds = int(getattr(args, "rounds", 0) or _int_env("YIWANG_BENCH_ROUNDS", 4))
    workers = int(getattr(args, "workers", 0) or _int_env("YIWANG_BENCH_WORKERS", 2))
    per_client = max(1, args.size // (clients * rounds))

    seed = _seed(clients)
    db = settings.DATABASES["default"]
    db_url = "" if db["ENGINE"].endswith("sqlite3") else os.environ["DATABASE_URL"]
    connection.close()  # the server's processes get their own connections
    bodies = [_body(seed, i) for i in range(1000)]
    server = _Server(db_url, str(settings.DATA_DIR), seed, workers)
    floor_phases: list[dict[str, Any]] = []
    intake_phases: list[dict[str, Any]] = []
    try:
        server.wait_ready()
        # Warm up both paths in every worker (imports, connections, the grid index, caches).
        for path in (FLOOR_PATH, INTAKE_PATH):
            _run_phase(server.port, path, seed["tokens"], bodies, 2)
        cases_before = Case.objects.count()
        audit_before = AuditRecord.objects.count()
        for r in range(rounds):
            for path, into in ((FLOOR_PATH, floor_phases), (INTAKE_PATH, intake_phases)):
                phase = _run_phase(server.port, path, seed["tokens"], bodies, per_client)
                into.append(phase)
                log(
                    f"round {r + 1}/{rounds} {path}: "
                    f"{len(phase['latencies']) / phase['wall_s']:.0f} req/s, "
                    f"{phase['failures']} failed"
                )
    finally:
        server.stop()
    floor = _summary(floor_phases)
    intake = _summary(intake_phases)
    created = Case.objects.count() - cases_before
    intake_cases = Case.objects.exclude(routing_reason="").count()
    ratio = (
        round(intake["throughput_rps"] / floor["throughput_rps"], 3)
        if floor["throughput_rps"] and intake["throughput_rps"]
        else None
    )
    return {
        "server": f"uvicorn, {workers} workers, ASGI",
        "db_connections": (
            f"pool of at most {os.environ['YIWANG_BENCH_DB_POOL']} per worker"
            if _int_env("YIWANG_BENCH_DB_POOL", 0) and db_url
            else "one per request"
        ),
        "clients": clients,
        "rounds": rounds,
        "requests_per_endpoint": clients * rounds * per_client,
        "floor": floor,
        "intake": intake,
        "intake_vs_floor": ratio,
        "cases_created": created,
        "intake_cases_in_db": intake_cases,
        "timeline_rows": CaseEvent.objects.count(),
        "audit_records_added": AuditRecord.objects.count() - audit_before,
        "messages": Message.objects.count(),
        "goal": GOAL,
        "goal_met": bool(
            ratio is not None
            and ratio >= 0.5
            and intake["p99_ms"] <= 150
            and not intake["failures"]
        ),
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.cases_intake [--database-url URL] [--size N] [--clients N] …``:
    the same run through the harness, with the database given as one URL."""
    import argparse
    from urllib.parse import urlsplit, urlunsplit

    from bench.cli import main as bench_main

    p = argparse.ArgumentParser(prog="python -m bench.cases_intake")
    p.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="postgres://…/NAME: that database is DROPPED and recreated (default: SQLite)",
    )
    p.add_argument("--size", type=int, default=4000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--db-pool",
        type=int,
        default=0,
        help="a psycopg connection pool of at most N per server process (0: one per request)",
    )
    p.add_argument("--keep", action="store_true")
    a = p.parse_args(argv)
    os.environ["YIWANG_BENCH_CLIENTS"] = str(a.clients)
    os.environ["YIWANG_BENCH_ROUNDS"] = str(a.rounds)
    os.environ["YIWANG_BENCH_WORKERS"] = str(a.workers)
    os.environ["YIWANG_BENCH_DB_POOL"] = str(a.db_pool)
    forwarded = ["cases-intake", "--json", "--size", str(a.size)]
    if a.keep:
        forwarded.append("--keep")
    if a.database_url:
        parts = urlsplit(a.database_url)
        name = parts.path.lstrip("/")
        if not name:
            p.error("--database-url needs a database name")
        server = urlunsplit((parts.scheme, parts.netloc, "", parts.query, ""))
        forwarded += ["--database", "postgres", "--pg-server", server, "--pg-db", name]
    return bench_main(forwarded)


if __name__ == "__main__":
    raise SystemExit(main())
