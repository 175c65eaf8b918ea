"""Registry jobs."""

from __future__ import annotations

from typing import Any

from huey.contrib.djhuey import db_task


@db_task()  # type: ignore[untyped-decorator]
def reassign_grids() -> dict[str, Any]:
    from yiwang.registry.actions import reassign_all

    return reassign_all()


from yiwang.registry.importing import tasks as _import_tasks  # noqa: E402, F401
