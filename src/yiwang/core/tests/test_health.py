"""The health probes answer without a login, a known host name or TLS, and name what is down."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test import Client

from yiwang.core import health


@pytest.mark.django_db
def test_liveness_and_readiness_ok():
    c = Client()
    live = c.get("/healthz")
    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    assert "no-cache" in live["Cache-Control"]
    ready = c.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "queue": "ok"},
    }


@pytest.mark.django_db
def test_probes_need_no_allowed_host_no_tls_no_login(settings):
    settings.ALLOWED_HOSTS = ["yiwang.example.gov.cn"]
    settings.SECURE_SSL_REDIRECT = True
    c = Client(HTTP_HOST="10.0.3.17:8000")  # a probe by pod IP over plain HTTP
    assert c.get("/healthz").status_code == 200
    assert c.get("/readyz").status_code == 200
    assert c.head("/healthz").content == b""
    # everything else still gets the host check and the redirect
    assert c.get("/").status_code == 400
    assert Client(HTTP_HOST="yiwang.example.gov.cn").get("/").status_code == 301


@pytest.mark.django_db
def test_probe_paths_answer_only_get_and_head():
    assert Client().post("/healthz").status_code == 404  # not a probe: the URL conf answers


@pytest.mark.django_db
def test_readiness_names_the_database_when_it_is_down(monkeypatch):
    class Broken:
        def __enter__(self):
            raise OSError("connection refused")

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(connections["default"], "cursor", lambda: Broken())
    r = Client().get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "unavailable"
    assert body["checks"]["migrations"] == "unknown"
    assert "refused" not in r.content.decode()  # details go to the log, not the answer


@pytest.mark.django_db
def test_readiness_reports_pending_migrations(monkeypatch):
    monkeypatch.setattr(health, "_migrated", False)

    class Plan:
        def __init__(self, connection):
            self.loader = type("L", (), {"graph": type("G", (), {"leaf_nodes": lambda s: []})()})()

        def migration_plan(self, targets):
            return [("someapp", "0002_new")]

    monkeypatch.setattr(health, "MigrationExecutor", Plan)
    r = Client().get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["migrations"] == "pending"


@pytest.mark.slow
def test_yiwang_serve_with_two_processes_answers_the_probes(tmp_path):
    """`yiwang serve --workers 2` on a fresh SQLite data directory: migrates, starts two
    server processes behind one port and answers /healthz and /readyz over real HTTP."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "YIWANG_DATA_DIR": str(tmp_path),
        "YIWANG_ENV": "development",
        "DATABASE_URL": "",
        "DJANGO_SETTINGS_MODULE": "yiwang.config.settings",
    }
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "yiwang.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        body = b""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as r:
                    body = r.read()
                    break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                time.sleep(0.5)
        assert b'"status": "ok"' in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            assert r.status == 200
        children = subprocess.run(  # noqa: S603
            ["ps", "-o", "pid=", "--ppid", str(proc.pid)],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        assert len(children) >= 2  # the two server processes (and uvicorn's helpers)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
