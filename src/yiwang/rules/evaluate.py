"""Three-valued (Kleene) evaluation of a rule for one entity, with a trace that explains it.

Every atom and the whole rule answer ``pass``, ``fail`` or ``unknown``. A missing fact is
unknown, never zero. ``all`` fails if any part fails, else is unknown if any part is
unknown; ``any`` passes if any part passes, else is unknown if any part is unknown; ``not``
swaps pass and fail. Discretionary atoms are unknown (pending review) until a reviewer's
decision is given. Bonus atoms are reported and may feed the amount; they never decide
eligibility.

Two forms of the same evaluator: :func:`evaluate_reference` walks the rule's tree (the
reference, short and obviously right), and :func:`evaluate` / :func:`evaluate_many` run the
rule compiled once per (rule, as-of date) into closures over fact keys, prepared tests and
constants, with no tree walk or type dispatch per entity; atoms shared between rules are
tested once per entity. Property tests hold the compiled form to the reference and the bulk
forms (SQL, Polars, numpy) to the compiled one.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from yiwang.rules.catalog import FactValue
from yiwang.rules.model import (
    Atom,
    Const,
    DateConst,
    FactTerm,
    Formula,
    Group,
    If,
    Node,
    Not,
    Op,
    Progressive,
    Rule,
    Tiers,
    elapsed,
    formula_conds,
)

Truth = bool | None  # True pass, False fail, None unknown
WORD = {True: "pass", False: "fail", None: "unknown"}
OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def kleene_all(values: Iterable[Truth]) -> Truth:
    out: Truth = True
    for v in values:
        if v is False:
            return False
        if v is None:
            out = None
    return out


def kleene_any(values: Iterable[Truth]) -> Truth:
    out: Truth = False
    for v in values:
        if v is True:
            return True
        if v is None:
            out = None
    return out


def kleene_not(v: Truth) -> Truth:
    return None if v is None else not v


# ---------------------------------------------------------------- atoms


def atom_test(atom: Atom, as_of: dt.date) -> Callable[[Any], bool]:
    """The atom's test of a known fact value, with the as-of date applied."""
    op, value = atom.op, atom.value
    if atom.fn is not None:
        fn, cmp, n = atom.fn, OPS[op], value
        return lambda d: cmp(elapsed(fn, d, as_of), n)
    if isinstance(value, DateConst):
        return _cmp(OPS[op], value.resolve(as_of))
    if op in OPS:
        return _cmp(OPS[op], value)
    if op == "in":
        members = frozenset(value)
        return members.__contains__
    if op == "not_in":
        members = frozenset(value)
        return lambda v: v not in members
    prefixes = tuple(value)
    if op == "prefix":
        return lambda v: v.startswith(prefixes)
    return lambda v: not v.startswith(prefixes)


def _cmp(f: Callable[[Any, Any], bool], value: Any) -> Callable[[Any], bool]:
    return lambda v: f(v, value)


@dataclass(frozen=True)
class BoundAtom:
    atom: Atom
    key: str  # the absolute fact key, "" for a discretionary atom
    test: Callable[[Any], bool]


class Bound:
    """A rule with the as-of date applied: absolute fact keys and dates, compiled tests,
    the compiled form, and (when first needed) the parts of the trace that do not depend on
    the facts."""

    def __init__(self, rule: Rule, as_of: dt.date) -> None:
        self.rule = rule
        self.as_of = as_of
        self.atoms: dict[str, BoundAtom] = {}
        for a in rule.atoms.values():
            if a.ref is None:
                ba = BoundAtom(a, "", _never)
            else:
                ba = BoundAtom(a, a.ref.key(as_of), atom_test(a, as_of))
            self.atoms[a.id] = ba
        # with no alternative (any, not) in the tree, no atom is ever moot or negated
        self.simple = _is_simple(rule.when)
        self.hard_ids = [ba.atom.id for ba in self.atoms.values() if ba.atom.kind == "hard"]
        self.amount_unit = ""
        self.amount_factor = 1.0
        if rule.amount is not None:
            self.amount_unit = rule.amount.unit
            self.amount_factor = rule.amount.factor
        self.compiled = Compiled(self)

    @cached_property
    def static(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for ba in self.atoms.values():
            a = ba.atom
            st: dict[str, Any] = {
                "node": "atom",
                "id": a.id,
                "kind": a.kind,
                "label": {"zh": a.label.zh, "en": a.label.en},
                "clause": a.clause,
                "value": None,
                "test": {"zh": a.shown[0], "en": a.shown[1]},
            }
            if ba.key:
                st["fact"] = ba.key
                if a.spec is not None and a.spec.unit:
                    st["unit"] = a.spec.unit
            out[a.id] = st
        return out

    @cached_property
    def header(self) -> dict[str, Any]:
        rule = self.rule
        return {
            "rule": rule.id,
            "label": {"zh": rule.label.zh, "en": rule.label.en},
            "as_of": self.as_of.isoformat(),
        }

    @cached_property
    def when_atoms(self) -> list[str]:
        return [a.id for a in _atoms_in(self.rule.when)]

    @cached_property
    def scored(self) -> list[BoundAtom]:
        return [ba for ba in self.atoms.values() if ba.atom.kind != "bonus"]

    @cached_property
    def amount(self) -> FormulaFn | None:
        """The amount formula as the reference evaluates it (the compiled form has its own)."""
        if self.rule.amount is None:
            return None
        return compile_formula(self.rule.amount.formula, self.as_of)


def _atoms_in(n: Node) -> list[Atom]:
    if isinstance(n, Atom):
        return [n]
    if isinstance(n, Not):
        return _atoms_in(n.child)
    return [a for c in n.children for a in _atoms_in(c)]


def _is_simple(n: Node) -> bool:
    if isinstance(n, Atom):
        return True
    if isinstance(n, Group) and n.op == "all":
        return all(_is_simple(c) for c in n.children)
    return False


def _never(_: Any) -> bool:  # pragma: no cover - discretionary atoms are never tested
    raise AssertionError


# bound rules by as-of date, then by the rule object's id (the rule is kept to check it)
_BOUND_CACHE: dict[dt.date, dict[int, tuple[Rule, Bound]]] = {}
_BOUND_LIMIT = 20000


def _bound_table(as_of: dt.date) -> dict[int, tuple[Rule, Bound]]:
    table = _BOUND_CACHE.get(as_of)
    if table is None:
        table = _BOUND_CACHE[as_of] = {}
    return table


def bind(rule: Rule, as_of: dt.date) -> Bound:
    table = _bound_table(as_of)
    hit = table.get(id(rule))
    if hit is not None and hit[0] is rule:
        return hit[1]
    b = Bound(rule, as_of)
    if sum(len(t) for t in _BOUND_CACHE.values()) >= _BOUND_LIMIT:
        _BOUND_CACHE.clear()
        table = _bound_table(as_of)
    table[id(rule)] = (rule, b)
    return b


# ---------------------------------------------------------------- results


def _json_value(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


class Evaluation:
    """The outcome of one rule for one entity.

    ``verdict``, ``score`` and ``amount`` are computed at once; ``failed``, ``unknown``,
    ``bonus``, ``decisive`` and ``trace`` are built from the recorded atom values when first
    read, so that matching one entity against many rules pays for explanations only where
    they are shown.
    """

    __slots__ = (
        "_bonus_",
        "_bound",
        "_decisions",
        "_decisive_",
        "_facts",
        "_listed_",
        "_run_",
        "_trace_",
        "_values",
        "_verdict",
        "amount",
        "amount_missing",
        "score",
        "verdict",
    )

    def __init__(
        self,
        bound: Bound,
        facts: Mapping[str, FactValue],
        decisions: Mapping[str, bool] | None,
        verdict: Truth,
        score: float | None,
        amount: float | None,
        amount_missing: list[str],
        values: Sequence[Truth] = (),
        run: _Run | None = None,
    ) -> None:
        self._bound = bound
        self._facts = facts
        self._decisions = decisions
        self._values = values  # atom values in the order of bound.compiled.order
        self._run_ = run
        self._verdict = verdict
        self.verdict = WORD[verdict]
        self.score = score
        self.amount = amount
        self.amount_missing = amount_missing
        self._listed_: tuple[list[dict[str, Any]], list[dict[str, Any]]] | None = None
        self._bonus_: list[dict[str, Any]] | None = None
        self._decisive_: list[str] | None = None
        self._trace_: dict[str, Any] | None = None

    @property
    def rule_id(self) -> str:
        return self._bound.rule.id

    @property
    def as_of(self) -> dt.date:
        return self._bound.as_of

    @property
    def amount_unit(self) -> str:
        return self._bound.amount_unit

    @property
    def _run(self) -> _Run:
        """The tree walk over the atom values already found: group values, polarity, moot
        atoms (only built when an explanation is read)."""
        run = self._run_
        if run is None:
            bound = self._bound
            preset = dict(zip(bound.compiled.order, self._values, strict=True))
            run = self._run_ = _Run(bound, self._facts, self._decisions, preset)
            run.walk()
        return run

    @property
    def _listed(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        if self._listed_ is None:
            self._listed_ = self._run.listed()
        return self._listed_

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Atoms that count against the entity (negations applied, met alternatives aside)."""
        return self._listed[0]

    @property
    def unknown(self) -> list[dict[str, Any]]:
        """Atoms still open that matter, each with the facts (or review) that would settle it."""
        return self._listed[1]

    @property
    def bonus(self) -> list[dict[str, Any]]:
        if self._bonus_ is None:
            out = []
            run = self._run
            for b in run.bound.rule.bonus:
                entry: dict[str, Any] = {"id": b.id, "value": WORD[run.value_of(b)]}
                if b.label is not None:
                    entry["label"] = {"zh": b.label.zh, "en": b.label.en}
                out.append(entry)
            self._bonus_ = out
        return self._bonus_

    @property
    def decisive(self) -> list[str]:
        """The atoms that explain the verdict."""
        if self._decisive_ is None:
            run = self._run
            bound = run.bound
            if bound.simple:
                v = self._verdict
                self._decisive_ = [i for i in bound.when_atoms if run.values.get(i) is v]
            else:
                self._decisive_ = _decisive_atoms(bound.rule.when, run)
        return self._decisive_

    @property
    def trace(self) -> dict[str, Any]:
        """The explanation tree: the rule's tree with each node's value and each atom's fact,
        actual value and test."""
        if self._trace_ is None:
            run = self._run
            rule = run.bound.rule
            tr: dict[str, Any] = {
                **run.bound.header,
                "verdict": self.verdict,
                "when": run.trace_of(rule.when),
                "bonus": [run.trace_of(b) for b in rule.bonus],
            }
            if rule.amount is not None:
                tr["amount"] = {
                    "value": self.amount,
                    "unit": self.amount_unit,
                    "label": {"zh": rule.amount.label.zh, "en": rule.amount.label.en},
                    "missing": self.amount_missing,
                }
            self._trace_ = tr
        return self._trace_

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "as_of": self.as_of.isoformat(),
            "verdict": self.verdict,
            "score": self.score,
            "decisive": self.decisive,
            "failed": self.failed,
            "unknown": self.unknown,
            "bonus": self.bonus,
            "amount": self.amount,
            "amount_unit": self.amount_unit,
            "amount_missing": self.amount_missing,
            "trace": self.trace,
        }

    def explain(self, lang: str = "zh") -> str:
        from yiwang.rules.explain import render

        return render(self.trace, lang)


# ---------------------------------------------------------------- evaluation


class _Run:
    """One evaluation by the tree walk: atom values, group values, their polarity in the
    tree, the trace. With ``preset`` the atoms' values are given (found by the compiled
    form) and only the tree is walked."""

    def __init__(
        self,
        bound: Bound,
        facts: Mapping[str, FactValue],
        decisions: Mapping[str, bool] | None,
        preset: Mapping[str, Truth] | None = None,
    ) -> None:
        self.bound = bound
        self.facts = facts
        self.decisions = decisions or {}
        self.preset = preset
        self.values: dict[str, Truth] = {}
        self.named: dict[str, Truth] = {}
        self.groups: dict[int, Truth] = {}
        self.satisfied: dict[str, Truth] = {}  # value with the polarity of the tree applied
        self.moot: set[str] = set()

    def atom(self, ba: BoundAtom) -> Truth:
        a = ba.atom
        if self.preset is not None:
            return self.preset[a.id]
        if a.kind == "discretionary":
            d = self.decisions.get(a.id)
            return None if d is None else bool(d)
        v = self.facts.get(ba.key)
        if v is None:
            return None
        return bool(ba.test(v))

    def walk(self) -> Truth:
        """Every node's value (conditions and bonus) and, where the tree has alternatives
        or negations, each atom's polarity and whether it is moot; returns the verdict."""
        rule = self.bound.rule
        out = self.node(rule.when)
        for b in rule.bonus:
            self.node(b)
        if not self.bound.simple:
            self.mark(rule.when)
        return out

    def node(self, n: Node) -> Truth:
        if isinstance(n, Atom):
            v = self.atom(self.bound.atoms[n.id])
            self.values[n.id] = v
            self.named[n.id] = v
            return v
        if isinstance(n, Not):
            out = kleene_not(self.node(n.child))
        elif n.op == "all":
            out = kleene_all([self.node(c) for c in n.children])
        else:
            out = kleene_any([self.node(c) for c in n.children])
        self.groups[id(n)] = out
        if n.id:
            self.named[n.id] = out
        return out

    def value_of(self, n: Node) -> Truth:
        return self.values.get(n.id) if isinstance(n, Atom) else self.groups.get(id(n))

    def mark(self, n: Node, negated: bool = False, moot: bool = False) -> None:
        """Each atom's value seen from the rule (negations applied) and whether it is moot:
        inside an alternative (an ``any``, or an ``all`` under ``not``) already satisfied."""
        if isinstance(n, Atom):
            v = self.values.get(n.id)
            self.satisfied[n.id] = (None if v is None else not v) if negated else v
            if moot:
                self.moot.add(n.id)
            return
        if isinstance(n, Not):
            self.mark(n.child, not negated, moot)
            return
        alternative = (n.op == "any") != negated
        v = self.value_of(n)
        seen = (None if v is None else not v) if negated else v
        child_moot = moot or (alternative and seen is True)
        for c in n.children:
            self.mark(c, negated, child_moot)

    def trace_of(self, n: Node) -> dict[str, Any]:
        if isinstance(n, Atom):
            return self.atom_trace(self.bound.atoms[n.id], self.values.get(n.id))
        v = self.value_of(n)
        kids = [n.child] if isinstance(n, Not) else list(n.children)
        return self.group_trace(n, v, [self.trace_of(c) for c in kids])

    def listed(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        failed: list[dict[str, Any]] = []
        unknown: list[dict[str, Any]] = []
        satisfied = self.values if self.bound.simple else self.satisfied
        for ba in self.bound.scored:
            a = ba.atom
            aid = a.id
            sat = True if aid in self.moot else satisfied.get(aid)
            if sat is False:
                item: dict[str, Any] = {"id": aid, "label": a.label.zh, "label_en": a.label.en}
                if ba.key:
                    item["fact"] = ba.key
                    item["actual"] = _json_value(self.facts.get(ba.key))
                item["test"] = a.shown[0]
                failed.append(item)
            elif sat is None:
                reason = "pending_review" if a.kind == "discretionary" else "missing_fact"
                unknown.append(
                    {
                        "id": aid,
                        "label": a.label.zh,
                        "label_en": a.label.en,
                        "reason": reason,
                        "facts": [ba.key] if ba.key else [],
                    }
                )
        return failed, unknown

    def atom_trace(self, ba: BoundAtom, v: Truth) -> dict[str, Any]:
        a = ba.atom
        t = self.bound.static[a.id].copy()
        t["value"] = WORD[v]
        if a.kind == "discretionary":
            t["reason"] = "pending_review" if v is None else "reviewer_decision"
            return t
        actual = self.facts.get(ba.key)
        t["actual"] = actual.isoformat() if isinstance(actual, dt.date) else actual
        if a.fn is not None and actual is not None:
            t["elapsed"] = elapsed(a.fn, actual, self.bound.as_of)  # type: ignore[arg-type]
        if v is None:
            t["reason"] = "missing_fact"
        return t

    def group_trace(self, n: Group | Not, v: Truth, children: list[Any]) -> dict[str, Any]:
        t: dict[str, Any] = {"node": n.node, "value": WORD[v], "children": children}
        if n.id:
            t["id"] = n.id
        if n.label is not None:
            t["label"] = {"zh": n.label.zh, "en": n.label.en}
        return t


def _decisive_atoms(n: Node, run: _Run) -> list[str]:
    """The atoms that explain the verdict: the failing parts of a failed ``all``, the
    passing parts of a passed ``any``, the unknown parts of an unknown one..."""
    out: list[str] = []

    def collect(node: Node) -> None:
        if isinstance(node, Atom):
            out.append(node.id)
            return
        if isinstance(node, Not):
            collect(node.child)
            return
        v = run.value_of(node)
        for c in node.children:
            if run.value_of(c) is v:
                collect(c)

    collect(n)
    return out


FormulaFn = Callable[[Mapping[str, FactValue], Mapping[str, Truth], list[str]], float | None]


def compile_formula(f: Formula, as_of: dt.date) -> FormulaFn:
    """A formula as a function of (facts, node values, missing keys) → value in base units,
    None (unknown) when an input it needs is missing."""
    if isinstance(f, Const):
        c = f.value
        return lambda facts, conds, missing: c
    if isinstance(f, FactTerm):
        key, factor = f.ref.key(as_of), f.factor

        def fact(
            facts: Mapping[str, FactValue], conds: Mapping[str, Truth], missing: list[str]
        ) -> float | None:
            v = facts.get(key)
            if v is None:
                missing.append(key)
                return None
            return float(v) * factor  # type: ignore[arg-type]

        return fact
    if isinstance(f, Op):
        args = [compile_formula(x, as_of) for x in f.args]
        op = f.op

        def operation(
            facts: Mapping[str, FactValue], conds: Mapping[str, Truth], missing: list[str]
        ) -> float | None:
            xs = [g(facts, conds, missing) for g in args]
            if None in xs:
                return None
            vals: list[float] = xs  # type: ignore[assignment]
            if op == "add":
                return sum(vals[1:], vals[0])
            if op == "sub":
                return vals[0] - vals[1]
            if op == "mul":
                out = vals[0]
                for x in vals[1:]:
                    out = out * x
                return out
            if op == "div":
                return None if vals[1] == 0 else vals[0] / vals[1]
            if op == "min":
                return min(vals)
            return max(vals)

        return operation
    if isinstance(f, If):
        cond, then, other = f.cond, compile_formula(f.then, as_of), compile_formula(f.other, as_of)

        def choose(
            facts: Mapping[str, FactValue], conds: Mapping[str, Truth], missing: list[str]
        ) -> float | None:
            c = conds.get(cond)
            a = then(facts, conds, missing)
            b = other(facts, conds, missing)
            if c is None:
                return None
            return a if c else b

        return choose
    if isinstance(f, Tiers):
        by_fn = compile_formula(f.by, as_of)
        brackets = [(lo, compile_formula(v, as_of)) for lo, v in f.brackets]
        otherwise = compile_formula(f.otherwise, as_of)

        def tiers(
            facts: Mapping[str, FactValue], conds: Mapping[str, Truth], missing: list[str]
        ) -> float | None:
            by = by_fn(facts, conds, missing)
            chosen = otherwise
            if by is not None:
                for lo, branch in brackets:
                    if by >= lo:
                        chosen = branch
            value = chosen(facts, conds, missing)
            return None if by is None else value

        return tiers
    assert isinstance(f, Progressive)
    by_fn = compile_formula(f.by, as_of)
    bounds = [lo for lo, _ in f.brackets[1:]]
    steps = [(lo, rate, hi) for (lo, rate), hi in zip(f.brackets, [*bounds, None], strict=True)]

    def progressive(
        facts: Mapping[str, FactValue], conds: Mapping[str, Truth], missing: list[str]
    ) -> float | None:
        by = by_fn(facts, conds, missing)
        if by is None:
            return None
        total = 0.0
        for lo, rate, hi in steps:
            top = by if hi is None else min(by, hi)
            if top > lo:
                total = total + (top - lo) * rate
        return total

    return progressive


def formula_value(
    f: Formula,
    facts: Mapping[str, FactValue],
    as_of: dt.date,
    conds: Mapping[str, Truth],
    missing: list[str],
) -> float | None:
    """A formula in base units; None (unknown) when an input it needs is missing."""
    return compile_formula(f, as_of)(facts, conds, missing)


def evaluate_reference(
    rule: Rule,
    facts: Mapping[str, Any],
    as_of: dt.date,
    decisions: Mapping[str, bool] | None = None,
    *,
    normalized: bool = False,
    trace: bool = True,
) -> Evaluation:
    """:func:`evaluate` by walking the rule's tree: the reference the compiled form is
    tested against (same results, slower)."""
    nf: Mapping[str, FactValue] = facts if normalized else rule.catalog.normalize(facts, as_of)
    bound = Bound(rule, as_of)
    run = _Run(bound, nf, decisions)
    verdict = run.walk()
    satisfied = run.values if bound.simple else run.satisfied
    hard = len(bound.hard_ids)
    ok = 0
    for aid in bound.hard_ids:
        if satisfied.get(aid) is True or aid in run.moot:
            ok += 1
    amount = None
    amount_missing: list[str] = []
    if bound.amount is not None:
        base = bound.amount(nf, run.named, amount_missing)
        amount = None if base is None else base / bound.amount_factor
        if len(amount_missing) > 1:
            amount_missing = sorted(set(amount_missing))
    e = Evaluation(
        bound,
        nf,
        decisions,
        verdict,
        (ok / hard) if hard else None,
        amount,
        amount_missing,
        run=run,
    )
    if trace:
        _ = e.trace, e._listed, e.bonus, e.decisive
    return e


def evaluate(
    rule: Rule,
    facts: Mapping[str, Any],
    as_of: dt.date,
    decisions: Mapping[str, bool] | None = None,
    *,
    normalized: bool = False,
    trace: bool = True,
    cache: dict[Any, Any] | None = None,
) -> Evaluation:
    """Evaluate ``rule`` for one entity's ``facts`` at ``as_of``.

    ``facts`` are raw (see :meth:`Catalog.normalize`) unless ``normalized``. ``decisions``
    maps discretionary atom ids to a reviewer's true/false. With ``trace`` the explanation
    parts are built now; otherwise when first read. ``cache`` (a dict, empty at first) may
    be passed to the evaluations of one entity, so that an atom several rules share is
    tested once; it keeps the atom values of the last facts mapping and as-of date it saw.
    """
    nf: Mapping[str, FactValue] = facts if normalized else rule.catalog.normalize(facts, as_of)
    atoms: AtomCache | None = None if cache is None else cache.get(AtomCache)
    if atoms is None or atoms.facts is not nf or atoms.as_of != as_of:
        atoms = AtomCache(nf, as_of)
        if cache is not None:
            cache[AtomCache] = atoms
    e = bind(rule, as_of).compiled.evaluate(atoms, decisions)
    if trace:
        _ = e.trace, e._listed, e.bonus, e.decisive
    return e


def verdict(
    rule: Rule,
    facts: Mapping[str, FactValue],
    as_of: dt.date,
    decisions: Mapping[str, bool] | None = None,
) -> Truth:
    """Only the verdict (True / False / None) for normalized facts: the fast path."""
    c = bind(rule, as_of).compiled
    return c.verdict(c.values(AtomCache(facts, as_of), decisions))


def amount_value(
    rule: Rule,
    facts: Mapping[str, FactValue],
    as_of: dt.date,
    decisions: Mapping[str, bool] | None = None,
) -> float | None:
    """The amount in the rule's amount unit for normalized facts (None when unknown)."""
    if rule.amount is None:
        return None
    return bind(rule, as_of).compiled.evaluate(AtomCache(facts, as_of), decisions).amount


def evaluate_many(
    rules: Sequence[Rule],
    facts: Mapping[str, Any],
    as_of: dt.date,
    decisions: Mapping[str, Mapping[str, bool]] | None = None,
    *,
    trace: bool = True,
) -> list[Evaluation]:
    """One entity against many rules: facts normalized once, shared atoms tested once."""
    if not rules:
        return []
    nf = rules[0].catalog.normalize(facts, as_of, strict=False)
    atoms = AtomCache(nf, as_of)
    table = _bound_table(as_of)
    out: list[Evaluation] = []
    put = out.append
    for r in rules:
        hit = table.get(id(r))
        b = hit[1] if hit is not None and hit[0] is r else bind(r, as_of)
        put(b.compiled.evaluate(atoms, decisions.get(r.id) if decisions else None))
    if trace:
        for e in out:
            _ = e.trace, e._listed, e.bonus, e.decisive
    return out


# ---------------------------------------------------------------- the compiled form


class AtomTest:
    """One test of one fact (key, function, operator, value) at one as-of date, shared by
    every bound rule that has it, so that its value is found once per entity."""

    __slots__ = ("key", "test")

    def __init__(self, key: str, test: Callable[[Any], bool]) -> None:
        self.key = key
        self.test = test


_TESTS: dict[tuple[Any, ...], AtomTest] = {}


def _shared_test(as_of: dt.date, ba: BoundAtom) -> AtomTest:
    a = ba.atom
    k = (as_of, ba.key, a.fn, a.op, a.value)
    t = _TESTS.get(k)
    if t is None:
        if len(_TESTS) > 200_000:  # only sharing is lost: each bound rule keeps its tests
            _TESTS.clear()
        t = _TESTS[k] = AtomTest(ba.key, _fast_test(a, as_of) or ba.test)
    return t


# ``v OP value`` as ``value REFLECTED v``: one C call (functools.partial of an operator)
_REFLECTED: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.gt,
    "<=": operator.ge,
    ">": operator.lt,
    ">=": operator.le,
}


def _fast_test(a: Atom, as_of: dt.date) -> Callable[[Any], bool] | None:
    """The atom's comparison of a known value without a Python frame, where it is a plain
    comparison with a constant (else None: the bound atom's own test is used)."""
    if a.fn is not None or a.op not in _REFLECTED:
        return None
    value = a.value.resolve(as_of) if isinstance(a.value, DateConst) else a.value
    return functools.partial(_REFLECTED[a.op], value)


class AtomCache(dict[AtomTest, Truth]):
    """The values of the atoms tested so far for one entity's normalized facts at one as-of
    date; an atom not yet tested is tested when first looked up."""

    __slots__ = ("as_of", "facts")

    def __init__(self, facts: Mapping[str, FactValue], as_of: dt.date) -> None:
        super().__init__()
        self.facts = facts
        self.as_of = as_of

    def __missing__(self, t: AtomTest) -> Truth:
        x = self.facts.get(t.key)
        v = self[t] = None if x is None else bool(t.test(x))
        return v


Values = Sequence[Truth]
ValueFn = Callable[[Values], Truth]


class Compiled:
    """A bound rule as closures over the tuple of its atom values.

    The fact atoms' values are looked up in one call (each shared test found once per
    entity), the discretionary ones come from the decisions; the verdict, the score and the
    amount are then computed from that tuple by closures built once from the tree, with the
    atoms' positions, the polarity of each position and the constants fixed in advance.
    """

    def __init__(self, bound: Bound) -> None:
        self.bound = bound
        as_of = bound.as_of
        tests: list[AtomTest] = []
        self.reviewed: tuple[str, ...] = ()
        order: list[str] = []
        for ba in bound.atoms.values():
            if ba.atom.kind != "discretionary":
                tests.append(_shared_test(as_of, ba))
                order.append(ba.atom.id)
        self.reviewed = tuple(
            ba.atom.id for ba in bound.atoms.values() if ba.atom.kind == "discretionary"
        )
        order.extend(self.reviewed)
        self.order = order
        self.lookup: Callable[[AtomCache], Values] = _lookup(tests)
        index = {aid: i for i, aid in enumerate(order)}
        rule = bound.rule
        self.verdict: ValueFn = _compile_value(rule.when, index)
        hard = [index[aid] for aid in bound.hard_ids]
        self.hard = len(hard)
        self.count_ok: Callable[[Values], int] = _compile_count(rule.when, index)
        self.amount: FormulaFn | None = None
        self.conds: list[tuple[str, ValueFn]] = []
        self.amount_factor = bound.amount_factor
        if rule.amount is not None:
            self.amount = compile_formula_fast(rule.amount.formula, as_of)
            for cond in dict.fromkeys(formula_conds(rule.amount.formula)):
                self.conds.append((cond, _compile_value(rule.named[cond], index)))
        self.evaluate: Callable[[AtomCache, Mapping[str, bool] | None], Evaluation]
        self.evaluate = self._evaluator()

    def values(self, atoms: AtomCache, decisions: Mapping[str, bool] | None) -> Values:
        vals = self.lookup(atoms)
        if self.reviewed:
            d = decisions or {}
            vals = (*vals, *(None if d.get(i) is None else bool(d[i]) for i in self.reviewed))
        return vals

    def _evaluator(self) -> Callable[[AtomCache, Mapping[str, bool] | None], Evaluation]:
        """``evaluate(atoms, decisions)`` as one closure over this rule's parts."""
        bound, lookup, reviewed = self.bound, self.lookup, self.reviewed
        verdict, count_ok, hard = self.verdict, self.count_ok, self.hard
        formula, conds, factor = self.amount, tuple(self.conds), self.amount_factor

        def evaluate(atoms: AtomCache, decisions: Mapping[str, bool] | None) -> Evaluation:
            vals = lookup(atoms)
            if reviewed:
                d = decisions or {}
                vals = (*vals, *(None if d.get(i) is None else bool(d[i]) for i in reviewed))
            score = count_ok(vals) / hard if hard else None
            amount = None
            missing: list[str] = []
            if formula is not None:
                base = formula(
                    atoms.facts, {c: f(vals) for c, f in conds} if conds else _NO_CONDS, missing
                )
                if base is not None:
                    amount = base / factor
                if len(missing) > 1:
                    missing = sorted(set(missing))
            return Evaluation(
                bound, atoms.facts, decisions, verdict(vals), score, amount, missing, vals
            )

        return evaluate


_NO_CONDS: Mapping[str, Truth] = {}


def _lookup(tests: list[AtomTest]) -> Callable[[AtomCache], Values]:
    """The atom values in order, in one C call for the usual case of several atoms."""
    if not tests:
        return lambda atoms: ()
    if len(tests) == 1:
        t = tests[0]
        return lambda atoms: (atoms[t],)
    return operator.itemgetter(*tests)


def _kleene(op: str) -> Callable[[Sequence[Truth]], Truth]:
    if op == "all":

        def all_of(t: Sequence[Truth]) -> Truth:
            if False in t:
                return False
            return None if None in t else True

        return all_of

    def any_of(t: Sequence[Truth]) -> Truth:
        if True in t:
            return True
        return None if None in t else False

    return any_of


def _compile_value(n: Node, index: Mapping[str, int]) -> ValueFn:
    """The node's Kleene value as a function of the atom values."""
    if isinstance(n, Atom):
        return operator.itemgetter(index[n.id])
    if isinstance(n, Not):
        child = _compile_value(n.child, index)

        def negation(vals: Values) -> Truth:
            v = child(vals)
            return None if v is None else not v

        return negation
    if len(n.children) == 1:
        return _compile_value(n.children[0], index)
    combine = _kleene(n.op)
    atoms = [c for c in n.children if isinstance(c, Atom)]
    if len(atoms) == len(n.children):
        pick = operator.itemgetter(*[index[c.id] for c in atoms])
        if n.op == "all":

            def all_atoms(vals: Values) -> Truth:
                t = pick(vals)
                if False in t:
                    return False
                return None if None in t else True

            return all_atoms
        return lambda vals: combine(pick(vals))
    # atoms first in one call (their values settle most groups), then the sub-groups
    first = _pick([index[c.id] for c in atoms])
    subs = tuple(_compile_value(c, index) for c in n.children if not isinstance(c, Atom))
    decisive = n.op != "all"  # the value that settles the group: False for all, True for any

    def mixed(vals: Values) -> Truth:
        t = first(vals)
        if decisive in t:
            return decisive
        unknown = None in t
        for k in subs:
            v = k(vals)
            if v is decisive:
                return decisive
            if v is None:
                unknown = True
        return None if unknown else not decisive

    return mixed


def _pick(positions: list[int]) -> Callable[[Values], Sequence[Truth]]:
    if not positions:
        return lambda vals: ()
    if len(positions) == 1:
        i = positions[0]
        return lambda vals: (vals[i],)
    return operator.itemgetter(*positions)


def _compile_count(root: Node, index: Mapping[str, int]) -> Callable[[Values], int]:
    """How many hard atoms count as satisfied (as ``_Run.mark`` then the score in
    :func:`evaluate_reference`): an atom is satisfied when its value, with the negations
    above it applied, is true, or when it is moot (inside an alternative already met: an
    ``any``, or an ``all`` under a negation).

    Hard atoms outside any alternative are counted by position (those under an even number
    of negations when true, the others when false); each outermost alternative counts all
    its hard atoms when met, else its parts, in the same way, recursively.
    """
    met: list[int] = []  # positions satisfied when true
    met_false: list[int] = []  # positions satisfied when false (negated)
    alternatives: list[Callable[[Values], int]] = []

    def collect(n: Node, negated: bool) -> None:
        if isinstance(n, Atom):
            if n.kind == "hard":
                (met_false if negated else met).append(index[n.id])
            return
        if isinstance(n, Not):
            collect(n.child, not negated)
            return
        if (n.op == "any") != negated:
            alternatives.append(_alternative(n, index, negated))
            return
        for c in n.children:
            collect(c, negated)

    collect(root, False)
    parts = alternatives
    if met_false:
        parts.insert(0, _count_of(met_false, False))
    if met or not parts:
        parts.insert(0, _count_of(met, True))
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda vals: first(vals) + second(vals)
    fns = tuple(parts)
    return lambda vals: sum([f(vals) for f in fns])


def _alternative(n: Group, index: Mapping[str, int], negated: bool) -> Callable[[Values], int]:
    value = _compile_value(n, index)
    want = not negated  # the group's value that meets it, seen from the rule
    total = _hard_atoms(n)
    parts = [_compile_count_under(c, index, negated) for c in n.children]

    def alternative(vals: Values) -> int:
        if value(vals) is want:
            return total
        return sum([f(vals) for f in parts])

    return alternative


def _compile_count_under(
    n: Node, index: Mapping[str, int], negated: bool
) -> Callable[[Values], int]:
    if isinstance(n, Atom):
        if n.kind != "hard":
            return lambda vals: 0
        i, want = index[n.id], not negated
        return lambda vals: 1 if vals[i] is want else 0
    if isinstance(n, Not):
        return _compile_count_under(n.child, index, not negated)
    if (n.op == "any") != negated:
        return _alternative(n, index, negated)
    parts = [_compile_count_under(c, index, negated) for c in n.children]
    return lambda vals: sum([f(vals) for f in parts])


def _hard_atoms(n: Node) -> int:
    return sum(1 for a in _atoms_in(n) if a.kind == "hard")


def _count_of(positions: list[int], want: bool) -> Callable[[Values], int]:
    if not positions:
        return lambda vals: 0
    if len(positions) == 1:
        i = positions[0]
        return lambda vals: 1 if vals[i] is want else 0
    pick = operator.itemgetter(*positions)
    return lambda vals: pick(vals).count(want)


def compile_formula_fast(f: Formula, as_of: dt.date) -> FormulaFn:
    """:func:`compile_formula` with the common two-argument operations and constant
    operands specialised (same operations in the same order, so the same floats)."""
    if isinstance(f, Op) and len(f.args) == 2 and f.op in _BINARY:
        op = f.op
        x, y = f.args
        fx, fy = compile_formula_fast(x, as_of), compile_formula_fast(y, as_of)
        binary = _BINARY[op]
        if isinstance(x, Const) and isinstance(y, FactTerm):
            return _const_op_fact(binary, x.value, y.ref.key(as_of), y.factor)
        if isinstance(x, Const):
            c = x.value

            def const_left(
                facts: Mapping[str, FactValue], conds: Mapping[str, Truth], missing: list[str]
            ) -> float | None:
                b = fy(facts, conds, missing)
                return None if b is None else binary(c, b)

            return const_left
        if isinstance(y, Const):
            d = y.value

            def const_right(
                facts: Mapping[str, FactValue], conds: Mapping[str, Truth], missing: list[str]
            ) -> float | None:
                a = fx(facts, conds, missing)
                return None if a is None else binary(a, d)

            return const_right

        def both(
            facts: Mapping[str, FactValue], conds: Mapping[str, Truth], missing: list[str]
        ) -> float | None:
            a = fx(facts, conds, missing)
            b = fy(facts, conds, missing)
            if a is None or b is None:
                return None
            return binary(a, b)

        return both
    return compile_formula(f, as_of)


def _const_op_fact(
    binary: Callable[[float, float], Any], c: float, key: str, factor: float
) -> FormulaFn:
    """``c OP fact`` (e.g. 20% × last year's R&D expense) in one closure."""

    def const_op_fact(
        facts: Mapping[str, FactValue], conds: Mapping[str, Truth], missing: list[str]
    ) -> float | None:
        v = facts.get(key)
        if v is None:
            missing.append(key)
            return None
        return binary(c, float(v) * factor)  # type: ignore[arg-type]

    return const_op_fact


def _div(a: float, b: float) -> float | None:
    return None if b == 0 else a / b


_BINARY: dict[str, Callable[[float, float], Any]] = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": _div,
    "min": min,
    "max": max,
}
