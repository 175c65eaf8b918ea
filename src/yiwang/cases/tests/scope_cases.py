"""Scope cases for the cases API and pages, and the cases every scope test world gets."""

from __future__ import annotations

from typing import Any

from yiwang.core.testing import register_world_builder

# Grids must exist before cases are reported: importing the grid cases first registers
# their world builder ahead of ours.
from yiwang.grid.tests import scope_cases as _grid_scope_cases  # noqa: F401


@register_world_builder
def build_cases(w: Any) -> None:
    from yiwang.cases import actions
    from yiwang.cases.models import RoutingRule
    from yiwang.cases.tests.factories import report

    for side in ("a", "b"):
        RoutingRule.objects.create(
            division_prefix=w.divisions[f"county_{side}"].prefix,
            department=w.departments[f"bureau_{side}"],
            note="城管局 takes everything in its district",
        )
        w.extra[f"case_{side}"] = report(w, side)
    _, w.extra["open311_key"] = actions.do_create_open311_client(actor=None, name="test app")


def _c(w: Any, side: str = "a") -> int:
    return int(w.extra[f"case_{side}"].pk)
