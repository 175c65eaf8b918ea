"""onestop-apply: bundle applications through the real HTTP API, four departments approving.

A real server (uvicorn serving the product's ASGI application, ``YIWANG_BENCH_WORKERS``
processes, default 2) runs in a subprocess against the benchmark's fresh database. The
bundle is the test kit's "open a shop" bundle with all four matters in one parallel stage
(business registration — which issues a signed electronic certificate when the certs app is
installed — signboard, fire safety, tax), each matter at its own department.

- ``YIWANG_BENCH_CLIENTS`` applicant threads (default 8), each an enterprise with its own API
  token, run the whole applicant side per application: ``POST /applications`` (prefilled
  draft), ``PATCH`` (answers and form), two multipart uploads, ``POST …/submit``;
- per department ``YIWANG_BENCH_APPROVERS`` staff threads (default 2) poll their pending tasks
  and ``claim`` then ``decide`` (approve) each; two staff of one department racing for the same
  task is expected — the loser gets 409 (counted, not a failure).

Figures: applications completed per second (completed applications over the wall time from the
first start to the last approval), the end-to-end time from submit to completion (p50/p99),
and per step p50/p99 latency. ``--size`` is the number of applications.

``python -m bench onestop-apply --database postgres --json``
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time
from typing import Any

from bench import http_load
from bench.env import log
from bench.registry import Result, register

A = "/api/v1/onestop"
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 256
DEPARTMENTS = ("scj", "cgj", "xfj", "swj")


def _seed(clients: int, approvers: int) -> dict[str, Any]:
    from yiwang.accounts import actions as account_actions
    from yiwang.accounts.roles import Role
    from yiwang.accounts.tests.factories import UserFactory, build_world
    from yiwang.core.ids import make_credit_code
    from yiwang.onestop.tests.factories import build_kit
    from yiwang.registry.models import Organisation

    w = build_world()
    kit = build_kit(w, two_stages=False)
    applicants = []
    for k in range(clients):
        code = make_credit_code("330106", f"MC{k:07d}")
        user = UserFactory(
            username=f"bench_ent_{k}",
            role=Role.ENTERPRISE,
            credit_code=code,
            enterprise_name=f"压测餐饮{k}",
        )
        Organisation.objects.create(credit_code=code, name=f"压测餐饮{k}", synthetic=True)
        applicants.append(account_actions.do_create_api_token(actor=user, name="bench")[1])
    staff: dict[str, list[str]] = {}
    for dept in DEPARTMENTS:
        tokens = []
        for j in range(approvers):
            user = UserFactory(
                username=f"bench_{dept}_{j}",
                role=Role.DEPT_STAFF,
                department=kit.departments[dept],
            )
            tokens.append(account_actions.do_create_api_token(actor=user, name="bench")[1])
        staff[dept] = tokens
    return {
        "applicants": applicants,
        "staff": staff,
        "lease": kit.materials["lease"].pk,
        "sign": kit.materials["sign_design"].pk,
    }


class Client:
    def __init__(self, port: int, token: str, steps: dict[str, list[float]], lock: Any) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection(http_load.HOST, port, timeout=60)
        self.auth = {"Authorization": f"Bearer {token}"}
        self.steps = steps
        self.lock = lock
        self.statuses: dict[int, int] = {}

    def call(
        self, step: str, method: str, path: str, body: bytes | None = None, ctype: str = ""
    ) -> tuple[int, Any]:
        headers = dict(self.auth)
        if ctype:
            headers["Content-Type"] = ctype
        t0 = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(http_load.HOST, self.port, timeout=60)
            raw, status = b"", 0
        elapsed = time.perf_counter() - t0
        with self.lock:
            self.steps.setdefault(step, []).append(elapsed)
            self.statuses[status] = self.statuses.get(status, 0) + 1
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        return status, data

    def json(self, step: str, method: str, path: str, payload: Any) -> tuple[int, Any]:
        return self.call(step, method, path, json.dumps(payload).encode(), "application/json")

    def upload(self, step: str, path: str, name: str, data: bytes) -> tuple[int, Any]:
        boundary = "yiwangbench7f3a"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.call(step, "POST", path, body, f"multipart/form-data; boundary={boundary}")


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


@register(
    "onestop-apply",
    "bundle applications through the HTTP API, four departments approving in parallel",
    400,
)
def run(args: Any) -> Result:
    from yiwang.onestop.models import Application, ApplicationStatus

    clients = http_load.int_env("YIWANG_BENCH_CLIENTS", 8)
    approvers = http_load.int_env("YIWANG_BENCH_APPROVERS", 2)
    workers = http_load.int_env("YIWANG_BENCH_WORKERS", 2)
    per_client = max(1, args.size // clients)
    total = per_client * clients
    log(f"seeding {clients} applicants and {approvers} staff in each of 4 departments")
    seed = _seed(clients, approvers)
    db_url, data_dir = http_load.server_database()
    server = http_load.Server(
        "yiwang.config.settings", db_url, data_dir, workers, health_path="/api/v1/health"
    )
    steps: dict[str, list[float]] = {}
    lock = threading.Lock()
    failures: list[str] = []
    done = threading.Event()
    conflicts = [0]

    def applicant(k: int) -> None:
        c = Client(server.port, seed["applicants"][k], steps, lock)
        for i in range(per_client):
            status, app = c.json("start", "POST", f"{A}/applications", {"bundle": "shop"})
            if status != 201:
                failures.append(f"start {status}")
                continue
            aid = app["id"]
            status, _ = c.json(
                "save_draft",
                "PATCH",
                f"{A}/applications/{aid}",
                {"answers": {"has_sign": True, "area": 20}, "form": {"shop_name": f"小馆{k}-{i}"}},
            )
            s1, _ = c.upload(
                "upload", f"{A}/applications/{aid}/materials/{seed['lease']}", "l.pdf", PDF
            )
            s2, _ = c.upload(
                "upload", f"{A}/applications/{aid}/materials/{seed['sign']}", "s.png", PNG
            )
            s3, _ = c.json("submit", "POST", f"{A}/applications/{aid}/submit", {"commitment": True})
            if (status, s1, s2, s3) != (200, 200, 200, 200):
                failures.append(f"applicant steps {status} {s1} {s2} {s3}")

    def approver(token: str, j: int) -> None:
        # staff of one department take the list from different ends, as people do
        c = Client(server.port, token, steps, lock)
        while not done.is_set():
            status, page = c.call("list_tasks", "GET", f"{A}/tasks?state=pending&page_size=20")
            items = (page or {}).get("items", []) if status == 200 else []
            if not items:
                time.sleep(0.05)
                continue
            if j % 2:
                items.reverse()
            for t in items:
                s, claimed = c.json(
                    "claim", "POST", f"{A}/tasks/{t['id']}/claim", {"version": t["version"]}
                )
                if s == 409:
                    with lock:
                        conflicts[0] += 1
                    continue
                if s != 200:
                    failures.append(f"claim {s}")
                    continue
                s, _ = c.json(
                    "decide",
                    "POST",
                    f"{A}/tasks/{t['id']}/decide",
                    {"approve": True, "version": claimed["version"]},
                )
                if s != 200:
                    failures.append(f"decide {s}")

    def completed() -> int:
        return Application.objects.filter(status=ApplicationStatus.COMPLETED).count()

    try:
        server.wait_ready()
        staff_threads = [
            threading.Thread(target=approver, args=(tok, j), daemon=True)
            for tokens in seed["staff"].values()
            for j, tok in enumerate(tokens)
        ]
        apply_threads = [
            threading.Thread(target=applicant, args=(k,), daemon=True) for k in range(clients)
        ]
        t0 = time.perf_counter()
        for t in staff_threads + apply_threads:
            t.start()
        for t in apply_threads:
            t.join()
        applied_s = time.perf_counter() - t0
        deadline = time.monotonic() + 600
        while completed() < total - len(failures) and time.monotonic() < deadline:
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        done.set()
        for t in staff_threads:
            t.join(timeout=30)
    finally:
        server.stop()
    apps = list(
        Application.objects.filter(status=ApplicationStatus.COMPLETED).values_list(
            "submitted_at", "completed_at"
        )
    )
    e2e = [(b - a).total_seconds() for a, b in apps if a and b]
    return {
        "server": f"uvicorn, {workers} workers, ASGI",
        "applicants": clients,
        "approvers_per_department": approvers,
        "applications": total,
        "completed": len(apps),
        "failures": len(failures),
        "failure_samples": failures[:5],
        "claim_conflicts": conflicts[0],
        "wall_s": round(wall, 2),
        "applicant_side_s": round(applied_s, 2),
        "completed_per_s": round(len(apps) / wall, 2) if wall else None,
        "submit_to_complete_p50_s": round(statistics.median(e2e), 3) if e2e else None,
        "submit_to_complete_p99_s": (_pct(e2e, 0.99) or 0) / 1000 if e2e else None,
        "steps": {
            name: {"n": len(v), "p50_ms": _pct(v, 0.5), "p99_ms": _pct(v, 0.99)}
            for name, v in sorted(steps.items())
        },
    }
