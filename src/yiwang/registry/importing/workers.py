"""Entry points of the worker processes that clean and encrypt rows for an import.

Workers are started with ``spawn`` (a fresh interpreter, safe from a threaded job runner), so
this module imports nothing from Django at module level: ``init`` sets Django up first.
Workers never touch the database; they only run ``runner.prepare_rows``.
"""

from __future__ import annotations

import os
from typing import Any

_STATE: dict[str, Any] = {}


def init(entity_type: str, present: list[str], language: str, compact: bool = False) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiwang.config.settings")
    import django

    django.setup()
    from django.utils import translation

    from yiwang.registry.importing.handlers import HANDLERS

    if language:
        translation.activate(language)
    handler = HANDLERS[entity_type]()
    handler.prepare(set(present))
    _STATE["handler"] = handler
    _STATE["compact"] = compact
    # A worker lives for one import: its set-up objects need no more collecting, and rows
    # are short-lived containers by the hundred thousand (see ``runner.quiet_gc``).
    from yiwang.registry.importing.runner import quiet_gc

    quiet_gc()


def work(rows: list[tuple[int, list[str]]], index: dict[str, int]) -> Any:
    """Clean, convert and encrypt a batch; items go back as tuples (``Item(*t)`` rebuilds),
    or, for people on the compact path (``compact``), as ``people.Preparer.prepare`` gives
    them."""
    if _STATE.get("compact"):
        from yiwang.registry.importing import people

        return people.preparer(_STATE["handler"], index).prepare(rows)
    from yiwang.registry.importing.runner import prepare_rows

    return [it.as_tuple() for it in prepare_rows(_STATE["handler"], rows, index, seal=True)]
