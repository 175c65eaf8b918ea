"""Scope cases for the applicant's 一网通办 pages (imported by scope_cases.py)."""

from __future__ import annotations

from typing import Any

from yiwang.core.testing import EndpointCase, Probe, register

S = "/services"


def _app(w: Any) -> dict[str, Any]:
    return {"application_id": w.extra["onestop_app_a"].pk}


def _draft(w: Any) -> dict[str, Any]:
    return {"application_id": w.extra["onestop_draft_a"].pk}


def _lease(w: Any) -> int:
    return int(w.extra["onestop_kit"].materials["lease"].pk)


register(
    EndpointCase(
        "GET",
        f"{S}/apply/{{code}}/",
        in_scope=lambda w: Probe(None, {"code": "shop"}),
        out_of_scope=lambda w: Probe(None, {"code": "nope"}, expect=404),
        public=True,
    )
)
register(EndpointCase("GET", f"{S}/applications/", in_scope=lambda w: Probe("enterprise_a")))
register(
    EndpointCase(
        "GET",
        f"{S}/applications/{{application_id}}/",
        in_scope=lambda w: Probe("enterprise_a", _app(w)),
        out_of_scope=lambda w: Probe("enterprise_b", _app(w), expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{S}/applications/{{application_id}}/save/",
        in_scope=lambda w: Probe("enterprise_a", _draft(w), body={"q_area": "30"}, expect=302),
        out_of_scope=lambda w: Probe("enterprise_b", _draft(w), body={"q_area": "30"}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{S}/applications/{{application_id}}/materials/{{material_id}}/",
        in_scope=lambda w: Probe(
            "enterprise_a",
            {**_draft(w), "material_id": _lease(w)},
            body={"__files__": {"file": ("lease.pdf", b"%PDF-1.7 x")}},
            expect=302,
        ),
        out_of_scope=lambda w: Probe(
            "enterprise_b",
            {**_draft(w), "material_id": _lease(w)},
            body={"__files__": {"file": ("lease.pdf", b"%PDF-1.7 x")}},
            expect=404,
        ),
    )
)
register(
    EndpointCase(
        "GET",
        f"{S}/applications/{{application_id}}/materials/{{material_id}}/file/",
        in_scope=lambda w: Probe("enterprise_a", {**_app(w), "material_id": _lease(w)}),
        out_of_scope=lambda w: Probe(
            "enterprise_b", {**_app(w), "material_id": _lease(w)}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{S}/applications/{{application_id}}/submit/",
        in_scope=lambda w: Probe("enterprise_a", _draft(w), expect=422),
        out_of_scope=lambda w: Probe("enterprise_b", _draft(w), expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{S}/applications/{{application_id}}/supplement/",
        in_scope=lambda w: Probe("enterprise_a", _app(w), body={"note": "x"}, expect=302),
        out_of_scope=lambda w: Probe("enterprise_b", _app(w), body={"note": "x"}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{S}/applications/{{application_id}}/withdraw/",
        in_scope=lambda w: Probe("enterprise_a", _draft(w), expect=302),
        out_of_scope=lambda w: Probe("enterprise_b", _draft(w), expect=404),
    )
)
