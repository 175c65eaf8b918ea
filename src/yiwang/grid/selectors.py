"""Grid reads, scoped: a grid worker sees their grids; staff the grids in their territory.

Only roles with the ``registry.view`` capability see grids and the registry at all: the system,
security and audit administrators do not (三权分立; they administer, they do not govern).
"""

from __future__ import annotations

import threading
from typing import Any

from django.db.models import Max, Q, QuerySet
from shapely.geometry import shape

from yiwang.accounts.models import User
from yiwang.accounts.roles import Cap, Role
from yiwang.accounts.selectors import division_scope
from yiwang.core.errors import NotFound
from yiwang.grid.models import Grid
from yiwang.grid.spatial import GridIndex


def grid_scope_q(actor: User, prefix: str = "") -> Q:
    """A Q over a model with a grid FK at ``prefix`` (e.g. ``"grid__"``; ``""`` for Grid)."""
    if not actor.is_authenticated or not actor.is_active or not actor.can(Cap.REGISTRY_VIEW):
        return Q(pk__in=[])
    if actor.role == Role.GRID_WORKER:
        key = f"{prefix}members__user" if prefix else "members__user"
        return Q(**{key: actor})
    div = division_scope(actor)
    if div is None:
        return Q(pk__in=[])
    return Q(**{f"{prefix}code__startswith": div.prefix})


def grid_admin_prefix(actor: User | None) -> str | None:
    """The division prefix under which ``actor`` administers grids (imports, members).

    ``""`` means everywhere: the system itself (``actor`` None: CLI without ``--user``, demo,
    tests) and the system administrator, who is whole-platform for organisation data as in
    ``accounts.selectors.WHOLE_PLATFORM_ROLES``. A data administrator administers the
    division subtree of their post; anyone else nothing (``None``).
    """
    if actor is None:
        return ""
    if not actor.is_authenticated or not actor.is_active:
        return None
    if actor.role == Role.SYSADMIN:
        return ""
    if actor.role == Role.DATA_ADMIN:
        div = division_scope(actor)
        return None if div is None else str(div.prefix)
    return None


def administered_grids_for(actor: User | None) -> QuerySet[Grid]:
    """Grids ``actor`` may change (import over, assign and remove members)."""
    prefix = grid_admin_prefix(actor)
    if prefix is None:
        return Grid.objects.none()
    return Grid.objects.filter(code__startswith=prefix).select_related("community")


def access_administered_grid(actor: User | None, grid_id: int) -> Grid:
    grid = administered_grids_for(actor).filter(pk=grid_id).first()
    if grid is None:
        raise NotFound()
    return grid


def list_grids_for(actor: User) -> QuerySet[Grid]:
    return Grid.objects.filter(grid_scope_q(actor)).select_related("community").distinct()


def access_grid(actor: User, grid_id: int) -> Grid:
    try:
        return list_grids_for(actor).get(pk=grid_id)
    except Grid.DoesNotExist:
        raise NotFound() from None


def grid_ids_for(actor: User) -> list[int]:
    return list(list_grids_for(actor).values_list("pk", flat=True))


def feature_collection(
    grids: QuerySet[Grid], extra: dict[int, dict[str, Any]] | None = None
) -> dict[str, Any]:
    feats = []
    for g in grids:
        props: dict[str, Any] = {
            "id": g.pk,
            "code": g.code,
            "name": g.name,
            "community": g.community.code,
            "area_m2": g.area_m2,
        }
        if extra and g.pk in extra:
            props.update(extra[g.pk])
        feats.append({"type": "Feature", "id": g.code, "geometry": g.geometry, "properties": props})
    return {"type": "FeatureCollection", "features": feats}


# --- The process-wide grid index, rebuilt when grids change ----------------------------------
_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "index": None}


def _version_key() -> tuple[Any, ...]:
    agg = Grid.objects.filter(active=True).aggregate(m=Max("updated_at"), n=Max("pk"))
    return (agg["m"], agg["n"], Grid.objects.filter(active=True).count())


def grid_index() -> GridIndex:
    key = _version_key()
    with _lock:
        if _cache["key"] != key or _cache["index"] is None:
            rows = list(Grid.objects.filter(active=True).values_list("pk", "geometry"))
            _cache["index"] = GridIndex.build([r[0] for r in rows], [shape(r[1]) for r in rows])
            _cache["key"] = key
        return _cache["index"]  # type: ignore[no-any-return]
