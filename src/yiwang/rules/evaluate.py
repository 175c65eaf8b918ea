"""Three-valued (Kleene) evaluation of a rule for one entity, with a trace that explains it.

Every atom and the whole rule answer ``pass``, ``fail`` or ``unknown``. A missing fact is
unknown, never zero. ``all`` fails if any part fails, else is unknown if any part is
unknown; ``any`` passes if any part passes, else is unknown if any part is unknown; ``not``
swaps pass and fail. Discretionary atoms are unknown (pending review) until a reviewer's
decision is given. Bonus atoms are reported and may feed the amount; they never decide
eligibility. This evaluator is the reference that the bulk forms are tested against.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
    Rule,
    Tiers,
    elapsed,
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
    """A rule with the as-of date applied: absolute fact keys and dates, compiled tests."""

    def __init__(self, rule: Rule, as_of: dt.date) -> None:
        self.rule = rule
        self.as_of = as_of
        self.atoms: dict[str, BoundAtom] = {}
        for a in rule.atoms.values():
            if a.ref is None:
                self.atoms[a.id] = BoundAtom(a, "", _never)
            else:
                self.atoms[a.id] = BoundAtom(a, a.ref.key(as_of), atom_test(a, as_of))


def _never(_: Any) -> bool:  # pragma: no cover - discretionary atoms are never tested
    raise AssertionError


_BOUND_CACHE: dict[tuple[int, dt.date], tuple[Rule, Bound]] = {}


def bind(rule: Rule, as_of: dt.date) -> Bound:
    k = (id(rule), as_of)
    hit = _BOUND_CACHE.get(k)
    if hit is not None and hit[0] is rule:
        return hit[1]
    b = Bound(rule, as_of)
    if len(_BOUND_CACHE) > 20000:
        _BOUND_CACHE.clear()
    _BOUND_CACHE[k] = (rule, b)
    return b


# ---------------------------------------------------------------- results


def _json_value(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


@dataclass
class Evaluation:
    rule_id: str
    as_of: dt.date
    verdict: str  # pass | fail | unknown
    score: float | None  # share of hard atoms satisfied (None without hard atoms)
    failed: list[dict[str, Any]]
    unknown: list[dict[str, Any]]
    bonus: list[dict[str, Any]]
    amount: float | None
    amount_unit: str
    amount_missing: list[str]
    trace: dict[str, Any]
    decisive: list[str] = field(default_factory=list)

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
    """One evaluation: atom values, their polarity in the tree, the trace."""

    def __init__(
        self,
        bound: Bound,
        facts: Mapping[str, FactValue],
        decisions: Mapping[str, bool] | None,
        cache: dict[tuple[Any, ...], Truth] | None = None,
    ) -> None:
        self.bound = bound
        self.facts = facts
        self.decisions = decisions or {}
        self.cache = cache
        self.values: dict[str, Truth] = {}
        self.groups: dict[int, Truth] = {}
        self.satisfied: dict[str, Truth] = {}  # value with the polarity of the tree applied
        self.moot: set[str] = set()

    def atom(self, ba: BoundAtom) -> Truth:
        a = ba.atom
        if a.kind == "discretionary":
            d = self.decisions.get(a.id)
            return None if d is None else bool(d)
        v = self.facts.get(ba.key)
        if v is None:
            return None
        if self.cache is not None:
            ck = (ba.key, a.fn, a.op, a.value)
            hit = self.cache.get(ck, 2)
            if hit != 2:
                return hit  # type: ignore[return-value]
            r: Truth = bool(ba.test(v))
            self.cache[ck] = r
            return r
        return bool(ba.test(v))

    def node(self, n: Node, trace: bool) -> tuple[Truth, dict[str, Any] | None]:
        if isinstance(n, Atom):
            ba = self.bound.atoms[n.id]
            v = self.atom(ba)
            self.values[n.id] = v
            return v, (self.atom_trace(ba, v) if trace else None)
        if isinstance(n, Not):
            v, t = self.node(n.child, trace)
            out = kleene_not(v)
            self.groups[id(n)] = out
            return out, (self.group_trace(n, out, [t]) if t is not None else None)
        vals: list[Truth] = []
        traces: list[dict[str, Any]] = []
        for c in n.children:
            v, t = self.node(c, trace)
            vals.append(v)
            if t is not None:
                traces.append(t)
        out = kleene_all(vals) if n.op == "all" else kleene_any(vals)
        self.groups[id(n)] = out
        return out, (self.group_trace(n, out, traces) if trace else None)

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

    def atom_trace(self, ba: BoundAtom, v: Truth) -> dict[str, Any]:
        a = ba.atom
        t: dict[str, Any] = {
            "node": "atom",
            "id": a.id,
            "kind": a.kind,
            "label": {"zh": a.label.zh, "en": a.label.en},
            "clause": a.clause,
            "value": WORD[v],
            "test": {"zh": a.shown[0], "en": a.shown[1]},
        }
        if a.kind == "discretionary":
            t["reason"] = "pending_review" if v is None else "reviewer_decision"
            return t
        t["fact"] = ba.key
        actual = self.facts.get(ba.key)
        t["actual"] = _json_value(actual)
        if a.spec is not None and a.spec.unit:
            t["unit"] = a.spec.unit
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


def _decisive_atoms(n: Node, values: dict[str, Truth]) -> list[str]:
    out: list[str] = []

    def walk(node: Node) -> Truth:
        if isinstance(node, Atom):
            return values.get(node.id)
        if isinstance(node, Not):
            return kleene_not(walk(node.child))
        vs = [walk(c) for c in node.children]
        return kleene_all(vs) if node.op == "all" else kleene_any(vs)

    def collect(node: Node) -> None:
        if isinstance(node, Atom):
            out.append(node.id)
            return
        if isinstance(node, Not):
            collect(node.child)
            return
        v = walk(node)
        for c in node.children:
            if walk(c) is v:
                collect(c)

    collect(n)
    return out


def formula_value(
    f: Formula,
    facts: Mapping[str, FactValue],
    as_of: dt.date,
    conds: Mapping[str, Truth],
    missing: list[str],
) -> float | None:
    """A formula in base units; None (unknown) when an input it needs is missing."""
    if isinstance(f, Const):
        return f.value
    if isinstance(f, FactTerm):
        key = f.ref.key(as_of)
        v = facts.get(key)
        if v is None:
            missing.append(key)
            return None
        return float(v) * f.factor  # type: ignore[arg-type]
    if isinstance(f, Op):
        xs = [formula_value(a, facts, as_of, conds, missing) for a in f.args]
        if any(x is None for x in xs):
            return None
        vals = [x for x in xs if x is not None]
        if f.op == "add":
            return sum(vals[1:], vals[0])
        if f.op == "sub":
            return vals[0] - vals[1]
        if f.op == "mul":
            out = vals[0]
            for x in vals[1:]:
                out = out * x
            return out
        if f.op == "div":
            return None if vals[1] == 0 else vals[0] / vals[1]
        if f.op == "min":
            return min(vals)
        return max(vals)
    if isinstance(f, If):
        c = conds.get(f.cond)
        then = formula_value(f.then, facts, as_of, conds, missing)
        other = formula_value(f.other, facts, as_of, conds, missing)
        if c is None:
            return None
        return then if c else other
    if isinstance(f, Tiers):
        by = formula_value(f.by, facts, as_of, conds, missing)
        chosen = f.otherwise
        if by is not None:
            for lo, branch in f.brackets:
                if by >= lo:
                    chosen = branch
        value = formula_value(chosen, facts, as_of, conds, missing)
        return None if by is None else value
    by = formula_value(f.by, facts, as_of, conds, missing)
    if by is None:
        return None
    total = 0.0
    bounds = [lo for lo, _ in f.brackets[1:]]
    for (lo, rate), hi in zip(f.brackets, [*bounds, None], strict=True):
        top = by if hi is None else min(by, hi)
        if top > lo:
            total = total + (top - lo) * rate
    return total


def node_values(rule: Rule, run: _Run) -> dict[str, Truth]:
    """Values of every named node (for ``if`` in amounts)."""
    out: dict[str, Truth] = {}

    def walk(n: Node) -> Truth:
        if isinstance(n, Atom):
            v = run.values.get(n.id)
        elif isinstance(n, Not):
            v = kleene_not(walk(n.child))
        else:
            vs = [walk(c) for c in n.children]
            v = kleene_all(vs) if n.op == "all" else kleene_any(vs)
        if n.id:
            out[n.id] = v
        return v

    walk(rule.when)
    for b in rule.bonus:
        walk(b)
    return out


def evaluate(
    rule: Rule,
    facts: Mapping[str, Any],
    as_of: dt.date,
    decisions: Mapping[str, bool] | None = None,
    *,
    normalized: bool = False,
    trace: bool = True,
    cache: dict[tuple[Any, ...], Truth] | None = None,
) -> Evaluation:
    """Evaluate ``rule`` for one entity's ``facts`` at ``as_of``.

    ``facts`` are raw (see :meth:`Catalog.normalize`) unless ``normalized``. ``decisions``
    maps discretionary atom ids to a reviewer's true/false.
    """
    nf: Mapping[str, FactValue] = facts if normalized else rule.catalog.normalize(facts, as_of)
    bound = bind(rule, as_of)
    run = _Run(bound, nf, decisions, cache)
    verdict, when_trace = run.node(rule.when, trace)
    run.mark(rule.when)
    bonus_out: list[dict[str, Any]] = []
    bonus_traces: list[dict[str, Any]] = []
    for b in rule.bonus:
        bv, bt = run.node(b, trace)
        entry: dict[str, Any] = {"id": b.id, "value": WORD[bv]}
        if b.label is not None:
            entry["label"] = {"zh": b.label.zh, "en": b.label.en}
        bonus_out.append(entry)
        if bt is not None:
            bonus_traces.append(bt)
    hard = 0
    ok = 0
    failed: list[dict[str, Any]] = []
    unknown: list[dict[str, Any]] = []
    for aid, ba in bound.atoms.items():
        a = ba.atom
        if a.kind == "bonus":
            continue
        s = run.satisfied.get(aid)
        if aid in run.moot:
            s = True  # an alternative already met: this atom no longer matters
        if a.kind == "hard":
            hard += 1
            if s is True:
                ok += 1
        if s is False:
            item: dict[str, Any] = {"id": aid, "label": a.label.zh, "label_en": a.label.en}
            if ba.key:
                item["fact"] = ba.key
                item["actual"] = _json_value(nf.get(ba.key))
            item["test"] = a.shown[0]
            failed.append(item)
        elif s is None:
            if a.kind == "discretionary":
                unknown.append(
                    {
                        "id": aid,
                        "label": a.label.zh,
                        "label_en": a.label.en,
                        "reason": "pending_review",
                        "facts": [],
                    }
                )
            else:
                unknown.append(
                    {
                        "id": aid,
                        "label": a.label.zh,
                        "label_en": a.label.en,
                        "reason": "missing_fact",
                        "facts": [ba.key],
                    }
                )
    amount = None
    amount_missing: list[str] = []
    unit = ""
    if rule.amount is not None:
        unit = rule.amount.unit
        conds = node_values(rule, run)
        base = formula_value(rule.amount.formula, nf, as_of, conds, amount_missing)
        amount = None if base is None else base / rule.amount.factor
        amount_missing = sorted(set(amount_missing))
    tr: dict[str, Any] = {}
    if trace:
        tr = {
            "rule": rule.id,
            "label": {"zh": rule.label.zh, "en": rule.label.en},
            "as_of": as_of.isoformat(),
            "verdict": WORD[verdict],
            "when": when_trace,
            "bonus": bonus_traces,
        }
        if rule.amount is not None:
            tr["amount"] = {
                "value": amount,
                "unit": unit,
                "label": {"zh": rule.amount.label.zh, "en": rule.amount.label.en},
                "missing": amount_missing,
            }
    return Evaluation(
        rule_id=rule.id,
        as_of=as_of,
        verdict=WORD[verdict],
        score=(ok / hard) if hard else None,
        failed=failed,
        unknown=unknown,
        bonus=bonus_out,
        amount=amount,
        amount_unit=unit,
        amount_missing=amount_missing,
        trace=tr,
        decisive=_decisive_atoms(rule.when, run.values) if trace else [],
    )


def verdict(
    rule: Rule,
    facts: Mapping[str, FactValue],
    as_of: dt.date,
    decisions: Mapping[str, bool] | None = None,
) -> Truth:
    """Only the verdict (True / False / None) for normalized facts: the fast path."""
    run = _Run(bind(rule, as_of), facts, decisions)
    return run.node(rule.when, False)[0]


def amount_value(
    rule: Rule,
    facts: Mapping[str, FactValue],
    as_of: dt.date,
    decisions: Mapping[str, bool] | None = None,
) -> float | None:
    """The amount in the rule's amount unit for normalized facts (None when unknown)."""
    if rule.amount is None:
        return None
    run = _Run(bind(rule, as_of), facts, decisions)
    run.node(rule.when, False)
    for b in rule.bonus:
        run.node(b, False)
    base = formula_value(rule.amount.formula, facts, as_of, node_values(rule, run), [])
    return None if base is None else base / rule.amount.factor


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
    cache: dict[tuple[Any, ...], Truth] = {}
    d = decisions or {}
    return [
        evaluate(r, nf, as_of, d.get(r.id), normalized=True, trace=trace, cache=cache)
        for r in rules
    ]
