"""Lowering for the bulk forms: each atom at an as-of date as a plain test of one column.

The per-entity evaluator computes ``years_since(founded_on) >= 3`` directly; the bulk forms
need no date arithmetic: it becomes ``founded_on <= <as_of minus 3 years>``, a comparison with
a constant (whole years and months counted as people do: 2024-02-29 + 1 year is 2025-02-28).
Every test here yields NULL / unknown for a missing value, in SQL, Polars and numpy alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from yiwang.rules.catalog import FactRef, column_name
from yiwang.rules.model import Atom, DateConst, Group, Node, Not, Rule, shift_months

Scalar = float | dt.date | str | bool


@dataclass(frozen=True)
class Cmp:
    op: str
    value: Scalar


@dataclass(frozen=True)
class InSet:
    values: tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True)
class Prefix:
    prefixes: tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True)
class Both:
    parts: tuple[Cond, ...]


@dataclass(frozen=True)
class Either:
    parts: tuple[Cond, ...]


@dataclass(frozen=True)
class Pending:
    """A discretionary atom: unknown, or a reviewer's decision read from a column."""


Cond = Cmp | InSet | Prefix | Both | Either | Pending


@dataclass(frozen=True)
class Lowered:
    column: str
    type: str  # the fact type, or "review" for a discretionary atom
    cond: Cond


def review_column(rule_id: str, atom_id: str) -> str:
    """The column holding reviewers' decisions for a discretionary atom (TRUE/FALSE/NULL)."""
    return f"review__{rule_id}__{atom_id}"


def fact_column(ref: FactRef, as_of: dt.date) -> str:
    return column_name(ref.key(as_of))


def cutoff(fn: str, n: int, as_of: dt.date) -> dt.date:
    """The latest date ``d`` with ``fn(d) >= n`` at ``as_of``."""
    if fn == "days_since":
        return as_of - dt.timedelta(days=n)
    return shift_months(as_of, -n * (12 if fn == "years_since" else 1))


def lower_atom(atom: Atom, as_of: dt.date, rule_id: str = "") -> Lowered:
    if atom.ref is None or atom.spec is None:
        return Lowered(review_column(rule_id, atom.id), "review", Pending())
    col = fact_column(atom.ref, as_of)
    t = atom.spec.type
    op, v = atom.op, atom.value
    if atom.fn is not None:
        n = int(v)
        c_n, c_n1 = cutoff(atom.fn, n, as_of), cutoff(atom.fn, n + 1, as_of)
        conds: dict[str, Cond] = {
            ">=": Cmp("<=", c_n),
            ">": Cmp("<=", c_n1),
            "<=": Cmp(">", c_n1),
            "<": Cmp(">", c_n),
            "==": Both((Cmp(">", c_n1), Cmp("<=", c_n))),
            "!=": Either((Cmp(">", c_n), Cmp("<=", c_n1))),
        }
        return Lowered(col, t, conds[op])
    if isinstance(v, DateConst):
        return Lowered(col, t, Cmp(op, v.resolve(as_of)))
    if op == "in" or op == "not_in":
        return Lowered(col, t, InSet(tuple(v), op == "not_in"))
    if op == "prefix" or op == "not_prefix":
        return Lowered(col, t, Prefix(tuple(v), op == "not_prefix"))
    return Lowered(col, t, Cmp(op, v))


def named_nodes(rule: Rule) -> Iterator[tuple[str, Node]]:
    def walk(n: Node) -> Iterator[tuple[str, Node]]:
        if n.id:
            yield n.id, n
        if isinstance(n, Group):
            for c in n.children:
                yield from walk(c)
        elif isinstance(n, Not):
            yield from walk(n.child)

    yield from walk(rule.when)
    for b in rule.bonus:
        yield from walk(b)


def columns(rule: Rule, as_of: dt.date, review_columns: bool = False) -> dict[str, str]:
    """The fact table columns the rule reads at ``as_of`` and their fact types."""
    from yiwang.rules.model import formula_refs

    out: dict[str, str] = {}
    for a in rule.atoms.values():
        if a.ref is not None and a.spec is not None:
            out[fact_column(a.ref, as_of)] = a.spec.type
        elif review_columns:
            out[review_column(rule.id, a.id)] = "boolean"
    if rule.amount is not None:
        for ref in formula_refs(rule.amount.formula):
            out[fact_column(ref, as_of)] = "number"
    return out
