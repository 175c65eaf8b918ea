"""The sweep engine: many rules over many entities with numpy and packed bitsets.

Each condition's value over all entities is a pair of packed bitsets, ``T`` (passes) and
``F`` (fails); an entity in neither is unknown. Kleene logic is then word-wide bit logic:
``all`` → ``T = ∧Tᵢ, F = ∨Fᵢ``; ``any`` → ``T = ∨Tᵢ, F = ∧Fᵢ``; ``not`` swaps ``T`` and ``F``.
An atom is one vectorised comparison over the fact column masked by the column's "known"
bitset, and atoms shared by several rules are computed once. Counts are popcounts; a
rule's match set is its ``T`` bitset (125 kB per million entities).

Columns: numbers, dates (as days since 1970-01-01) and booleans (0/1) become float64 with
NaN for missing; codes and enums become int32 codes into their sorted distinct values, -1
for missing, so a code prefix is a range of codes.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from yiwang.rules.lower import (
    Both,
    Cmp,
    Cond,
    Either,
    InSet,
    Lowered,
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

F64 = npt.NDArray[np.float64]
Bits = npt.NDArray[np.uint64]
EPOCH = dt.date(1970, 1, 1)
_OPS = {
    "==": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def _as_float(v: Any) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, dt.date):
        return float((v - EPOCH).days)
    return float(v)


@dataclass
class Categorical:
    codes: npt.NDArray[np.int32]  # -1 for missing
    categories: list[str]  # sorted


class FactArrays:
    """A fact table as numpy columns (see the module doc)."""

    def __init__(
        self,
        n: int,
        numeric: Mapping[str, F64],
        categorical: Mapping[str, Categorical],
        ids: npt.NDArray[Any] | None = None,
    ) -> None:
        self.n = n
        self.numeric = dict(numeric)
        self.categorical = dict(categorical)
        self.ids = ids if ids is not None else np.arange(n)
        self.words = (n + 63) // 64
        self._known: dict[str, Bits] = {}

    @classmethod
    def from_polars(cls, df: Any, id_column: str | None = "entity_id") -> FactArrays:
        import polars as pl

        numeric: dict[str, F64] = {}
        categorical: dict[str, Categorical] = {}
        nan = float("nan")
        for name, dtype in df.schema.items():
            if name == id_column:
                continue
            s = df.get_column(name)
            if dtype == pl.String or dtype == pl.Categorical or dtype == pl.Enum:
                s = s.cast(pl.String)
                cats = s.drop_nulls().unique().sort()
                # an Enum over the sorted distinct values: its physical codes are their ranks
                codes = s.cast(pl.Enum(cats)).to_physical().cast(pl.Int32).fill_null(-1)
                categorical[name] = Categorical(codes.to_numpy(), cats.to_list())
            elif dtype == pl.Date:
                numeric[name] = s.cast(pl.Int32).cast(pl.Float64).fill_null(nan).to_numpy()
            else:
                numeric[name] = s.cast(pl.Float64).fill_null(nan).to_numpy()
        ids = df.get_column(id_column).to_numpy() if id_column else None
        return cls(df.height, numeric, categorical, ids)

    def pack(self, b: npt.NDArray[np.bool_]) -> Bits:
        out = np.zeros(self.words * 8, dtype=np.uint8)
        p = np.packbits(b, bitorder="little")
        out[: p.size] = p
        return out.view(np.uint64)

    def unpack(self, bits: Bits) -> npt.NDArray[np.bool_]:
        return np.unpackbits(bits.view(np.uint8), count=self.n, bitorder="little").view(np.bool_)

    def zeros(self) -> Bits:
        return np.zeros(self.words, dtype=np.uint64)

    def known(self, column: str) -> Bits:
        k = self._known.get(column)
        if k is None:
            if column in self.numeric:
                k = self.pack(~np.isnan(self.numeric[column]))
            elif column in self.categorical:
                k = self.pack(self.categorical[column].codes >= 0)
            else:
                raise KeyError(f"the fact table has no column {column!r}")
            self._known[column] = k
        return k

    def has(self, column: str) -> bool:
        return column in self.numeric or column in self.categorical


Tri = tuple[Bits, Bits]  # (passes, fails)


def _popcount(bits: Bits) -> int:
    return int(np.bitwise_count(bits).sum())


@dataclass
class SweepResult:
    rule_ids: list[str]
    n: int
    passed: dict[str, Bits]
    failed: dict[str, Bits]
    facts: FactArrays
    amounts: dict[str, F64] = field(default_factory=dict)
    atoms_total: int = 0
    atoms_distinct: int = 0

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for rid in self.rule_ids:
            p = _popcount(self.passed[rid])
            f = _popcount(self.failed[rid])
            out[rid] = {"pass": p, "fail": f, "unknown": self.n - p - f}
        return out

    def matches(self, rule_id: str, *, unknown: bool = False) -> npt.NDArray[Any]:
        """Ids of the entities that pass (or, with ``unknown``, that might pass)."""
        bits = ~(self.passed[rule_id] | self.failed[rule_id]) if unknown else self.passed[rule_id]
        idx = np.flatnonzero(self.facts.unpack(bits))
        return self.facts.ids[idx]

    def verdicts(self, rule_id: str) -> npt.NDArray[np.int8]:
        """Per entity: 1 pass, 0 fail, -1 unknown."""
        out = np.full(self.n, -1, dtype=np.int8)
        out[self.facts.unpack(self.passed[rule_id])] = 1
        out[self.facts.unpack(self.failed[rule_id])] = 0
        return out


class Sweep:
    """Evaluates rules over one :class:`FactArrays`, sharing identical atoms between rules."""

    def __init__(self, facts: FactArrays, as_of: dt.date, review_columns: bool = False) -> None:
        self.facts = facts
        self.as_of = as_of
        self.review_columns = review_columns
        self.cache: dict[tuple[str, Cond], Bits] = {}
        self.atoms_total = 0

    # ---------------------------------------------------------------- conditions

    def cond(self, column: str, cond: Cond) -> Tri:
        """A test of one column: unknown exactly where the column is missing, so only the
        passes are kept (shared between rules); fails are ``known & ~passes``."""
        t = self._passes(column, cond)
        known = self._known_for(column, cond)
        return t, known & ~t

    def _known_for(self, column: str, cond: Cond) -> Bits:
        if isinstance(cond, Pending) and not (self.review_columns and self.facts.has(column)):
            return self.facts.zeros()
        return self.facts.known(column)

    def _passes(self, column: str, cond: Cond) -> Bits:
        key = (column, cond)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        fa = self.facts
        if isinstance(cond, Both | Either):
            parts = [self._passes(column, p) for p in cond.parts]
            t = parts[0]
            for p in parts[1:]:
                t = (t & p) if isinstance(cond, Both) else (t | p)
        elif isinstance(cond, Pending):
            if self.review_columns and fa.has(column):
                t = fa.pack(fa.numeric[column] == 1.0)
            else:
                t = fa.zeros()
        else:
            t = fa.pack(self._raw(column, cond)) & fa.known(column)
        self.cache[key] = t
        return t

    def _raw(self, column: str, cond: Cond) -> npt.NDArray[np.bool_]:
        fa = self.facts
        if column in fa.numeric:
            x = fa.numeric[column]
            if isinstance(cond, Cmp):
                return _OPS[cond.op](x, _as_float(cond.value))
            raise TypeError(f"column {column!r} is numeric; {cond} needs a code column")
        cat = fa.categorical[column]
        codes, cats = cat.codes, cat.categories
        if isinstance(cond, Cmp):
            k = _index(cats, str(cond.value))
            if cond.op == "==":
                return codes == k
            if cond.op == "!=":
                return codes != k
            raise TypeError(f"{cond.op} on a code column")
        if isinstance(cond, InSet):
            ks = [k for k in (_index(cats, v) for v in cond.values) if k >= 0]
            if len(ks) > 4:
                lut = np.zeros(len(cats) + 1, dtype=np.bool_)
                lut[ks] = True
                hit = lut[codes]
            else:
                hit = np.zeros(fa.n, dtype=np.bool_)
                for k in ks:
                    hit |= codes == k
            return ~hit if cond.negate else hit
        assert isinstance(cond, Prefix)
        hit = np.zeros(fa.n, dtype=np.bool_)
        for p in cond.prefixes:
            lo = bisect.bisect_left(cats, p)
            hi = bisect.bisect_left(cats, p + "\U0010ffff")
            if hi > lo:
                hit |= (codes >= lo) & (codes < hi)
        return ~hit if cond.negate else hit

    def node(self, rule: Rule, n: Node) -> Tri:
        if isinstance(n, Atom):
            self.atoms_total += 1
            lw: Lowered = lower_atom(n, self.as_of, rule.id)
            return self.cond(lw.column, lw.cond)
        if isinstance(n, Not):
            t, f = self.node(rule, n.child)
            return f, t
        parts = [self.node(rule, c) for c in n.children]
        return _all(parts) if n.op == "all" else _any(parts)

    def verdict(self, rule: Rule) -> Tri:
        return self.node(rule, rule.when)

    # ---------------------------------------------------------------- amounts

    def amount(self, rule: Rule) -> F64 | None:
        """The amount per entity in the rule's unit, NaN where unknown."""
        if rule.amount is None:
            return None
        conds = dict(named_nodes(rule))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            base = self._formula(rule, rule.amount.formula, conds)
            out = np.broadcast_to(np.asarray(base, dtype=np.float64), (self.facts.n,))
            return np.array(out / rule.amount.factor, dtype=np.float64)

    def _formula(self, rule: Rule, f: Formula, conds: dict[str, Node]) -> Any:
        fa = self.facts
        if isinstance(f, Const):
            return np.float64(f.value)
        if isinstance(f, FactTerm):
            x = fa.numeric[fact_column(f.ref, self.as_of)]
            return x if f.factor == 1.0 else x * f.factor
        if isinstance(f, Op):
            xs = [self._formula(rule, a, conds) for a in f.args]
            out = xs[0]
            if f.op == "add":
                for x in xs[1:]:
                    out = out + x
            elif f.op == "sub":
                out = xs[0] - xs[1]
            elif f.op == "mul":
                for x in xs[1:]:
                    out = out * x
            elif f.op == "div":
                out = np.where(xs[1] == 0.0, np.nan, xs[0] / xs[1])
            elif f.op == "min":
                for x in xs[1:]:
                    out = np.minimum(out, x)
            else:
                for x in xs[1:]:
                    out = np.maximum(out, x)
            return out
        if isinstance(f, If):
            t, fl = self.node(rule, conds[f.cond])
            a = self._formula(rule, f.then, conds)
            b = self._formula(rule, f.other, conds)
            return np.where(fa.unpack(t), a, np.where(fa.unpack(fl), b, np.nan))
        if isinstance(f, Tiers):
            by = self._formula(rule, f.by, conds)
            res = np.broadcast_to(self._formula(rule, f.otherwise, conds), (fa.n,))
            for lo, v in f.brackets:
                res = np.where(by >= lo, self._formula(rule, v, conds), res)
            return np.where(np.isnan(by), np.nan, res)
        assert isinstance(f, Progressive)
        by = self._formula(rule, f.by, conds)
        total: Any = np.float64(0.0)
        bounds = [lo for lo, _ in f.brackets[1:]]
        for (lo, rate), hi in zip(f.brackets, [*bounds, None], strict=True):
            top = by if hi is None else np.minimum(by, hi)
            total = total + np.where(top > lo, (top - lo) * rate, 0.0)
        return np.where(np.isnan(by), np.nan, total)


def _all(parts: Sequence[Tri]) -> Tri:
    t, f = parts[0]
    for pt, pf in parts[1:]:
        t = t & pt
        f = f | pf
    return t, f


def _any(parts: Sequence[Tri]) -> Tri:
    t, f = parts[0]
    for pt, pf in parts[1:]:
        t = t | pt
        f = f & pf
    return t, f


def _index(cats: list[str], v: str) -> int:
    i = bisect.bisect_left(cats, v)
    return i if i < len(cats) and cats[i] == v else -2


def sweep(
    rules: Sequence[Rule],
    facts: FactArrays,
    as_of: dt.date,
    *,
    amounts: bool = False,
    review_columns: bool = False,
) -> SweepResult:
    """Evaluate every rule over every entity: verdict bitsets, counts, optional amounts."""
    sw = Sweep(facts, as_of, review_columns)
    passed: dict[str, Bits] = {}
    failed: dict[str, Bits] = {}
    amount_arrays: dict[str, F64] = {}
    for r in rules:
        t, f = sw.verdict(r)
        passed[r.id] = t
        failed[r.id] = f
        if amounts:
            a = sw.amount(r)
            if a is not None:
                amount_arrays[r.id] = a
    return SweepResult(
        [r.id for r in rules],
        facts.n,
        passed,
        failed,
        facts,
        amount_arrays,
        atoms_total=sw.atoms_total,
        atoms_distinct=sum(1 for k in sw.cache if not isinstance(k[1], Both | Either)),
    )
