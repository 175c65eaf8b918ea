"""Scope cases for the certificates API and pages (registered only once the app is
installed, so the project's scope walk is unaffected until integration)."""

from __future__ import annotations

from typing import Any

from yiwang.core.testing import EndpointCase, Probe, register, register_world_builder


def _build(w: Any) -> None:
    from yiwang.certs.tests.factories import build

    build(w)


def _id(w: Any) -> dict[str, str]:
    return {"identifier": w.extra["cert_a"].identifier}


def _cp(w: Any) -> dict[str, str]:
    return {"identifier": w.extra["copy_a"].identifier}


def _payload(w: Any) -> str:
    return str(w.extra["cert_a"].payload())


A = "/api/v1/certs"


def _register() -> None:
    register_world_builder(_build)
    # --- API -------------------------------------------------------------------------------
    register(
        EndpointCase(
            "POST",
            f"{A}/verify",
            public=True,
            in_scope=lambda w: Probe(None, body={"qr_payload": _payload(w)}),
        )
    )
    register(EndpointCase("GET", f"{A}/keys", public=True, in_scope=lambda w: Probe(None)))
    register(
        EndpointCase(
            "GET",
            f"{A}/mine",
            in_scope=lambda w: Probe("resident_a"),
            out_of_scope=lambda w: Probe("dept_staff_a", expect=403),
        )
    )
    register(
        EndpointCase(
            "GET",
            f"{A}/issued",
            in_scope=lambda w: Probe("dept_staff_a"),
            out_of_scope=lambda w: Probe("resident_a", expect=403),
        )
    )
    register(
        EndpointCase(
            "GET",
            f"{A}/certificates/{{identifier}}",
            in_scope=lambda w: Probe("resident_a", _id(w)),
            out_of_scope=lambda w: Probe("resident_b", _id(w), expect=404),
        )
    )
    register(
        EndpointCase(
            "POST",
            f"{A}/certificates/{{identifier}}/copies",
            in_scope=lambda w: Probe(
                "resident_a",
                _id(w),
                body={"purpose": "办理入学", "recipient_department": w["centre_a"].code},
                expect=201,
            ),
            out_of_scope=lambda w: Probe(
                "dept_staff_b",
                _id(w),
                body={"purpose": "办理入学", "recipient_department": w["centre_a"].code},
                expect=404,
            ),
        )
    )
    register(
        EndpointCase(
            "POST",
            f"{A}/certificates/{{identifier}}/revoke",
            in_scope=lambda w: Probe("dept_leader_a", _id(w), body={"reason": "信息有误"}),
            out_of_scope=lambda w: Probe(
                "dept_staff_b", _id(w), body={"reason": "信息有误"}, expect=404
            ),
        )
    )
    register(
        EndpointCase(
            "GET",
            f"{A}/copies",
            in_scope=lambda w: Probe("resident_a"),
            out_of_scope=lambda w: Probe("operator_a", expect=403),
        )
    )
    register(
        EndpointCase(
            "GET",
            f"{A}/copies/{{identifier}}",
            in_scope=lambda w: Probe("resident_a", _cp(w)),
            out_of_scope=lambda w: Probe("resident_b", _cp(w), expect=404),
        )
    )
    # --- pages -----------------------------------------------------------------------------
    register(
        EndpointCase(
            "GET",
            "/certs/",
            in_scope=lambda w: Probe("resident_a"),
            out_of_scope=lambda w: Probe("dept_staff_a", expect=404),
        )
    )
    register(
        EndpointCase("GET", "/certs/verify/", public=True, in_scope=lambda w: Probe(None, query={}))
    )
    register(EndpointCase("GET", "/certs/keys.json", public=True, in_scope=lambda w: Probe(None)))
    register(
        EndpointCase(
            "GET",
            "/certs/issued/",
            in_scope=lambda w: Probe("dept_staff_a"),
            out_of_scope=lambda w: Probe("resident_a", expect=404),
        )
    )
    register(
        EndpointCase(
            "GET",
            "/certs/received/",
            in_scope=lambda w: Probe("dept_staff_a"),
            out_of_scope=lambda w: Probe("resident_a", expect=404),
        )
    )
    for suffix in ("", "qr.svg"):
        register(
            EndpointCase(
                "GET",
                f"/certs/c/{{identifier}}/{suffix}",
                in_scope=lambda w: Probe("resident_a", _id(w)),
                out_of_scope=lambda w: Probe("resident_b", _id(w), expect=404),
            )
        )
        register(
            EndpointCase(
                "GET",
                f"/certs/copies/{{identifier}}/{suffix}",
                in_scope=lambda w: Probe("resident_a", _cp(w)),
                out_of_scope=lambda w: Probe("dept_staff_b", _cp(w), expect=404),
            )
        )
    register(
        EndpointCase(
            "GET",
            "/certs/c/{identifier}/copy/",
            in_scope=lambda w: Probe("resident_a", _id(w)),
            out_of_scope=lambda w: Probe("resident_b", _id(w), expect=404),
        )
    )
    register(
        EndpointCase(
            "POST",
            "/certs/c/{identifier}/revoke/",
            in_scope=lambda w: Probe(
                "dept_leader_a", _id(w), body={"reason": "信息有误"}, expect=302
            ),
            out_of_scope=lambda w: Probe(
                "dept_staff_b", _id(w), body={"reason": "信息有误"}, expect=404
            ),
        )
    )


_register()
