"""Helpers that build cases through the actions, as the API would."""

from __future__ import annotations

from typing import Any

from yiwang.cases import actions
from yiwang.cases.models import Case


def loc(w: Any, side: str = "a", dx: float = 0.0) -> dict[str, float]:
    g = w.extra[f"grid_{side}"]
    return {"lng": g.centroid_lng + dx, "lat": g.centroid_lat}


def report(w: Any, side: str = "a", *, actor: str | None = None, **data: Any) -> Case:
    body = {"category": "C01004", "description": "井盖破损，有坠落危险", **loc(w, side)}
    body["attributes"] = {"hazard": "yes"}
    body.update(data)
    return actions.do_report_case(actor=w.users[actor or f"resident_{side}"], data=body)


def step(w: Any, case: Case, actor: str, transition: str, **kw: Any) -> Case:
    return actions.do_transition_case(
        actor=w.users[actor], case_id=case.pk, transition=transition, **kw
    )


def to_state(w: Any, case: Case, state: str, side: str = "a") -> Case:
    """Walk a reported case forward to ``state`` along the main path."""
    path = [
        ("registered", f"operator_{side}", "accept", {}),
        ("dispatched", f"operator_{side}", "dispatch", {}),
        ("handling", f"dept_staff_{side}", "start", {}),
        ("verifying", f"dept_staff_{side}", "feedback", {"note": "已更换井盖"}),
        ("closed", f"operator_{side}", "verify_pass", {}),
    ]
    for target, actor, t, kw in path:
        if case.state_id == state:
            break
        case = step(w, case, actor, t, **kw)
        if target == state:
            break
    return case
