"""The code table that city-part class codes are checked against, when one is loaded.

The class codes of 部件 (5 digits: 2 major + 3 minor, e.g. ``01001`` water-supply manhole
cover) come from the industry standard a deployment follows (CJ/T 214-2007, GB/T 30428.2 and
local editions differ). We do not ship the table — we have no authoritative copy — so a
deployment loads its own through the central code tables (``yiwang codetable import
cjt214 …``, ADR 0019) under the name in ``YIWANG_PART_CLASS_TABLE`` (default ``cjt214``).
When a version is valid today, imports and the API refuse class codes not in it; until then
only the form of the code is checked.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from yiwang.core import codetables
from yiwang.core.errors import NotFound


class PartClasses:
    """The loaded table's codes, for many checks (one query)."""

    def __init__(self) -> None:
        table = getattr(settings, "YIWANG_PART_CLASS_TABLE", "cjt214")
        self.name = codetables.display(codetables.canonical(table))
        try:
            ver, self.codes = codetables.members(table)
        except NotFound:
            self.codes = frozenset()
            self.version = ""
            self.loaded = False
            return
        self.version = ver.version
        self.loaded = True

    def error(self, code: str) -> str | None:
        """Why ``code`` is refused (None: it is in the table, or no table is loaded)."""
        if not self.loaded or code in self.codes:
            return None
        return _(
            "Unknown part class code %(code)s (code table %(table)s, version %(version)s)."
        ) % {
            "code": code,
            "table": self.name,
            "version": self.version,
        }


__all__ = ["PartClasses"]
