"""Scope cases for the 一网通办 department console pages (imported by scope_cases.py).

The scope world's ``onestop_task_a`` is the registration task of enterprise a's submitted
application, owned by bureau a: ``dept_staff_a`` is in scope, ``dept_staff_b`` (bureau b, same
capability) gets 404, a resident (no capability) gets 404 on the list pages."""

from __future__ import annotations

from typing import Any

from yiwang.core.testing import EndpointCase, Probe, register

C = "/services/console"


def _task(w: Any) -> dict[str, Any]:
    return {"task_id": w.extra["onestop_task_a"].pk}


def _version(w: Any) -> int:
    from yiwang.onestop.models import ApprovalTask

    return ApprovalTask.objects.get(pk=w.extra["onestop_task_a"].pk).version


def _file(w: Any) -> dict[str, Any]:
    return {**_task(w), "material_id": w.extra["onestop_kit"].materials["lease"].pk}


register(
    EndpointCase(
        "GET",
        f"{C}/",
        in_scope=lambda w: Probe("dept_staff_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=404),
        note="the department's inbox; without the capability a 404",
    )
)
register(
    EndpointCase(
        "GET",
        f"{C}/statistics/",
        in_scope=lambda w: Probe("dept_staff_a"),
        out_of_scope=lambda w: Probe("resident_a", expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{C}/tasks/{{task_id}}/",
        in_scope=lambda w: Probe("dept_staff_a", _task(w)),
        out_of_scope=lambda w: Probe("dept_staff_b", _task(w), expect=404),
    )
)
register(
    EndpointCase(
        "GET",
        f"{C}/tasks/{{task_id}}/materials/{{material_id}}/file/",
        in_scope=lambda w: Probe("dept_staff_a", _file(w)),
        out_of_scope=lambda w: Probe("dept_staff_b", _file(w), expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{C}/tasks/{{task_id}}/claim/",
        # success redirects back to the task page
        in_scope=lambda w: Probe(
            "dept_staff_a", _task(w), body={"version": _version(w)}, expect=302
        ),
        out_of_scope=lambda w: Probe("dept_staff_b", _task(w), body={"version": 0}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{C}/tasks/{{task_id}}/release/",
        # not claimed: the conflict comes back as a message on the task page
        in_scope=lambda w: Probe("dept_staff_a", _task(w), body={}, expect=302),
        out_of_scope=lambda w: Probe("dept_staff_b", _task(w), body={}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{C}/tasks/{{task_id}}/supplement/",
        # not claimed: a conflict message (302); an empty note would be a 422 re-render
        in_scope=lambda w: Probe("dept_staff_a", _task(w), body={"note": "补"}, expect=302),
        out_of_scope=lambda w: Probe("dept_staff_b", _task(w), body={"note": "补"}, expect=404),
    )
)
register(
    EndpointCase(
        "POST",
        f"{C}/tasks/{{task_id}}/decide/",
        # a rejection without a reason: the page again with the field error, nothing changed
        in_scope=lambda w: Probe("dept_staff_a", _task(w), body={"decision": "reject"}, expect=422),
        out_of_scope=lambda w: Probe(
            "dept_staff_b", _task(w), body={"decision": "approve"}, expect=404
        ),
    )
)
