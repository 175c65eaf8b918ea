"""事 on the grid map and profile: open and overdue cases per grid (registered in
``grid.counts`` from ``CasesConfig.ready``).

Scoped like the registry's counts: only the grids among the ones asked for that are in the
actor's grid scope, and within them only the cases the actor may see (``case_scope_q``; a
department's staff count their department's cases, a data administrator, who does not see
cases, counts none).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from yiwang.accounts.models import User
from yiwang.accounts.roles import Cap
from yiwang.cases.models import Case, SlaLevel, StateType
from yiwang.cases.selectors import case_scope_q
from yiwang.grid import counts
from yiwang.grid.selectors import list_grids_for

KEYS = ("cases", "cases_overdue")


def count_per_grid(actor: User, grid_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Open cases and, of them, overdue ones (SLA red) per grid, in the actor's scope."""
    ids = list(list_grids_for(actor).filter(pk__in=list(grid_ids)).values_list("pk", flat=True))
    out: dict[int, dict[str, int]] = {g: dict.fromkeys(KEYS, 0) for g in ids}
    if not ids:
        return out
    # Resolve the scope to ids first: a grid worker's scope joins through grid members.
    visible = Case.objects.filter(case_scope_q(actor)).values("pk")
    rows = (
        Case.objects.filter(pk__in=visible, grid_id__in=ids, state__type=StateType.OPEN)
        .values("grid_id")
        .annotate(
            n=Count("pk"),
            overdue=Count("pk", filter=Q(sla_level=SlaLevel.RED)),
        )
    )
    for row in rows:
        out[row["grid_id"]] = {"cases": row["n"], "cases_overdue": row["overdue"]}
    return out


def register() -> None:
    counts.register(
        "cases",
        [
            counts.Metric("cases", _("Open cases"), "cases:list", 10, Cap.CASES_VIEW),
            counts.Metric("cases_overdue", _("Overdue cases"), "cases:list", 11, Cap.CASES_VIEW),
        ],
        count_per_grid,
    )
