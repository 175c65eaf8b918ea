"""Per-process caches for the intake hot path: category by service code, the route for
(category, grid), the command centre over a division, workflow states, and grid rows by id.

These are configuration that changes rarely (in the admin or by an import), read on every
report. A saved or deleted ``Category``, ``RoutingRule``, ``State``, ``Department``,
``Division`` or ``Grid`` clears the cache of the process that saved it at once; other server
processes see the change after at most ``TTL`` seconds (``INDEX_TTL`` for the grid index).
Grid rows are cached per grid index (``grid.selectors.grid_index``), which is rebuilt
whenever the grids change, so a grid row is never older than the index that chose it.
See docs/adr/0011-cases.md.

Cached model instances are shared between threads and must be treated as read-only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models.signals import post_delete, post_save

T = TypeVar("T")
TTL = 60.0
_lock = threading.Lock()
_store: dict[tuple[Any, ...], tuple[float, Any]] = {}
_grids: dict[str, Any] = {"index": None, "rows": {}, "territory": None}


def cached(key: tuple[Any, ...], load: Callable[[], T]) -> T:
    now = time.monotonic()
    hit = _store.get(key)
    if hit is not None and now - hit[0] < TTL:
        return hit[1]  # type: ignore[no-any-return]
    value = load()
    with _lock:
        _store[key] = (now, value)
    return value


def clear(*args: Any, **kwargs: Any) -> None:
    with _lock:
        _store.clear()
        _grids["index"] = None
        _grids["rows"] = {}
        _grids["territory"] = None


def category(service_code: str) -> Any:
    from yiwang.cases.selectors import get_category

    code = (service_code or "").strip().upper()
    return cached(("category", code), lambda: get_category(code))


def route(category: Any, grid: Any) -> Any:
    from yiwang.cases import routing

    key = ("route", category.pk, grid.pk if grid is not None else None)
    return cached(key, lambda: routing.route(category, grid))


def centre_for(division_prefix: str) -> Any:
    from yiwang.cases import routing

    return cached(("centre", division_prefix), lambda: routing.centre_for(division_prefix))


def state(code: str) -> Any:
    from yiwang.cases.models import State

    return cached(("state", code), lambda: State.objects.get(pk=code))


#: How long a process trusts its grid index before asking the database whether grids changed.
INDEX_TTL = 10.0


def grid_index() -> Any:
    """``grid.selectors.grid_index()``, whose freshness check costs two queries, at most once
    per ``INDEX_TTL`` seconds per process (at once after a grid is saved in this process)."""
    from yiwang.grid import selectors

    now = time.monotonic()
    hit = _store.get(("grid_index",))
    if hit is not None and now - hit[0] < INDEX_TTL:
        return hit[1]
    index = selectors.grid_index()
    with _lock:
        _store[("grid_index",)] = (now, index)
    return index


def grid(index: Any, grid_id: int) -> Any:
    """The grid row (with its community) that ``index`` assigned a point to."""
    from yiwang.grid.models import Grid

    with _lock:
        if _grids["index"] is not index:
            _grids["index"], _grids["rows"], _grids["territory"] = index, {}, None
        rows = _grids["rows"]
    row = rows.get(grid_id)
    if row is None:
        row = Grid.objects.select_related("community").get(pk=grid_id)
        rows[grid_id] = row
    return row


def territory(build: Callable[[], T]) -> T:
    """The residents' territory map, rebuilt when the grid index is (the grids changed)."""
    index = grid_index()
    with _lock:
        if _grids["index"] is not index:
            _grids["index"], _grids["rows"], _grids["territory"] = index, {}, None
        value = _grids.get("territory")
    if value is None:
        value = build()
        with _lock:
            if _grids["index"] is index:
                _grids["territory"] = value
    return value


def connect() -> None:
    """Clear on every change of the configuration the caches hold (called from apps.ready)."""
    from yiwang.accounts.models import Department, Division
    from yiwang.cases.models import Category, RoutingRule, State
    from yiwang.grid.models import Grid

    for model in (Category, RoutingRule, State, Department, Division, Grid):
        post_save.connect(clear, sender=model, dispatch_uid=f"cases.lookups.{model.__name__}.s")
        post_delete.connect(clear, sender=model, dispatch_uid=f"cases.lookups.{model.__name__}.d")
