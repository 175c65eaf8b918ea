"""The ``yiwang`` command: demo, serve, worker, manage, audit verify, keys generate."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
from typing import Any


def _setup(env: str | None = None) -> None:
    if env:
        os.environ.setdefault("YIWANG_ENV", env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.config.settings")
    import django

    django.setup()


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _print_accounts(url: str) -> None:
    from django.conf import settings
    from django.utils import translation

    from yiwang.accounts.roles import Role
    from yiwang.demo import ACCOUNTS, DEMO_PASSWORD

    translation.activate(os.environ.get("YIWANG_CLI_LANGUAGE", settings.LANGUAGE_CODE))

    print(f"\n  一网 Yiwang demo (synthetic data / 演示数据) is at {url}\n")
    print(f"  Demo accounts (password for all: {DEMO_PASSWORD}):")
    for a in ACCOUNTS:
        print(f"    {a.username:<12} {Role(a.role).label!s:<28} {a.note}")
    print("    policyofficer / policyreviewer  政策通 maker / checker (draft, approve)")
    print(f"\n  API docs: {url}api/v1/docs   Admin: {url}admin/   Ctrl-C stops everything.\n")


def cmd_demo(args: argparse.Namespace) -> int:
    _setup("development")
    from yiwang import demo

    _migrate()
    report = demo.seed(
        residents=args.residents,
        people=args.people,
        things=args.things,
        organisations=args.organisations,
        cases=args.cases,
    )
    reg = report.registry
    print(
        f"Seeded: {report.divisions} divisions and codes, {report.departments} departments, "
        f"{report.users} users; {reg.grids} grids, {reg.places} places, {reg.people} residents, "
        f"{reg.things} city parts, {reg.organisations} organisations, {report.cases} cases"
        + ("" if report.changed or reg.changed else " (already seeded; nothing added)")
    )
    if report.policies is not None:
        from yiwang.policies.demo import summary

        print("Seeded " + summary(report.policies))
    print(_other_counts())
    if args.seed_only:
        return 0
    return _serve(args.host, args.port, with_worker=True, announce=True)


def _other_counts() -> str:
    """What the rest of the demo holds (一网通办, certificates, ratings, the exchange, code
    tables), counted from the database so the line is true after a re-run too."""
    from yiwang.certs.models import Certificate, CertificateType
    from yiwang.core.models import CodeTableVersion
    from yiwang.exchange.models import Dataset, ExchangeClient, Grant
    from yiwang.onestop.models import Application, Bundle, Matter
    from yiwang.ratings.models import Rating

    return (
        f"Also: {Matter.objects.count()} 一网通办 matters, {Bundle.objects.count()} bundles "
        f"(一件事), {Application.objects.count()} applications; "
        f"{CertificateType.objects.count()} certificate types, "
        f"{Certificate.objects.count()} certificates; {Rating.objects.count()} ratings; "
        f"{Dataset.objects.count()} shared datasets, {Grant.objects.count()} grants, "
        f"{ExchangeClient.objects.count()} exchange clients; "
        f"{CodeTableVersion.objects.count()} code-table versions"
    )


def _serve(
    host: str, port: int, *, with_worker: bool, announce: bool = False, workers: int = 1
) -> int:
    """uvicorn serving the ASGI application; ``workers`` > 1 runs that many server processes
    behind one socket (uvicorn's supervisor restarts a process that dies)."""
    import uvicorn

    worker: subprocess.Popen[bytes] | None = None
    if with_worker:
        worker = subprocess.Popen([sys.executable, "-m", "yiwang.cli", "worker"])
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"  # noqa: S104
    if announce:
        _print_accounts(url)
    try:
        uvicorn.run(
            "yiwang.config.asgi:application",
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=False,
            lifespan="off",
            workers=max(1, workers),
        )
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGINT)
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _setup()
    _migrate()
    return _serve(args.host, args.port, with_worker=args.with_worker, workers=args.workers)


def cmd_worker(args: argparse.Namespace) -> int:
    _setup()
    from django.core.management import call_command

    with contextlib.suppress(KeyboardInterrupt):
        call_command("run_huey", "--workers", str(args.workers))
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    _setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["yiwang manage", *args.rest])
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    _setup()
    from yiwang.core import audit

    result = audit.verify()
    cp_ok, cp_problem = audit.verify_checkpoints() if result.ok else (True, "")
    if result.ok and not cp_ok:
        result.ok = False
        result.problem = cp_problem
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
    elif result.ok:
        print(
            f"OK: the audit chain is intact ({result.checked} records, "
            f"head {result.head_hash[:16]}…)"
        )
    else:
        print(
            f"BROKEN at record {result.first_bad_seq}: {result.problem} "
            f"({result.checked} records verified before it)",
            file=sys.stderr,
        )
    return 0 if result.ok else 1


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    _setup()
    from yiwang.core import audit

    cp = audit.write_checkpoint()
    print(f"checkpoint at record {cp.seq}" if cp else "the audit chain is empty")
    return 0


def cmd_keys_generate(args: argparse.Namespace) -> int:
    from yiwang.core.keys import generate_keys

    for k, v in generate_keys().items():
        print(f"{k}={v}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="yiwang", description="一网 Yiwang platform")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="migrate, seed the demo district, serve it with a worker")
    d.add_argument("--host", default="127.0.0.1")
    d.add_argument("--port", type=int, default=8000)
    d.add_argument("--seed-only", action="store_true", help="seed and exit")
    d.add_argument("--residents", type=int, default=40, help="synthetic resident login accounts")
    d.add_argument(
        "--people",
        type=int,
        default=50_000,
        help="synthetic residents in the registry (e.g. 1000000 for the full-scale demo)",
    )
    d.add_argument("--things", type=int, default=5_000, help="synthetic city parts")
    d.add_argument("--cases", type=int, default=120, help="synthetic cases across the workflow")
    d.add_argument(
        "--organisations",
        type=int,
        default=3_000,
        help="synthetic enterprises and social organisations",
    )
    d.set_defaults(func=cmd_demo)

    s = sub.add_parser("serve", help="migrate and serve (uvicorn)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--with-worker", action="store_true", help="also start a background worker")
    s.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("YIWANG_WEB_WORKERS", "1") or 1),
        help="server processes (env YIWANG_WEB_WORKERS; default 1; on a server: about one or "
        "two per core, see docs/deploy.md)",
    )
    s.set_defaults(func=cmd_serve)

    w = sub.add_parser("worker", help="run the background job worker (huey)")
    w.add_argument("--workers", type=int, default=2)
    w.set_defaults(func=cmd_worker)

    m = sub.add_parser("manage", help="run a Django management command")
    m.add_argument("rest", nargs=argparse.REMAINDER)
    m.set_defaults(func=cmd_manage)

    a = sub.add_parser("audit", help="audit chain tools")
    asub = a.add_subparsers(dest="audit_command", required=True)
    av = asub.add_parser("verify", help="verify the hash chain; exit 1 naming the first bad record")
    av.add_argument("--json", action="store_true")
    av.set_defaults(func=cmd_audit_verify)
    ac = asub.add_parser("checkpoint", help="pin the chain's current head")
    ac.set_defaults(func=cmd_audit_checkpoint)

    from yiwang.rules.cli import add_subparsers as add_rules_subparsers

    add_rules_subparsers(sub)
    from yiwang.certs.cli import add_subparsers as add_cert_subparsers

    add_cert_subparsers(sub)
    from yiwang.core.cli_codetables import add_subparsers as add_codetable_subparsers

    add_codetable_subparsers(sub)
    from yiwang.registry.cli import add_subparsers as add_import_subparsers

    add_import_subparsers(sub)
    from yiwang.grid.cli import add_subparsers as add_grid_subparsers

    add_grid_subparsers(sub)

    k = sub.add_parser("keys", help="key material")
    ksub = k.add_subparsers(dest="keys_command", required=True)
    kg = ksub.add_parser("generate", help="print fresh production keys as environment lines")
    kg.set_defaults(func=cmd_keys_generate)
    return p


def main(argv: list[str] | None = None) -> Any:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
