"""How an import's history entries show values: as ``registry.history`` does (personal values
masked), with the per-field rule looked up once instead of per value."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from django.db.models import Model

from yiwang.registry.history import MASK_BY_FIELD

LOCATION = ("lng", "lat", "coord_system", "grid_id")


PLAIN = (int, float, bool, list)


def shower(model: type[Model], name: str) -> Callable[[Any], Any]:
    """How ``registry.history`` shows a value of this field (masked where personal), as a
    function prepared once per field instead of looked up per value."""
    from yiwang.core.personal import pi_class_of

    f = model._meta.get_field(name)
    if pi_class_of(f) is None:
        return lambda v: v if type(v) in PLAIN else str(v)
    masker = MASK_BY_FIELD.get(name)
    if masker is not None:
        return lambda v: masker(str(v))
    if name in {"lat", "lng"}:
        return lambda v: round(float(v), 3)
    return lambda v: "***"


def splice_json(prefix: str, extra: Iterable[tuple[str, Any]]) -> str:
    """Add ``key: value`` pairs to a JSON object given as text (``"{}"`` or ``"{…}"``)."""
    parts = []
    for key, value in extra:
        if (
            type(value) is list
            and len(value) == 2
            and value[0] is None
            and type(value[1]) is int
            and key.isidentifier()
        ):
            # The common case (a grid or place id), formatted as json.dumps would.
            parts.append(f'"{key}": [null, {value[1]}]')
        else:
            parts.append(
                json.dumps(key, ensure_ascii=False) + ": " + json.dumps(value, ensure_ascii=False)
            )
    if not parts:
        return prefix
    if prefix == "{}":
        return "{" + ", ".join(parts) + "}"
    return prefix[:-1] + ", " + ", ".join(parts) + "}"
