"""Rules as Polars expressions: a null is unknown, and Polars' ``&``, ``|`` and ``~`` on
nullable booleans are Kleene logic, so a verdict column is true / false / null.

Columns are named as in the SQL form (``catalog.column_name``): Float64 numbers, Date dates,
String codes and enums, Boolean booleans.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import reduce
from typing import Any

import polars as pl

from yiwang.rules.catalog import column_name
from yiwang.rules.lower import (
    Both,
    Cmp,
    Cond,
    Either,
    InSet,
    Pending,
    Prefix,
    fact_column,
    lower_atom,
    named_nodes,
)
from yiwang.rules.model import (
    Atom,
    Const,
    FactTerm,
    Formula,
    If,
    Node,
    Not,
    Op,
    Progressive,
    Rule,
    Tiers,
)

POLARS_TYPES: dict[str, Any] = {
    "number": pl.Float64,
    "date": pl.Date,
    "code": pl.String,
    "enum": pl.String,
    "boolean": pl.Boolean,
}

_NULL_BOOL = pl.lit(None, dtype=pl.Boolean)
_NULL_F64 = pl.lit(None, dtype=pl.Float64)


def _cmp(c: pl.Expr, op: str, v: Any) -> pl.Expr:
    lit = pl.lit(v, dtype=pl.Float64) if isinstance(v, float) else pl.lit(v)
    if op == "==":
        return c == lit
    if op == "!=":
        return c != lit
    if op == "<":
        return c < lit
    if op == "<=":
        return c <= lit
    if op == ">":
        return c > lit
    return c >= lit


def cond_expr(column: str, cond: Cond, review_columns: bool = False) -> pl.Expr:
    c = pl.col(column)
    if isinstance(cond, Cmp):
        return _cmp(c, cond.op, cond.value)
    if isinstance(cond, InSet):
        e = c.is_in(list(cond.values))
        return ~e if cond.negate else e
    if isinstance(cond, Prefix):
        e = reduce(lambda a, b: a | b, [c.str.starts_with(p) for p in cond.prefixes])
        return ~e if cond.negate else e
    if isinstance(cond, Both):
        return reduce(lambda a, b: a & b, [cond_expr(column, p) for p in cond.parts])
    if isinstance(cond, Either):
        return reduce(lambda a, b: a | b, [cond_expr(column, p) for p in cond.parts])
    assert isinstance(cond, Pending)
    return c.cast(pl.Boolean) if review_columns else _NULL_BOOL


def node_expr(rule: Rule, n: Node, as_of: dt.date, review_columns: bool = False) -> pl.Expr:
    if isinstance(n, Atom):
        lw = lower_atom(n, as_of, rule.id)
        return cond_expr(lw.column, lw.cond, review_columns)
    if isinstance(n, Not):
        return ~node_expr(rule, n.child, as_of, review_columns)
    parts = [node_expr(rule, c, as_of, review_columns) for c in n.children]
    if n.op == "all":
        return reduce(lambda a, b: a & b, parts)
    return reduce(lambda a, b: a | b, parts)


def condition_expr(rule: Rule, as_of: dt.date, review_columns: bool = False) -> pl.Expr:
    """The rule's verdict as a Boolean expression (null = unknown)."""
    return node_expr(rule, rule.when, as_of, review_columns)


def _any_null(xs: Sequence[pl.Expr]) -> pl.Expr:
    return reduce(lambda a, b: a | b, [x.is_null() for x in xs])


def formula_expr(f: Formula, as_of: dt.date, conds: dict[str, pl.Expr]) -> pl.Expr:
    if isinstance(f, Const):
        return pl.lit(f.value, dtype=pl.Float64)
    if isinstance(f, FactTerm):
        c = pl.col(fact_column(f.ref, as_of)).cast(pl.Float64)
        return c if f.factor == 1.0 else c * pl.lit(f.factor, dtype=pl.Float64)
    if isinstance(f, Op):
        xs = [formula_expr(a, as_of, conds) for a in f.args]
        if f.op == "add":
            return reduce(lambda a, b: a + b, xs)
        if f.op == "sub":
            return xs[0] - xs[1]
        if f.op == "mul":
            return reduce(lambda a, b: a * b, xs)
        if f.op == "div":
            return pl.when(xs[1] == 0.0).then(_NULL_F64).otherwise(xs[0] / xs[1])
        if len(xs) == 1:
            return xs[0]
        both = pl.min_horizontal(xs) if f.op == "min" else pl.max_horizontal(xs)
        nullable = [x for a, x in zip(f.args, xs, strict=True) if not isinstance(a, Const)]
        return pl.when(_any_null(nullable)).then(_NULL_F64).otherwise(both) if nullable else both
    if isinstance(f, If):
        cond = conds[f.cond]
        return (
            pl.when(cond.is_null())
            .then(_NULL_F64)
            .when(cond)
            .then(formula_expr(f.then, as_of, conds))
            .otherwise(formula_expr(f.other, as_of, conds))
        )
    if isinstance(f, Tiers):
        by = formula_expr(f.by, as_of, conds)
        chain: Any = pl.when(by.is_null()).then(_NULL_F64)
        for lo, v in reversed(f.brackets):
            chain = chain.when(by >= lo).then(formula_expr(v, as_of, conds))
        out: pl.Expr = chain.otherwise(formula_expr(f.otherwise, as_of, conds))
        return out
    assert isinstance(f, Progressive)
    by = formula_expr(f.by, as_of, conds)
    total = pl.lit(0.0, dtype=pl.Float64)
    bounds = [lo for lo, _ in f.brackets[1:]]
    for (lo, rate), hi in zip(f.brackets, [*bounds, None], strict=True):
        top = by if hi is None else pl.min_horizontal(by, pl.lit(hi, dtype=pl.Float64))
        piece = pl.when(top > lo).then((top - lo) * rate).otherwise(pl.lit(0.0))
        total = total + piece
    return pl.when(by.is_null()).then(_NULL_F64).otherwise(total)


def amount_expr(rule: Rule, as_of: dt.date, review_columns: bool = False) -> pl.Expr | None:
    if rule.amount is None:
        return None
    conds = {nid: node_expr(rule, n, as_of, review_columns) for nid, n in named_nodes(rule)}
    base = formula_expr(rule.amount.formula, as_of, conds)
    f = rule.amount.factor
    return base if f == 1.0 else base / pl.lit(f, dtype=pl.Float64)


def evaluate_frame(
    rules: Sequence[Rule],
    facts: pl.DataFrame | pl.LazyFrame,
    as_of: dt.date,
    *,
    id_column: str = "entity_id",
    amounts: bool = True,
    review_columns: bool = False,
) -> pl.DataFrame:
    """One row per entity: the id, a verdict column per rule and ``<id>__amount`` columns."""
    exprs: list[pl.Expr] = [pl.col(id_column)]
    for r in rules:
        exprs.append(condition_expr(r, as_of, review_columns).alias(r.id))
        if amounts:
            a = amount_expr(r, as_of, review_columns)
            if a is not None:
                exprs.append(a.alias(f"{r.id}__amount"))
    return facts.lazy().select(exprs).collect()


def counts_frame(
    rules: Sequence[Rule],
    facts: pl.DataFrame | pl.LazyFrame,
    as_of: dt.date,
    review_columns: bool = False,
) -> pl.DataFrame:
    """One row: ``<id>__pass`` and ``<id>__unknown`` counts per rule."""
    exprs: list[pl.Expr] = [pl.len().alias("n")]
    for r in rules:
        c = condition_expr(r, as_of, review_columns)
        exprs.append(c.sum().alias(f"{r.id}__pass"))
        exprs.append(c.is_null().sum().alias(f"{r.id}__unknown"))
    return facts.lazy().select(exprs).collect()


def frame(
    rows: Sequence[Mapping[str, Any]],
    columns: Mapping[str, str],
    *,
    ids: Sequence[int] | None = None,
    id_column: str = "entity_id",
) -> pl.DataFrame:
    """A fact table from rows keyed by column name (``column_name(key)``), typed by
    ``columns`` = ``{column: fact type}``; absent or None values are null."""
    data: dict[str, Any] = {id_column: list(ids) if ids is not None else list(range(len(rows)))}
    schema: dict[str, Any] = {id_column: pl.Int64}
    for col, t in columns.items():
        data[col] = [r.get(col) for r in rows]
        schema[col] = POLARS_TYPES[t]
    return pl.DataFrame(data, schema=schema)


def row_of(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Normalized facts (absolute keys) as a row keyed by column name."""
    return {column_name(k): v for k, v in facts.items()}
