"""Scope cases for the code-table API (/api/v1/codetables) and what every scope world gets."""

from __future__ import annotations

from typing import Any

from yiwang.core.testing import EndpointCase, Probe, register, register_world_builder


@register_world_builder
def build_codetables(w: Any) -> None:
    from yiwang.core.codetables import load_shipped

    load_shipped(actor=None)


C = "/api/v1/codetables"
_NEW = {"version": "2099", "rows": [{"code": "1", "name": "男"}, {"code": "2", "name": "女"}]}

register(
    EndpointCase(
        "GET",
        C,
        in_scope=lambda w: Probe("dept_staff_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=403),
    )
)
register(
    EndpointCase(
        "GET",
        f"{C}/{{table}}/values",
        in_scope=lambda w: Probe("grid_worker_a", {"table": "gbt2261.1"}),
        out_of_scope=lambda w: Probe("enterprise_a", {"table": "gbt2261.1"}, expect=403),
    )
)
register(
    EndpointCase(
        "GET",
        f"{C}/{{table}}/diff",
        in_scope=lambda w: Probe(
            "dept_staff_a", {"table": "gbt2261.1"}, query={"old": "2003", "new": "2003"}
        ),
        out_of_scope=lambda w: Probe(
            "resident_a", {"table": "gbt2261.1"}, query={"old": "2003", "new": "2003"}, expect=403
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{C}/{{table}}/versions",
        in_scope=lambda w: Probe("data_admin_a", {"table": "yw-test"}, body=_NEW, expect=201),
        out_of_scope=lambda w: Probe("dept_leader_a", {"table": "yw-test"}, body=_NEW, expect=403),
        note="code tables are managed centrally by data administrators",
    )
)
register(
    EndpointCase(
        "POST",
        f"{C}/{{table}}/versions/{{version}}/validity",
        in_scope=lambda w: Probe(
            "data_admin_a",
            {"table": "gbt2261.2", "version": "2003"},
            body={"valid_from": "2003-01-01"},
        ),
        out_of_scope=lambda w: Probe(
            "dept_staff_a",
            {"table": "gbt2261.2", "version": "2003"},
            body={"valid_from": "2003-01-01"},
            expect=403,
        ),
    )
)
