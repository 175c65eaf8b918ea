"""Bulk writes for imports, below the ORM's per-object save path.

New rows get their primary keys up front (PostgreSQL: ``nextval`` of the table's sequence;
SQLite: past both ``max(id)`` and ``sqlite_sequence``, under the write lock that
``BEGIN IMMEDIATE`` already holds), so history rows can name them without reading them back.
Rows go in with ``COPY`` on PostgreSQL and ``executemany`` on SQLite; changed rows are updated
with one ``executemany`` per set of changed columns. Encrypted fields arrive here already
sealed and blind indexes already computed: nothing is encrypted twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Field, JSONField, Model
from django.utils import timezone

from yiwang.registry.models import ChangeRecord


def _columns(model: type[Model]) -> list[Field[Any, Any]]:
    return list(model._meta.concrete_fields)


def allocate_ids(model: type[Model], n: int) -> list[int]:
    """``n`` fresh primary keys for ``model``, inside the caller's transaction."""
    if n <= 0:
        return []
    table = model._meta.db_table
    pk = model._meta.pk
    assert pk is not None
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, str(pk.column), n],
            )
            return [r[0] for r in cur.fetchall()]
        qn = connection.ops.quote_name
        cur.execute(f"SELECT max({qn(str(pk.column))}) FROM {qn(table)}")  # noqa: S608
        top = cur.fetchone()[0] or 0
        cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cur.fetchone()
        start = max(top, row[0] if row else 0) + 1
        return list(range(start, start + n))


def _copy(cur: Any, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """COPY through psycopg's own cursor, its errors turned into Django's (IntegrityError …)
    as for any other query."""
    with connection.wrap_database_errors, cur.cursor.copy(sql) as copy:
        for r in rows:
            copy.write_row(r)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def db_row(
    fields: Sequence[Field[Any, Any]],
    values: dict[str, Any],
    defaults: dict[str, Any],
) -> tuple[Any, ...]:
    out = []
    for f in fields:
        name = f.attname
        v = values[name] if name in values else defaults[name]
        if isinstance(f, JSONField) and v is not None:
            v = _json(v)
        out.append(v)
    return tuple(out)


class RowMaker:
    """``db_row`` for many rows of one model: field names, defaults and the JSON columns
    worked out once, one comprehension per row."""

    def __init__(self, fields: Sequence[Field[Any, Any]], defaults: dict[str, Any]) -> None:
        self.pairs = [(f.attname, defaults[f.attname]) for f in fields]
        self.json = [i for i, f in enumerate(fields) if isinstance(f, JSONField)]

    def __call__(self, values: dict[str, Any]) -> tuple[Any, ...]:
        get = values.get
        row = [get(name, default) for name, default in self.pairs]
        for i in self.json:
            v = row[i]
            if v is not None:
                row[i] = "[]" if v == [] else _json(v)
        return tuple(row)


def model_defaults(model: type[Model]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in _columns(model):
        out[f.attname] = None if f.primary_key else f.get_default()
    return out


def insert_rows(model: type[Model], rows: Iterable[tuple[Any, ...]]) -> int:
    fields = _columns(model)
    table = model._meta.db_table
    qn = connection.ops.quote_name
    cols = ", ".join(qn(str(f.column)) for f in fields)
    rows = list(rows)
    if not rows:
        return 0
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            _copy(cur, f"COPY {qn(table)} ({cols}) FROM STDIN", rows)
        else:
            marks = ", ".join(["%s"] * len(fields))
            cur.executemany(f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks})", rows)  # noqa: S608
    return len(rows)


def update_rows(model: type[Model], updates: Iterable[tuple[dict[str, Any], int]]) -> int:
    """``updates``: (attname -> db value, pk). One executemany per set of columns."""
    table = model._meta.db_table
    qn = connection.ops.quote_name
    pk = model._meta.pk
    assert pk is not None
    by_cols: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    fields = {f.attname: f for f in _columns(model)}
    for vals, pk_value in updates:
        cols = tuple(sorted(vals))
        row = []
        for c in cols:
            v = vals[c]
            if isinstance(fields[c], JSONField) and v is not None:
                v = _json(v)
            row.append(v)
        by_cols.setdefault(cols, []).append((*row, pk_value))
    n = 0
    with connection.cursor() as cur:
        for cols, rows in by_cols.items():
            sets = ", ".join(f"{qn(str(fields[c].column))} = %s" for c in cols)
            cur.executemany(
                f"UPDATE {qn(table)} SET {sets} WHERE {qn(str(pk.column))} = %s",  # noqa: S608
                rows,
            )
            n += len(rows)
    return n


def insert_history(
    entity_type: str,
    entries: Iterable[tuple[int, str, dict[str, Any] | str]],
    *,
    actor: str,
    source: str,
) -> int:
    """ChangeRecord rows (entity id, created|updated, changes as a dict or JSON text) in bulk."""
    now = timezone.now()
    at = now if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(now)
    fields = [f for f in _columns(ChangeRecord) if not f.primary_key]
    qn = connection.ops.quote_name
    table = ChangeRecord._meta.db_table
    cols = ", ".join(qn(str(f.column)) for f in fields)
    order = [f.attname for f in fields]
    const = {"entity_type": entity_type, "at": at, "actor": actor, "source": source}
    template: list[Any] = [const.get(k) for k in order]
    i_id, i_action, i_changes = (order.index(k) for k in ("entity_id", "action", "changes"))
    rows: list[tuple[Any, ...]] = []
    for entity_id, action, changes in entries:
        r = template.copy()
        r[i_id], r[i_action] = entity_id, action
        r[i_changes] = changes if isinstance(changes, str) else _json(changes)
        rows.append(tuple(r))
    if not rows:
        return 0
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            _copy(cur, f"COPY {qn(table)} ({cols}) FROM STDIN", rows)
        else:
            marks = ", ".join(["%s"] * len(fields))
            cur.executemany(f"INSERT INTO {qn(table)} ({cols}) VALUES ({marks})", rows)  # noqa: S608
    return len(rows)
