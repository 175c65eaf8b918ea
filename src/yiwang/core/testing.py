"""Test helpers later modules reuse: audit-trigger handling and the generic scope walker."""

from __future__ import annotations

import importlib
from typing import Any

from django.db import connection


def _migration_sql() -> Any:
    return importlib.import_module("yiwang.core.migrations.0002_audit_append_only")


def lift_audit_triggers() -> None:
    mod = _migration_sql()
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE core_auditrecord DISABLE TRIGGER USER")
        elif connection.vendor == "sqlite":
            for sql in mod.SQLITE_BACKWARD:
                cur.execute(sql)


def restore_audit_triggers() -> None:
    mod = _migration_sql()
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("ALTER TABLE core_auditrecord ENABLE TRIGGER USER")
        elif connection.vendor == "sqlite":
            for sql in mod.SQLITE_FORWARD:
                cur.execute(sql)


# --- The generic scope walker -----------------------------------------------------------------
# Every API operation and every page must have a registered case; the walker checks that an
# anonymous caller gets 401 (API) or a login redirect (page), an actor outside the object's
# scope gets 404, and an actor in scope gets the expected success status. Each app registers
# its cases in ``yiwang/<app>/tests/scope_cases.py``.

import pkgutil  # noqa: E402
import re  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402


@dataclass
class Probe:
    actor: str | None
    kwargs: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    expect: int = 200
    query: dict[str, Any] = field(default_factory=dict)


@dataclass
class EndpointCase:
    method: str
    path: str
    in_scope: Callable[[Any], Probe]
    out_of_scope: Callable[[Any], Probe] | None = None
    public: bool = False
    note: str = ""


REGISTRY: dict[tuple[str, str], EndpointCase] = {}
#: Functions that add an app's objects to the test world (run in registration order).
WORLD_BUILDERS: list[Callable[[Any], None]] = []
PAGE_NAMESPACES = {
    "web",
    "accounts",
    "grid",
    "registry",
    "registry_import",
    "open311",
    "cases",
    "policies",
    "exchange",
    "onestop",
    "certs",
    "ratings",
}
PAGE_EXEMPT = {"/accounts/login/"}  # public by nature


def register(case: EndpointCase) -> None:
    REGISTRY[(case.method.upper(), case.path)] = case


def register_world_builder(fn: Callable[[Any], None]) -> Callable[[Any], None]:
    if fn not in WORLD_BUILDERS:
        WORLD_BUILDERS.append(fn)
    return fn


def build_scope_world(world: Any) -> Any:
    load_cases()
    for fn in WORLD_BUILDERS:
        fn(world)
    return world


def load_cases() -> dict[tuple[str, str], EndpointCase]:
    import yiwang

    for mod in pkgutil.walk_packages(yiwang.__path__, "yiwang."):
        if mod.name.endswith(".tests.scope_cases"):
            importlib.import_module(mod.name)
    return REGISTRY


def api_operations() -> list[tuple[str, str]]:
    from yiwang.config.api import api

    schema = api.get_openapi_schema()
    ops = []
    for path, methods in schema["paths"].items():
        for method in methods:
            ops.append((method.upper(), path))
    return sorted(ops)


def _route_template(prefix: str, pattern: Any) -> str:
    route = str(pattern.pattern)
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    return prefix + route


def page_routes() -> list[str]:
    from django.urls import URLPattern, URLResolver, get_resolver

    out: list[str] = []

    def walk(patterns: Any, prefix: str, namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = p.namespace or namespace
                walk(p.url_patterns, _route_template(prefix, p), ns)
            elif isinstance(p, URLPattern) and namespace in PAGE_NAMESPACES:
                out.append("/" + _route_template(prefix, p).lstrip("/"))

    walk(get_resolver().url_patterns, "", None)
    return sorted(set(out) - PAGE_EXEMPT)


def fill(path: str, kwargs: dict[str, Any]) -> str:
    return re.sub(r"{(\w+)}", lambda m: str(kwargs[m.group(1)]), path)


def call(client: Any, method: str, path: str, probe: Probe, world: Any) -> Any:
    client.logout()
    if probe.actor is not None:
        client.force_login(world.users[probe.actor])
    url = fill(path, probe.kwargs)
    fn = getattr(client, method.lower())
    if method.upper() in {"POST", "PUT", "PATCH"}:
        body = dict(probe.body or {})
        files = body.pop("__files__", None)
        if files:  # multipart: {"field": (name, bytes)}
            from django.core.files.uploadedfile import SimpleUploadedFile

            for field_name, (name, data) in files.items():
                body[field_name] = SimpleUploadedFile(name, data)
            return fn(url, body)
        if path.startswith("/api/"):
            return fn(url, probe.body or {}, content_type="application/json", QUERY_STRING="")
        return fn(url, probe.body or {})
    return fn(url, probe.query)
