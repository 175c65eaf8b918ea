"""Scope cases for the 一网通办 API and pages, and what every scope world gets: a bundle whose
registration task belongs to the world's bureau a, a submitted application and a draft of
enterprise a."""

from __future__ import annotations

from typing import Any

from yiwang.core.testing import EndpointCase, Probe, register, register_world_builder


@register_world_builder
def build_onestop(w: Any) -> None:
    from yiwang.onestop import actions
    from yiwang.onestop.tests.factories import build_kit, submitted_application

    kit = build_kit(w, use={"scj": w.departments["bureau_a"]})
    w.extra["onestop_kit"] = kit
    app = submitted_application(kit, w.users["enterprise_a"])
    w.extra["onestop_app_a"] = app
    w.extra["onestop_task_a"] = app.tasks.get(implementation__code="I-reg")
    w.extra["onestop_draft_a"] = actions.do_start_application(
        actor=w.users["enterprise_a"], bundle_code="shop"
    )


def _task(w: Any) -> dict[str, Any]:
    return {"task_id": w.extra["onestop_task_a"].pk}


def _app(w: Any) -> dict[str, Any]:
    return {"application_id": w.extra["onestop_app_a"].pk}


def _draft(w: Any) -> dict[str, Any]:
    return {"application_id": w.extra["onestop_draft_a"].pk}


A = "/api/v1/onestop"
register(EndpointCase("GET", f"{A}/bundles", in_scope=lambda w: Probe(None), public=True))
register(
    EndpointCase(
        "GET",
        f"{A}/bundles/{{code}}",
        in_scope=lambda w: Probe(None, {"code": "shop"}),
        out_of_scope=lambda w: Probe(None, {"code": "nope"}, expect=404),
        public=True,
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/bundles/{{code}}/plan",
        in_scope=lambda w: Probe(None, {"code": "shop"}, body={"answers": {"has_sign": True}}),
        out_of_scope=lambda w: Probe(None, {"code": "nope"}, body={"answers": {}}, expect=404),
        public=True,
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/applications",
        in_scope=lambda w: Probe("enterprise_a", body={"bundle": "shop"}, expect=201),
        out_of_scope=lambda w: Probe("dept_staff_a", body={"bundle": "shop"}, expect=403),
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/applications",
        in_scope=lambda w: Probe("enterprise_a"),
    )
)
register(
    EndpointCase(
        "GET",
        f"{A}/applications/{{application_id}}",
        in_scope=lambda w: Probe("enterprise_a", _app(w)),
        out_of_scope=lambda w: Probe("enterprise_b", _app(w), expect=404),
    )
)
register(
    EndpointCase(
        "PATCH",
        f"{A}/applications/{{application_id}}",
        in_scope=lambda w: Probe("enterprise_a", _draft(w), body={"answers": {"area": 30}}),
        out_of_scope=lambda w: Probe(
            "enterprise_b", _draft(w), body={"answers": {"area": 30}}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/applications/{{application_id}}/materials/{{material_id}}",
        in_scope=lambda w: Probe(
            "enterprise_a",
            {**_draft(w), "material_id": w.extra["onestop_kit"].materials["lease"].pk},
            body={"__files__": {"file": ("lease.pdf", b"%PDF-1.7 test")}},
        ),
        out_of_scope=lambda w: Probe(
            "enterprise_b",
            {**_draft(w), "material_id": w.extra["onestop_kit"].materials["lease"].pk},
            body={"__files__": {"file": ("lease.pdf", b"%PDF-1.7 test")}},
            expect=404,
        ),
        note="multipart",
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/applications/{{application_id}}/submit",
        # the draft has no answers yet: a field-level 422 is the in-scope answer
        in_scope=lambda w: Probe("enterprise_a", _draft(w), body={}, expect=422),
        out_of_scope=lambda w: Probe("enterprise_b", _draft(w), body={}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/applications/{{application_id}}/supplement",
        # nothing asked: the in-scope answer is a 409 saying so
        in_scope=lambda w: Probe("enterprise_a", _app(w), body={"note": "x"}, expect=409),
        out_of_scope=lambda w: Probe("enterprise_b", _app(w), body={"note": "x"}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/applications/{{application_id}}/withdraw",
        in_scope=lambda w: Probe("enterprise_a", _draft(w)),
        out_of_scope=lambda w: Probe("enterprise_b", _draft(w), expect=404),
    )
)
register(EndpointCase("GET", f"{A}/tasks", in_scope=lambda w: Probe("dept_staff_a")))
register(
    EndpointCase(
        "GET",
        f"{A}/tasks/{{task_id}}",
        in_scope=lambda w: Probe("dept_staff_a", _task(w)),
        out_of_scope=lambda w: Probe("dept_staff_b", _task(w), expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/tasks/{{task_id}}/claim",
        in_scope=lambda w: Probe("dept_staff_a", _task(w), body={}),
        out_of_scope=lambda w: Probe("dept_staff_b", _task(w), body={}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/tasks/{{task_id}}/release",
        # not claimed: the in-scope answer is a 409
        in_scope=lambda w: Probe("dept_staff_a", _task(w), expect=409),
        out_of_scope=lambda w: Probe("dept_staff_b", _task(w), expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/tasks/{{task_id}}/supplement",
        in_scope=lambda w: Probe("dept_staff_a", _task(w), body={"note": "补"}, expect=409),
        out_of_scope=lambda w: Probe("dept_staff_b", _task(w), body={"note": "补"}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{A}/tasks/{{task_id}}/decide",
        in_scope=lambda w: Probe("dept_staff_a", _task(w), body={"approve": True}, expect=409),
        out_of_scope=lambda w: Probe("dept_staff_b", _task(w), body={"approve": True}, expect=404),
    )
)
register(EndpointCase("GET", f"{A}/statistics", in_scope=lambda w: Probe("dept_staff_a")))

from yiwang.onestop.tests import scope_console, scope_guide, scope_pages  # noqa: E402,F401
