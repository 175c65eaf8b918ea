"""Data quality rules per dataset: completeness, validity, uniqueness, timeliness."""

from __future__ import annotations

import importlib
from types import ModuleType


def stdnum_module(name: str) -> ModuleType | None:
    """``cn.uscc`` → ``stdnum.cn.uscc`` (None when python-stdnum has no such module)."""
    if not name or not all(part.isidentifier() for part in name.split(".")):
        return None
    try:
        mod = importlib.import_module(f"stdnum.{name}")
    except ImportError:
        return None
    return mod if hasattr(mod, "is_valid") else None
