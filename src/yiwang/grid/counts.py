"""What the grid map and the grid profile count per grid (人, 地, 物, 事, 组织).

``grid`` sits below the apps that hold what is counted (``core <- accounts <- grid <- registry
<- domain apps``), so it imports none of them: each of those apps registers its metrics and a
scoped counting function here when Django starts (``AppConfig.ready``), and the grid pages ask
this module. With nothing registered the map simply has nothing to colour by.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from yiwang.accounts.models import User


@dataclass(frozen=True)
class Metric:
    key: str  # e.g. "people"
    label: Any  # a lazy translatable string
    #: URL name of the scoped list page, which filters by ``?grid=<grid code>``
    list_url: str = ""
    order: int = 0
    #: the capability the list page needs (the profile links to it only for those who have it)
    list_cap: str = ""


#: ``(actor, grid ids) -> {grid id: {metric key: count}}``; the grid ids are already the
#: actor's (a provider counts only rows the actor may see in those grids).
Counter = Callable[[User, Sequence[int]], dict[int, dict[str, int]]]

_PROVIDERS: dict[str, tuple[tuple[Metric, ...], Counter]] = {}


def register(name: str, metrics: Sequence[Metric], counter: Counter) -> None:
    """Register (or replace) the metrics of one app under ``name``."""
    _PROVIDERS[name] = (tuple(metrics), counter)


def metrics() -> list[Metric]:
    out = [m for ms, _c in _PROVIDERS.values() for m in ms]
    return sorted(out, key=lambda m: m.order)


def counts_for(actor: User, grid_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Every registered metric per grid, 0 where nothing is counted."""
    keys = [m.key for m in metrics()]
    out = {g: dict.fromkeys(keys, 0) for g in grid_ids}
    for _ms, counter in _PROVIDERS.values():
        for gid, row in counter(actor, grid_ids).items():
            if gid in out:
                out[gid].update(row)
    return out
