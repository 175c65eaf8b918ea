"""Reactions to other apps' events."""

from __future__ import annotations

from typing import Any

from yiwang.core import events


@events.subscriber("grid.changed", background=True)
def reassign_after_grid_change(payload: dict[str, Any]) -> None:
    from yiwang.registry.actions import reassign_all

    reassign_all()
