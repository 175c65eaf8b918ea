"""Synthetic cases for the demo district, reported and walked forward through the real actions
(so every step is audited and on the timeline), spread over the workflow's stages."""

from __future__ import annotations

import random
from typing import Any

from yiwang.accounts.models import User
from yiwang.accounts.roles import Role
from yiwang.cases import actions
from yiwang.cases.models import Case, Category
from yiwang.grid.models import Grid

MARK = "（演示）"

#: Share of cases walked at least to each step, in workflow order.
PATH = [
    ("accept", "operator", 0.75),
    ("dispatch", "operator", 0.6),
    ("start", "handler", 0.45),
    ("feedback", "handler", 0.3),
    ("verify_pass", "operator", 0.2),
]


def _attributes(category: Category) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for a in category.attributes or []:
        if not a.get("required"):
            continue
        values = a.get("values") or []
        if values:
            key = values[0]["key"]
            out[a["code"]] = [key] if a.get("datatype") == "multivaluelist" else key
        elif a.get("datatype") == "number":
            out[a["code"]] = 1
        else:
            out[a["code"]] = "演示"
    return out


def seed_cases(*, count: int = 120, seed: int = 12345) -> int:
    """Report ``count`` cases once (a second run adds nothing); returns how many were made."""
    if count <= 0 or Case.objects.filter(description__endswith=MARK).exists():
        return 0
    rng = random.Random(seed)
    reporters = list(User.objects.filter(role=Role.RESIDENT, synthetic=True).order_by("pk")[:20])
    operator = User.objects.filter(username="operator").first()
    # The demo's handling departments: city management, and market supervision for street trading.
    from yiwang.accounts.models import Department

    handlers = {
        d.code.rsplit("-", 1)[-1]: d for d in Department.objects.filter(code__regex=r"-(cgj|scj)$")
    }
    grids = list(Grid.objects.filter(synthetic=True).order_by("code"))
    categories = list(Category.objects.filter(active=True, public=True).order_by("kind", "code"))
    if not reporters or operator is None or not grids or not categories:
        return 0
    made = 0
    for n in range(count):
        category = categories[n % len(categories)]
        grid = grids[rng.randrange(len(grids))]
        w = (grid.max_lng - grid.min_lng) / 4
        h = (grid.max_lat - grid.min_lat) / 4
        case = actions.do_report_case(
            actor=reporters[n % len(reporters)],
            data={
                "category": f"{'C' if category.kind == 'component' else 'E'}{category.code}",
                "description": f"{category.name}，请尽快处理{MARK}",
                "lng": grid.centroid_lng + rng.uniform(-w, w),
                "lat": grid.centroid_lat + rng.uniform(-h, h),
                "attributes": _attributes(category),
            },
        )
        made += 1
        depth = rng.random()
        for transition, who, share in PATH:
            if depth > share:
                break
            actor = operator
            if who == "handler":
                handler = User.objects.filter(
                    department=case.department, role=Role.DEPT_STAFF, is_active=True
                ).first()
                if handler is None:
                    break
                actor = handler
            note = "已现场处置完毕" if transition == "feedback" else ""
            extra: dict[str, Any] = {}
            if transition == "dispatch":
                dept = handlers.get("scj" if "经营" in category.name else "cgj")
                if dept is None:
                    break
                extra["department_id"] = dept.pk
                note = f"按职责派遣至{dept.name}"
            case = actions.do_transition_case(
                actor=actor, case_id=case.pk, transition=transition, note=note, **extra
            )
    return made
