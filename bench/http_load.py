"""Driving the real HTTP API under load: the pieces the HTTP benchmarks share.

- :class:`Server`: uvicorn serving the product's ASGI application in a subprocess, on a free
  port, with a given (bench-only) settings module, against the benchmark's database;
- :class:`Load` and :func:`run_rounds`: endpoints alternating in rounds (so load from
  anything else on the machine falls on all alike), each round ``C`` client threads with
  their own keep-alive connection and headers, sending ``per_client`` POSTs back to back;
- :func:`run_open_phase` and :func:`run_open_rates`: open-loop load, requests arriving at a
  fixed average rate (a seeded Poisson process) whatever the answers' speed, latency counted
  from each request's scheduled time — the latency a service shows below saturation, which
  closed-loop clients sending back to back cannot show (there, latency ≈ clients /
  throughput by Little's law);
- :func:`summary`: requests, failures, statuses, throughput and latency percentiles over a
  list of rounds;
- :func:`measure`: all of it against a started server (ready, warm-up, rounds, stop).

Used by ``cases-intake`` and ``exchange-calls``; this module registers no benchmark itself.
"""

from __future__ import annotations

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from bench.env import REPO, log

HOST = "127.0.0.1"
T = TypeVar("T")


def int_env(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def server_database() -> tuple[str, str]:
    """``(DATABASE_URL, YIWANG_DATA_DIR)`` for the server's processes (an empty URL: the
    benchmark's SQLite file in that data directory), after closing this process's
    connection so the server's processes get their own."""
    from django.conf import settings
    from django.db import connection

    db = settings.DATABASES["default"]
    db_url = "" if db["ENGINE"].endswith("sqlite3") else os.environ["DATABASE_URL"]
    connection.close()
    return db_url, str(settings.DATA_DIR)


class Server:
    """uvicorn (``workers`` processes) serving ``yiwang.config.asgi:application`` with
    ``settings_module``; ``health_path`` is what :meth:`wait_ready` asks for."""

    def __init__(
        self,
        settings_module: str,
        db_url: str,
        data_dir: str,
        workers: int,
        health_path: str,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.health_path = health_path
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DATABASE_URL": db_url,
            "YIWANG_DATA_DIR": data_dir,
            "YIWANG_ENV": "development",
            "YIWANG_DEBUG": "0",
            "YIWANG_LOG_LEVEL": "WARNING",
            **(extra_env or {}),
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
            HOST,
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
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", self.health_path)
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


@dataclass(frozen=True)
class Load:
    """What the clients send: client ``k`` POSTs with ``headers[k]`` (so ``len(headers)``
    concurrent clients), cycling through ``bodies``; an answer other than ``ok_status`` is a
    failure. ``per_client`` requests per client per round, ``rounds`` rounds over ``paths``."""

    paths: Sequence[str]
    headers: Sequence[dict[str, str]]
    bodies: Sequence[bytes]
    per_client: int
    rounds: int
    ok_status: int
    timeout: float


def post(
    conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]
) -> tuple[http.client.HTTPConnection, int]:
    """POST on the client's keep-alive connection and read the whole answer: the connection
    to use next (a new one after a failure) and the status (0 when no answer came)."""
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return conn, resp.status
    except (OSError, http.client.HTTPException):
        conn.close()
        return http.client.HTTPConnection(conn.host, conn.port, timeout=conn.timeout), 0


def run_phase(port: int, path: str, load: Load, per_client: int) -> dict[str, Any]:
    """``len(load.headers)`` threads, each POSTing ``per_client`` bodies to ``path`` back to
    back; the wall time, every latency, the failures and a count per status."""
    headers, bodies = load.headers, load.bodies
    latencies: list[list[float]] = [[] for _ in headers]
    failures: list[int] = [0 for _ in headers]
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(len(headers) + 1)

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=load.timeout)
        start.wait()
        for j in range(per_client):
            body = bodies[(k * per_client + j) % len(bodies)]
            t0 = time.perf_counter()
            conn, status = post(conn, path, body, headers[k])
            latencies[k].append(time.perf_counter() - t0)
            if status != load.ok_status:
                failures[k] += 1
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(len(headers))]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    flat = [x for lat in latencies for x in lat]
    return {"wall_s": wall, "latencies": flat, "failures": sum(failures), "statuses": statuses}


def run_open_phase(
    port: int, path: str, load: Load, rate: float, requests: int, seed: int = 1
) -> dict[str, Any]:
    """Open-loop load: ``requests`` POSTs to ``path`` arriving at ``rate`` per second on
    average (exponential gaps, a Poisson process, seeded), spread over the
    ``len(load.headers)`` clients and their keep-alive connections, whatever the answers'
    speed. Each request's latency counts from the moment it was *scheduled*, not sent, so a
    client held up by a slow answer does not hide the wait of the requests behind it
    (no coordinated omission). Same result shape as :func:`run_phase`, plus the offered
    rate and the largest lag between a request's schedule and its sending."""
    import random

    rng = random.Random(seed)
    clients = len(load.headers)
    t = 0.0
    schedule: list[list[float]] = [[] for _ in range(clients)]
    for i in range(requests):
        t += rng.expovariate(rate)
        schedule[i % clients].append(t)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    lags: list[float] = [0.0 for _ in range(clients)]
    failures = [0 for _ in range(clients)]
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    origin: list[float] = []

    def client(k: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=load.timeout)
        start.wait()
        t0 = origin[0]
        for j, due in enumerate(schedule[k]):
            body = load.bodies[(k * len(schedule[k]) + j) % len(load.bodies)]
            wait = t0 + due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            else:
                lags[k] = max(lags[k], -wait)
            conn, status = post(conn, path, body, load.headers[k])
            latencies[k].append(time.perf_counter() - (t0 + due))
            if status != load.ok_status:
                failures[k] += 1
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(clients)]
    for th in threads:
        th.start()
    origin.append(time.perf_counter() + 0.05)
    start.wait()
    for th in threads:
        th.join()
    wall = time.perf_counter() - origin[0]
    flat = [x for lat in latencies for x in lat]
    return {
        "wall_s": wall,
        "latencies": flat,
        "failures": sum(failures),
        "statuses": statuses,
        "offered_rps": rate,
        "max_send_lag_ms": round(max(lags) * 1000, 1),
    }


def run_open_rates(
    port: int, load: Load, rates: Sequence[float], requests: int
) -> dict[str, list[dict[str, Any]]]:
    """:func:`run_open_phase` at each rate in turn, each path at that rate before the next
    rate (so outside load falls on all alike); each path's phases, one per rate."""
    phases: dict[str, list[dict[str, Any]]] = {path: [] for path in load.paths}
    for rate in rates:
        for path in load.paths:
            phase = run_open_phase(port, path, load, rate, requests)
            phases[path].append(phase)
            lat = sorted(phase["latencies"])
            p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000 if lat else 0.0
            log(
                f"open loop {rate:.0f}/s {path}: p99 {p99:.0f} ms, "
                f"{phase['failures']} failed, send lag ≤ {phase['max_send_lag_ms']} ms"
            )
    return phases


def open_summary(
    phase: dict[str, Any], percentiles: Sequence[int] = (50, 90, 99)
) -> dict[str, Any]:
    """:func:`summary` of one open-loop phase, with its offered rate and sending lag."""
    out = summary([phase], percentiles)
    out.pop("per_round_rps", None)
    return {
        "offered_rps": round(float(phase["offered_rps"]), 1),
        **out,
        "max_send_lag_ms": phase["max_send_lag_ms"],
    }


def warm_up(port: int, load: Load, per_client: int = 2) -> None:
    """A few requests per client to every path, so every worker has its imports,
    connections and caches before anything is timed."""
    for path in load.paths:
        run_phase(port, path, load, per_client)


def run_rounds(port: int, load: Load) -> dict[str, list[dict[str, Any]]]:
    """``load.rounds`` rounds of :func:`run_phase` over ``load.paths`` in turn (so load from
    anything else on the machine falls on all alike); each path's phases."""
    phases: dict[str, list[dict[str, Any]]] = {path: [] for path in load.paths}
    for r in range(load.rounds):
        for path in load.paths:
            phase = run_phase(port, path, load, load.per_client)
            phases[path].append(phase)
            log(
                f"round {r + 1}/{load.rounds} {path}: "
                f"{len(phase['latencies']) / phase['wall_s']:.0f} req/s, "
                f"{phase['failures']} failed"
            )
    return phases


def summary(phases: list[dict[str, Any]], percentiles: Sequence[int] = (50, 99)) -> dict[str, Any]:
    """Requests, failures, statuses, throughput over the summed wall time, each round's
    throughput, the ``p{q}_ms`` latency percentiles named, max and mean."""
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
        **{f"p{q}_ms": pct(q / 100) for q in percentiles},
        "max_ms": round(lat[-1] * 1000, 1) if n else 0.0,
        "mean_ms": round(statistics.fmean(lat) * 1000, 1) if n else 0.0,
    }


def measure(
    server: Server,
    load: Load,
    after_warm_up: Callable[[], T],
    percentiles: Sequence[int] = (50, 99),
    open_loop: Callable[[dict[str, dict[str, Any]]], Sequence[float]] | None = None,
    open_requests: int = 0,
) -> tuple[T, dict[str, dict[str, Any]]]:
    """The whole load run against a started ``server``: wait until it answers, warm up every
    path in every worker, call ``after_warm_up`` (e.g. to count rows before the timed
    rounds), run :func:`run_rounds`, and stop the server whatever happens. Returns what
    ``after_warm_up`` returned and each path's :func:`summary`.

    With ``open_loop``, after the closed-loop rounds: ``open_loop(summaries)`` names the
    arrival rates (e.g. shares of the throughput just measured) and every path gets
    ``open_requests`` requests at each rate (:func:`run_open_rates`); each path's summary
    then has ``open_loop``, a list of :func:`open_summary` results, one per rate."""
    try:
        server.wait_ready()
        warm_up(server.port, load)
        mark = after_warm_up()
        phases = run_rounds(server.port, load)
        results = {path: summary(phases[path], percentiles) for path in load.paths}
        if open_loop is not None and open_requests > 0:
            rates = [r for r in open_loop(results) if r > 0]
            opened = run_open_rates(server.port, load, rates, open_requests)
            for path in load.paths:
                results[path]["open_loop"] = [
                    open_summary(ph, (*percentiles,)) for ph in opened[path]
                ]
    finally:
        server.stop()
    return mark, results


def ratio(part: dict[str, Any], whole: dict[str, Any]) -> float | None:
    """``part``'s throughput over ``whole``'s (two :func:`summary` results), or None."""
    if part["throughput_rps"] and whole["throughput_rps"]:
        return round(float(part["throughput_rps"]) / float(whole["throughput_rps"]), 3)
    return None
