"""Health probes for load balancers and orchestrators (no login, no personal data).

- ``GET /healthz`` — liveness: the process answers (no database touched), 200 ``{"status": "ok"}``.
- ``GET /readyz`` — readiness: the database answers a query and has no unapplied migrations,
  and the job queue's storage is reachable; 200 when all are, otherwise 503 with the failing
  check named (``{"status": "unavailable", "checks": {"database": "ok", "migrations":
  "pending", "queue": "ok"}}``). Details of a failure go to the log, never into the answer.

Both are answered by :class:`HealthProbeMiddleware`, first in the stack, before host
validation, the HTTPS redirect, sessions and authentication: a probe comes from inside the
network by IP address over plain HTTP, and must not need a host name in ``ALLOWED_HOSTS``,
TLS or a login. Only ``GET`` (and ``HEAD``) of exactly these two paths is answered there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import add_never_cache_headers

log = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


#: Once a process has seen no pending migration it does not look again: migrations are not
#: unapplied under a running process (a deployment with new ones starts new processes).
_migrated = False


def _database() -> str:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except Exception:
        log.exception("readiness: database check failed")
        return "unavailable"
    return "ok"


def _migrations() -> str:
    global _migrated
    if _migrated:
        return "ok"
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception:
        log.exception("readiness: migration check failed")
        return "unavailable"
    if plan:
        return "pending"
    _migrated = True
    return "ok"


def _queue() -> str:
    try:
        from huey.contrib.djhuey import HUEY

        HUEY.pending_count()
    except Exception:
        log.exception("readiness: job queue check failed")
        return "unavailable"
    return "ok"


def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _database()}
    checks["migrations"] = _migrations() if checks["database"] == "ok" else "unknown"
    checks["queue"] = _queue()
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


PROBES: dict[str, Callable[[HttpRequest], JsonResponse]] = {"/healthz": healthz, "/readyz": readyz}


class HealthProbeMiddleware:
    """Answers ``GET``/``HEAD`` of ``/healthz`` and ``/readyz`` before anything else runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = PROBES.get(request.path_info)
        if probe is None or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        response = probe(request)
        add_never_cache_headers(response)
        if request.method == "HEAD":
            response.content = b""
        return response
