from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from yiwang import __version__
from yiwang.web.navigation import items_for


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"nav_items": items_for(user), "yiwang_version": __version__}
