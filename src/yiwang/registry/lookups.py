"""``tags__has_element="disabled"``: a JSON array column holds the value, on PostgreSQL and
SQLite alike (Django's ``contains`` on a JSONField is PostgreSQL-only)."""

from __future__ import annotations

import json
from typing import Any

from django.db import NotSupportedError
from django.db.models import Lookup


class HasElement(Lookup):
    lookup_name = "has_element"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        value = self.rhs
        if connection.vendor == "postgresql":
            return f"{lhs} @> %s::jsonb", [*lhs_params, json.dumps([value])]  # lhs: a column
        if connection.vendor == "sqlite":
            return (
                f"EXISTS (SELECT 1 FROM json_each({lhs}) AS e WHERE e.value = %s)",  # noqa: S608
                [*lhs_params, value],
            )
        raise NotSupportedError(f"has_element is not implemented for {connection.vendor}")
