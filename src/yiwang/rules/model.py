"""Rules: validation of the JSON tree into a typed, checked form that every evaluator reads.

See docs/rules.md for the language. :func:`parse_rule` checks everything it can before any
evaluation (unknown facts, wrong types, unit mismatches, empty groups, duplicate ids) and
raises one :class:`RuleError` listing every problem with its path, atom id and fact.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yiwang.rules import units
from yiwang.rules.catalog import Catalog, FactRef, FactSpec, Label, load_data
from yiwang.rules.errors import ExpressionError, Problem, RuleError
from yiwang.rules.expr import FUNCTIONS, parse_atom, parse_condition, parse_formula

RULES_VERSION = 1
KINDS = ("hard", "bonus", "discretionary")
CMP = ("==", "!=", "<", "<=", ">", ">=")
SET_OPS = ("in", "not_in", "prefix", "not_prefix")
ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,79}$")
SYMBOL = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
_DATE_REL = re.compile(r"^as_of(?:([+-])(\d+)([dmy]))?$")


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class DateConst:
    """A date in a rule: a fixed date, or the as-of date shifted by days, months or years."""

    fixed: dt.date | None = None
    offset: int = 0
    unit: str = "d"

    def resolve(self, as_of: dt.date) -> dt.date:
        if self.fixed is not None:
            return self.fixed
        if self.unit == "d":
            return as_of + dt.timedelta(days=self.offset)
        months = self.offset * (12 if self.unit == "y" else 1)
        return shift_months(as_of, months)

    @property
    def text(self) -> str:
        if self.fixed is not None:
            return self.fixed.isoformat()
        if not self.offset:
            return "as_of"
        sign = "+" if self.offset > 0 else "-"
        return f"as_of{sign}{abs(self.offset)}{self.unit}"


def shift_months(d: dt.date, months: int) -> dt.date:
    """``d`` moved by whole months, the day clamped to the month's end (2024-02-29 - 1y →
    2023-02-28)."""
    m0 = d.year * 12 + (d.month - 1) + months
    year, month = divmod(m0, 12)
    month += 1
    day = min(d.day, _days_in_month(year, month))
    return dt.date(year, month, day)


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (dt.date(year, month + 1, 1) - dt.date(year, month, 1)).days


def elapsed(fn: str, since: dt.date, as_of: dt.date) -> int:
    """Whole years, months or days from ``since`` to ``as_of`` (negative if in the future)."""
    if fn == "days_since":
        return (as_of - since).days
    months = (as_of.year - since.year) * 12 + (as_of.month - since.month)
    if as_of.day < since.day:
        months -= 1
    if fn == "months_since":
        return months
    return months // 12  # == as_of.year - since.year - ((as_of.m, as_of.d) < (since.m, since.d))


# ---------------------------------------------------------------- the tree


@dataclass(frozen=True, eq=False)
class Atom:
    id: str
    kind: str  # hard | bonus | discretionary
    label: Label
    clause: str
    path: str
    ref: FactRef | None = None  # None for a discretionary atom (a reviewer decides)
    spec: FactSpec | None = None
    fn: str | None = None  # years_since | months_since | days_since
    op: str = ""
    value: Any = None  # float | DateConst | int | str | bool | tuple[str, ...]
    shown: tuple[str, str] = ("", "")  # the test as people read it (zh, en), e.g. "≥ 100万元"
    expr: str = ""  # the test in the expression syntax

    @property
    def node(self) -> str:
        return "atom"


@dataclass(frozen=True, eq=False)
class Group:
    op: str  # all | any
    children: tuple[Node, ...]
    path: str
    id: str | None = None
    label: Label | None = None

    @property
    def node(self) -> str:
        return self.op


@dataclass(frozen=True, eq=False)
class Not:
    child: Node
    path: str
    id: str | None = None
    label: Label | None = None

    @property
    def node(self) -> str:
        return "not"


Node = Atom | Group | Not


# ---------------------------------------------------------------- formulas


@dataclass(frozen=True, eq=False)
class Const:
    value: float  # in the dimension's base unit (元, persons, a fraction for %)
    dim: str
    text: str


@dataclass(frozen=True, eq=False)
class FactTerm:
    ref: FactRef
    spec: FactSpec
    factor: float  # fact's unit → base unit
    dim: str


@dataclass(frozen=True, eq=False)
class Op:
    op: str  # add | sub | mul | div | min | max
    args: tuple[Formula, ...]
    dim: str


@dataclass(frozen=True, eq=False)
class If:
    cond: str  # the id of an atom or labelled group of the rule
    then: Formula
    other: Formula
    dim: str


@dataclass(frozen=True, eq=False)
class Tiers:
    by: Formula
    brackets: tuple[tuple[float, Formula], ...]  # ascending lower bounds, base units
    otherwise: Formula  # below the first bound
    dim: str


@dataclass(frozen=True, eq=False)
class Progressive:
    by: Formula
    brackets: tuple[tuple[float, float], ...]  # (lower bound, rate) ascending
    dim: str


Formula = Const | FactTerm | Op | If | Tiers | Progressive


@dataclass(frozen=True, eq=False)
class Amount:
    formula: Formula
    unit: str
    label: Label
    clause: str

    @property
    def factor(self) -> float:
        return units.factor(self.unit)


# ---------------------------------------------------------------- the rule


@dataclass(eq=False)
class Rule:
    id: str
    label: Label
    catalog: Catalog
    when: Node
    bonus: tuple[Node, ...] = ()
    amount: Amount | None = None
    version: str = ""
    source: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)
    atoms: dict[str, Atom] = field(default_factory=dict)
    named: dict[str, Node] = field(default_factory=dict)

    def iter_atoms(self) -> Iterator[Atom]:
        yield from self.atoms.values()

    def hard_atoms(self) -> list[Atom]:
        return [a for a in self.atoms.values() if a.kind == "hard"]

    def fact_refs(self) -> list[FactRef]:
        """Every fact reference of the rule (conditions, bonus and amount), each once."""
        seen: dict[str, FactRef] = {}
        for a in self.atoms.values():
            if a.ref is not None:
                seen.setdefault(a.ref.text, a.ref)
        if self.amount is not None:
            for ref in formula_refs(self.amount.formula):
                seen.setdefault(ref.text, ref)
        return list(seen.values())

    def fact_keys(self, as_of: dt.date) -> list[str]:
        return sorted({r.key(as_of) for r in self.fact_refs()})


def formula_refs(f: Formula) -> Iterator[FactRef]:
    if isinstance(f, FactTerm):
        yield f.ref
    elif isinstance(f, Op):
        for a in f.args:
            yield from formula_refs(a)
    elif isinstance(f, If):
        yield from formula_refs(f.then)
        yield from formula_refs(f.other)
    elif isinstance(f, Tiers):
        yield from formula_refs(f.by)
        yield from formula_refs(f.otherwise)
        for _, b in f.brackets:
            yield from formula_refs(b)
    elif isinstance(f, Progressive):
        yield from formula_refs(f.by)


def formula_conds(f: Formula) -> Iterator[str]:
    if isinstance(f, If):
        yield f.cond
        yield from formula_conds(f.then)
        yield from formula_conds(f.other)
    elif isinstance(f, Op):
        for a in f.args:
            yield from formula_conds(a)
    elif isinstance(f, Tiers):
        yield from formula_conds(f.by)
        yield from formula_conds(f.otherwise)
        for _, b in f.brackets:
            yield from formula_conds(b)
    elif isinstance(f, Progressive):
        yield from formula_conds(f.by)


# ---------------------------------------------------------------- parsing


def load_rule(path: str | Path, catalog: Catalog | None = None) -> Rule:
    """Read a rule file (JSON or YAML). Its catalog is ``catalog``, else the file named by
    the rule's ``"catalog"`` (relative to the rule), else ``catalog.yaml`` beside it."""
    p = Path(path)
    raw = load_data(p)
    if catalog is None:
        catalog = find_catalog(p, raw)
    return parse_rule(raw, catalog)


def find_catalog(rule_path: Path, raw: Any) -> Catalog:
    name = raw.get("catalog") if isinstance(raw, Mapping) else None
    candidates = [rule_path.parent / str(name)] if name else []
    candidates += [rule_path.parent / "catalog.yaml", rule_path.parent / "catalog.json"]
    for c in candidates:
        if c.is_file():
            return Catalog.load(c)
    raise RuleError(
        [Problem("catalog", f"no fact catalog found for {rule_path} (tried {candidates})")]
    )


def parse_rule(raw: Mapping[str, Any], catalog: Catalog) -> Rule:
    """Check a rule's JSON tree against the catalog; raise RuleError listing every problem."""
    b = _Builder(catalog)
    if not isinstance(raw, Mapping):
        raise RuleError([Problem("", "a rule is a JSON object")])
    version = raw.get("rules_version")
    if version != RULES_VERSION:
        b.problem("rules_version", f"rules_version must be {RULES_VERSION} (got {version!r})")
    rid = raw.get("id")
    if not isinstance(rid, str) or not ID_RE.match(rid):
        b.problem("id", f"a rule needs an id of letters, digits, _ . - (got {rid!r})")
        rid = "?"
    known = {
        "rules_version",
        "id",
        "version",
        "label",
        "source",
        "catalog",
        "when",
        "bonus",
        "amount",
        "description",
        "clause",
        "tags",
    }
    for k in raw:
        if k not in known:
            b.problem(str(k), f"unknown key {k!r} (known: {', '.join(sorted(known))})")
    label = b.label(raw.get("label"), "label", rid)
    when_raw = raw.get("when")
    when: Node | None = None
    if when_raw is None:
        b.problem("when", "a rule needs a 'when' condition")
    else:
        when = b.node(when_raw, "when", "hard")
    bonus: list[Node] = []
    raw_bonus = raw.get("bonus", [])
    if not isinstance(raw_bonus, list):
        b.problem("bonus", "'bonus' is a list of atoms")
    else:
        for i, item in enumerate(raw_bonus):
            node = b.node(item, f"bonus[{i}]", "bonus")
            if node is not None:
                if node.id is None:
                    b.problem(f"bonus[{i}]", "a bonus item needs an id")
                bonus.append(node)
    amount = None
    if raw.get("amount") is not None:
        amount = b.amount(raw["amount"], "amount")
    if amount is not None:
        for cond in formula_conds(amount.formula):
            if cond not in b.named:
                b.problem("amount", f"if({cond}, ...) names no atom or group of this rule")
    if b.problems or when is None:
        raise RuleError(b.problems)
    return Rule(
        id=rid,
        label=label,
        catalog=catalog,
        when=when,
        bonus=tuple(bonus),
        amount=amount,
        version=str(raw.get("version", "")),
        source=dict(raw.get("source") or {}),
        raw=raw,
        atoms=b.atoms,
        named=b.named,
    )


class _Builder:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.problems: list[Problem] = []
        self.atoms: dict[str, Atom] = {}
        self.named: dict[str, Node] = {}
        self._auto = 0

    def problem(
        self, path: str, msg: str, atom_id: str | None = None, fact: str | None = None
    ) -> None:
        self.problems.append(Problem(path, msg, atom_id=atom_id, fact=fact))

    def label(self, raw: Any, path: str, default: str) -> Label:
        try:
            return Label.parse(raw, default)
        except TypeError as e:
            self.problem(path, str(e))
            return Label(default, default)

    def _register(self, node_id: str, node: Node, path: str) -> None:
        if node_id in self.named:
            first = self.named[node_id]
            self.problem(
                path, f"duplicate id {node_id!r} (first used at {first.path})", atom_id=node_id
            )
            return
        self.named[node_id] = node
        if isinstance(node, Atom):
            self.atoms[node_id] = node

    def _auto_id(self, raw: Mapping[str, Any]) -> str:
        fact = str(raw.get("fact", "atom"))
        base = re.sub(r"[^a-z0-9_]+", "_", fact.lower().replace("@fy-", "_fy_").replace("@", "_"))
        base = base.strip("_") or "atom"
        if raw.get("fn"):
            base += "_" + str(raw["fn"]).split("_")[0]
        cand = base
        n = 1
        while cand in self.named:
            n += 1
            cand = f"{base}_{n}"
        return cand

    def node(self, raw: Any, path: str, kind: str, auto_ids: bool = False) -> Node | None:
        if isinstance(raw, str):
            try:
                raw = parse_condition(raw)
            except ExpressionError as e:
                self.problem(path, e.short)
                return None
            auto_ids = True
        if not isinstance(raw, Mapping):
            self.problem(
                path, "a condition is an object (all / any / not / an atom) or an expression"
            )
            return None
        logical = [k for k in ("all", "any", "not") if k in raw]
        if len(logical) > 1:
            self.problem(path, f"one of all / any / not per node, not {logical}")
            return None
        nid = raw.get("id")
        if nid is not None and (not isinstance(nid, str) or not ID_RE.match(nid)):
            self.problem(path, f"bad id {nid!r}: letters, digits, _ . - only", atom_id=str(nid))
            nid = None
        if logical:
            op = logical[0]
            label = self.label(raw["label"], f"{path}.label", "") if "label" in raw else None
            for k in raw:
                if k not in (op, "id", "label", "clause", "kind"):
                    self.problem(path, f"unknown key {k!r} in an {op} node", atom_id=nid)
            if op == "not":
                child = self.node(raw["not"], f"{path}.not", kind, auto_ids)
                if child is None:
                    return None
                n: Node = Not(child, path, nid, label)
            else:
                items = raw[op]
                if not isinstance(items, list) or not items:
                    self.problem(path, f"'{op}' needs a non-empty list of conditions", atom_id=nid)
                    return None
                children = [
                    self.node(c, f"{path}.{op}[{i}]", kind, auto_ids) for i, c in enumerate(items)
                ]
                if any(c is None for c in children):
                    return None
                n = Group(op, tuple(c for c in children if c is not None), path, nid, label)
            if nid:
                self._register(nid, n, path)
            return n
        return self.atom(raw, path, kind, auto_ids)

    def atom(
        self, raw: Mapping[str, Any], path: str, default_kind: str, auto_ids: bool
    ) -> Atom | None:
        raw = dict(raw)
        aid = raw.get("id")
        if "expr" in raw:
            if not isinstance(raw["expr"], str):
                self.problem(path, "'expr' is an expression string", atom_id=aid)
                return None
            try:
                parsed = parse_atom(raw["expr"])
            except ExpressionError as e:
                self.problem(path, e.short, atom_id=aid)
                return None
            clash = {"fact", "op", "value", "fn"} & set(raw)
            if clash:
                self.problem(path, f"give either 'expr' or {sorted(clash)}, not both", atom_id=aid)
            raw.update(parsed)
        kind = raw.get("kind", default_kind)
        if aid is None and auto_ids and kind != "discretionary":
            aid = self._auto_id(raw)
        if not isinstance(aid, str) or not ID_RE.match(aid):
            self.problem(
                path, f"an atom needs an id of letters, digits, _ . - (got {aid!r})", atom_id=None
            )
            return None
        known = {"id", "label", "kind", "clause", "fact", "op", "value", "fn", "expr", "note"}
        for k in raw:
            if k not in known:
                self.problem(path, f"unknown key {k!r} in an atom", atom_id=aid)
        label_raw = raw.get("label")
        clause = str(raw.get("clause", ""))
        if kind not in KINDS:
            self.problem(path, f"kind {kind!r} is not one of {', '.join(KINDS)}", atom_id=aid)
            return None
        if default_kind == "bonus" and kind != "bonus":
            self.problem(path, "items of 'bonus' are bonus atoms (kind: bonus)", atom_id=aid)
            return None
        if default_kind != "bonus" and kind == "bonus":
            self.problem(
                path, "a bonus atom does not decide eligibility: list it under 'bonus'", atom_id=aid
            )
            return None
        if kind == "discretionary":
            if any(k in raw for k in ("fact", "op", "value", "fn")):
                self.problem(
                    path,
                    "a discretionary atom is decided by a reviewer; it tests no fact",
                    atom_id=aid,
                )
                return None
            label = self.label(label_raw, f"{path}.label", aid)
            a = Atom(
                aid, kind, label, clause, path, shown=("待审核认定", "to be decided by a reviewer")
            )
            self._register(aid, a, path)
            return a
        fact_text = raw.get("fact")
        if not isinstance(fact_text, str):
            self.problem(path, "an atom tests a 'fact' (or give 'expr')", atom_id=aid)
            return None
        try:
            ref = FactRef.parse(fact_text)
        except ValueError as e:
            self.problem(path, str(e), atom_id=aid, fact=fact_text)
            return None
        spec = self.catalog.facts.get(ref.name)
        if spec is None:
            self.problem(
                path, f"unknown fact {ref.name!r} (not in the catalog)", atom_id=aid, fact=ref.name
            )
            return None
        if spec.period and not ref.periodic:
            self.problem(
                path,
                f"fact {ref.name!r} is kept per fiscal year: "
                f"write {ref.name}@FY-1 or {ref.name}@FY2023",
                atom_id=aid,
                fact=ref.name,
            )
            return None
        if not spec.period and ref.periodic:
            self.problem(path, f"fact {ref.name!r} has no period", atom_id=aid, fact=ref.name)
            return None
        checked = self._check_test(raw, spec, path, aid)
        if checked is None:
            return None
        fn, op, value, shown, expr_text = checked
        label = self.label(label_raw, f"{path}.label", "")
        if not label.zh:
            label = _auto_label(spec, ref, fn, shown)
        a = Atom(
            aid,
            kind,
            label,
            clause,
            path,
            ref,
            spec,
            fn,
            op,
            value,
            shown,
            f"{fn + '(' + ref.text + ')' if fn else ref.text} {expr_text}",
        )
        self._register(aid, a, path)
        return a

    def _check_test(
        self, raw: Mapping[str, Any], spec: FactSpec, path: str, aid: str
    ) -> tuple[str | None, str, Any, tuple[str, str], str] | None:
        fn = raw.get("fn")
        op = raw.get("op")
        value = raw.get("value")
        fact = spec.name

        def bad(msg: str) -> None:
            self.problem(path, msg, atom_id=aid, fact=fact)

        if op not in CMP + SET_OPS:
            bad(f"operator {op!r} is not one of {', '.join(CMP + SET_OPS)}")
            return None
        if fn is not None:
            if fn not in FUNCTIONS:
                bad(f"unknown function {fn!r} (known: {', '.join(FUNCTIONS)})")
                return None
            if spec.type != "date":
                bad(f"{fn}() needs a date fact; {fact!r} is a {spec.type}")
                return None
            if op not in CMP:
                bad(f"{fn}() is compared with {', '.join(CMP)}")
                return None
            if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
                bad(f"{fn}() is compared with a whole number, got {value!r}")
                return None
            n = int(value)
            word = {
                "years_since": ("年", "years"),
                "months_since": ("个月", "months"),
                "days_since": ("天", "days"),
            }[fn]
            return (
                fn,
                op,
                n,
                (f"{SYMBOL[op]} {n}{word[0]}", f"{SYMBOL[op]} {n} {word[1]}"),
                f"{op} {n}",
            )
        t = spec.type
        if t == "number":
            if op not in CMP:
                bad(f"operator {op!r} does not apply to a number; use {', '.join(CMP)}")
                return None
            q = self._quantity(value, spec, path, aid)
            if q is None:
                return None
            x, given_unit = q
            zh = f"{SYMBOL[op]} {units.format_quantity(x, spec.unit, 'zh')}"
            en = f"{SYMBOL[op]} {units.format_quantity(x, spec.unit, 'en')}"
            if given_unit and given_unit != spec.unit:
                raw_q = units.format_quantity(float(_amount(value)), given_unit, "zh")
                zh += f"（{raw_q}）"
                en += f" ({units.format_quantity(float(_amount(value)), given_unit, 'en')})"
            tail = units.format_quantity(x, spec.unit, "zh").replace(" ", "")
            return None, op, x, (zh, en), f"{op} {tail}"
        if t == "date":
            if op not in CMP:
                bad(f"operator {op!r} does not apply to a date; use {', '.join(CMP)}")
                return None
            d = _date_const(value)
            if d is None:
                bad(f"expected a date YYYY-MM-DD or as_of[+-N(d|m|y)], got {value!r}")
                return None
            zh_d = d.text.replace("as_of", "评估日")
            en_d = d.text.replace("as_of", "the as-of date")
            return None, op, d, (f"{SYMBOL[op]} {zh_d}", f"{SYMBOL[op]} {en_d}"), f"{op} {d.text}"
        if t == "boolean":
            if op not in ("==", "!="):
                bad(f"operator {op!r} does not apply to a true/false fact; use == or !=")
                return None
            if not isinstance(value, bool):
                bad(f"a true/false fact is compared with true or false, got {value!r}")
                return None
            v = value if op == "==" else not value
            return (
                None,
                "==",
                v,
                (("是" if v else "否"), ("yes" if v else "no")),
                f"== {str(v).lower()}",
            )
        # code and enum
        if op in ("<", "<=", ">", ">=") and not (t == "enum" and spec.ordered):
            bad(f"operator {op!r} does not apply to a {t} (only to an ordered enum)")
            return None
        if op in ("prefix", "not_prefix") and t != "code":
            bad(f"prefixes apply to codes; {fact!r} is a {t}")
            return None
        if op in SET_OPS:
            if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
                bad(f"operator {op!r} takes a non-empty list")
                return None
            if not all(isinstance(x, str) and x for x in value):
                bad("list items are non-empty strings (quote codes)")
                return None
            items = tuple(dict.fromkeys(str(x) for x in value))
            if t == "enum":
                for item in items:
                    if item not in spec.values:
                        bad(f"{item!r} is not a value of {fact!r} ({', '.join(spec.values)})")
                        return None
            sep = "、"
            names_zh = sep.join(_value_text(spec, v, "zh") for v in items)
            names_en = ", ".join(_value_text(spec, v, "en") for v in items)
            texts = {
                "in": (f"属于 {names_zh}", f"is one of {names_en}"),
                "not_in": (f"不属于 {names_zh}", f"is none of {names_en}"),
                "prefix": (f"以 {names_zh} 开头", f"starts with {names_en}"),
                "not_prefix": (f"不以 {names_zh} 开头", f"does not start with {names_en}"),
            }[op]
            listed = ", ".join(f'"{x}*"' if "prefix" in op else f'"{x}"' for x in items)
            neg = "not in" if op.startswith("not") else "in"
            return None, op, items, texts, f"{neg} [{listed}]"
        if not isinstance(value, str) or not value:
            bad(f"a {t} is compared with a non-empty string, got {value!r} (quote codes)")
            return None
        if t == "enum" and value not in spec.values:
            bad(f"{value!r} is not a value of {fact!r} ({', '.join(spec.values)})")
            return None
        shown = (
            f"{SYMBOL[op]} {_value_text(spec, value, 'zh')}",
            f"{SYMBOL[op]} {_value_text(spec, value, 'en')}",
        )
        if op in ("==", "!="):
            return None, op, value, shown, f'{op} "{value}"'
        # ordered enum comparison → the set of values it admits
        i = spec.values.index(value)
        idx = range(len(spec.values))
        keep = {
            "<": [j for j in idx if j < i],
            "<=": [j for j in idx if j <= i],
            ">": [j for j in idx if j > i],
            ">=": [j for j in idx if j >= i],
        }[op]
        if not keep:
            bad(f"{fact} {op} {value!r} admits no value")
            return None
        return None, "in", tuple(spec.values[j] for j in keep), shown, f'{op} "{value}"'

    def _quantity(
        self, value: Any, spec: FactSpec, path: str, aid: str
    ) -> tuple[float, str | None] | None:
        fact = spec.name
        try:
            if isinstance(value, bool) or value is None:
                raise units.UnitError(f"expected a number, got {value!r}")
            if isinstance(value, int | float):
                amount, unit = float(value), None
            elif isinstance(value, str):
                amount, unit = units.parse_quantity(value)
            elif isinstance(value, Mapping) and "amount" in value:
                a = value["amount"]
                if isinstance(a, bool) or not isinstance(a, int | float):
                    raise units.UnitError(f"expected a number, got {a!r}")
                amount = float(a)
                unit = units.get_unit(str(value["unit"])).symbol if value.get("unit") else None
            else:
                raise units.UnitError(f"expected a number (with unit), got {value!r}")
            if unit is None and spec.unit is not None:
                raise units.UnitError(
                    f"unit mismatch: {fact!r} is in {spec.unit}; write the value with a unit "
                    f"(e.g. {units.format_number(amount)}{spec.unit})"
                )
            if unit is not None and spec.unit is None:
                raise units.UnitError(
                    f"unit mismatch: {fact!r} has no unit, the value is in {unit}"
                )
            return units.convert(amount, unit, spec.unit), unit
        except units.UnitError as e:
            self.problem(path, str(e), atom_id=aid, fact=fact)
            return None

    # ------------------------------------------------------------ amounts

    def amount(self, raw: Any, path: str) -> Amount | None:
        if isinstance(raw, str) or (isinstance(raw, Mapping) and "formula" not in raw):
            raw = {"formula": raw}
        if not isinstance(raw, Mapping):
            self.problem(path, "'amount' is {formula, unit, label}")
            return None
        unit = raw.get("unit")
        try:
            unit_sym = units.get_unit(str(unit)).symbol if unit else None
        except units.UnitError as e:
            self.problem(f"{path}.unit", str(e))
            return None
        f = self.formula(raw["formula"], f"{path}.formula")
        if f is None:
            return None
        if unit_sym is None:
            if f.dim not in ("", "ratio"):
                self.problem(f"{path}.unit", f"the amount is {_dim(f.dim)}: give its 'unit'")
                return None
            unit_sym_s = ""
        else:
            unit_sym_s = unit_sym
            if units.dimension(unit_sym) != f.dim and not (
                f.dim == "" and units.dimension(unit_sym) == "ratio"
            ):
                self.problem(
                    f"{path}.unit",
                    f"unit mismatch: the formula gives {_dim(f.dim)}, "
                    f"the amount's unit is {unit_sym}",
                )
                return None
        return Amount(
            f,
            unit_sym_s,
            self.label(raw.get("label"), f"{path}.label", "金额"),
            str(raw.get("clause", "")),
        )

    def formula(self, raw: Any, path: str) -> Formula | None:
        if isinstance(raw, str):
            try:
                raw = parse_formula(raw)
            except ExpressionError as e:
                self.problem(path, e.short)
                return None
        if isinstance(raw, bool):
            self.problem(path, "a formula is a number, a fact or an operation")
            return None
        if isinstance(raw, int | float):
            return Const(float(raw), "", units.format_number(float(raw)))
        if not isinstance(raw, Mapping):
            self.problem(path, "a formula is a number, an expression string or an object")
            return None
        if "const" in raw:
            return self._const(raw.get("const"), raw.get("unit"), path)
        if "fact" in raw:
            return self._fact_term(raw["fact"], path)
        for op in ("add", "sum", "sub", "mul", "product", "div", "min", "max"):
            if op in raw:
                return self._op(
                    {"sum": "add", "product": "mul"}.get(op, op), raw[op], f"{path}.{op}"
                )
        if "if" in raw:
            cond = raw["if"]
            if not isinstance(cond, str):
                self.problem(path, "'if' names an atom or group id of this rule")
                return None
            then = self.formula(raw.get("then"), f"{path}.then")
            other = self.formula(raw.get("else", 0), f"{path}.else")
            if then is None or other is None:
                return None
            if "else" not in raw and isinstance(other, Const):
                other = Const(0.0, then.dim, "0")
            dim = self._same_dim([then, other], path)
            return None if dim is None else If(cond, then, other, dim)
        if "tiers" in raw:
            return self._tiers(raw["tiers"], f"{path}.tiers")
        if "progressive" in raw:
            return self._progressive(raw["progressive"], f"{path}.progressive")
        self.problem(path, f"unknown formula {sorted(raw)}; see docs/rules.md")
        return None

    def _const(self, value: Any, unit: Any, path: str) -> Const | None:
        try:
            if isinstance(value, str) and unit is None:
                amount, u = units.parse_quantity(value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                amount, u = float(value), (units.get_unit(str(unit)).symbol if unit else None)
            else:
                raise units.UnitError(f"expected a number, got {value!r}")
        except units.UnitError as e:
            self.problem(path, str(e))
            return None
        return Const(amount * units.factor(u), units.dimension(u), units.format_quantity(amount, u))

    def _fact_term(self, text: Any, path: str) -> FactTerm | None:
        try:
            ref = FactRef.parse(str(text))
        except ValueError as e:
            self.problem(path, str(e), fact=str(text))
            return None
        spec = self.catalog.facts.get(ref.name)
        if spec is None:
            self.problem(path, f"unknown fact {ref.name!r} (not in the catalog)", fact=ref.name)
            return None
        if spec.type != "number":
            self.problem(
                path, f"a formula uses number facts; {ref.name!r} is a {spec.type}", fact=ref.name
            )
            return None
        if bool(spec.period) != ref.periodic:
            self.problem(
                path,
                f"fact {ref.name!r} "
                + ("needs a period (@FY-1)" if spec.period else "has no period"),
                fact=ref.name,
            )
            return None
        return FactTerm(ref, spec, units.factor(spec.unit), units.dimension(spec.unit))

    def _op(self, op: str, raw: Any, path: str) -> Formula | None:
        if not isinstance(raw, list) or not raw:
            self.problem(path, f"'{op}' takes a non-empty list")
            return None
        if op in ("sub", "div") and len(raw) != 2:
            self.problem(path, f"'{op}' takes exactly two operands")
            return None
        args = [self.formula(a, f"{path}[{i}]") for i, a in enumerate(raw)]
        if any(a is None for a in args):
            return None
        fs = tuple(a for a in args if a is not None)
        if op in ("add", "sub", "min", "max"):
            dim = self._same_dim(list(fs), path)
            return None if dim is None else Op(op, fs, dim)
        dims = [a.dim for a in fs if a.dim not in ("", "ratio")]
        if op == "mul":
            if len(dims) > 1:
                self.problem(path, f"cannot multiply {' by '.join(_dim(d) for d in dims)}")
                return None
            return Op(op, fs, dims[0] if dims else "")
        a, b = fs
        if b.dim in ("", "ratio"):
            return Op(op, fs, "" if a.dim == "ratio" else a.dim)
        if a.dim == b.dim:
            return Op(op, fs, "")
        self.problem(path, f"cannot divide {_dim(a.dim)} by {_dim(b.dim)}")
        return None

    def _same_dim(self, fs: list[Formula], path: str) -> str | None:
        dims = {f.dim for f in fs}
        if dims <= {"", "ratio"}:
            return "ratio" if "ratio" in dims else ""
        if len(dims) == 1:
            return dims.pop()
        self.problem(path, "unit mismatch: " + " vs ".join(sorted(_dim(d) for d in dims)))
        return None

    def _bound(self, raw: Any, dim: str, path: str) -> float | None:
        c = self.formula(raw, path)
        if c is None:
            return None
        if not isinstance(c, Const):
            self.problem(path, "a bracket bound is a constant")
            return None
        if c.dim != dim and not (c.dim in ("", "ratio") and dim in ("", "ratio")):
            self.problem(path, f"unit mismatch: the bound is {_dim(c.dim)}, 'by' is {_dim(dim)}")
            return None
        return c.value

    def _tiers(self, raw: Any, path: str) -> Tiers | None:
        if (
            not isinstance(raw, Mapping)
            or "by" not in raw
            or not isinstance(raw.get("brackets"), list)
        ):
            self.problem(path, "tiers are {by, brackets: [{from, value}], else}")
            return None
        by = self.formula(raw["by"], f"{path}.by")
        if by is None:
            return None
        brackets: list[tuple[float, Formula]] = []
        for i, br in enumerate(raw["brackets"]):
            p = f"{path}.brackets[{i}]"
            if not isinstance(br, Mapping) or "from" not in br or "value" not in br:
                self.problem(p, "a bracket is {from, value}")
                return None
            lo = self._bound(br["from"], by.dim, f"{p}.from")
            v = self.formula(br["value"], f"{p}.value")
            if lo is None or v is None:
                return None
            if brackets and lo <= brackets[-1][0]:
                self.problem(p, "brackets go in ascending order of 'from'")
                return None
            brackets.append((lo, v))
        if not brackets:
            self.problem(path, "tiers need at least one bracket")
            return None
        other = self.formula(raw.get("else", 0), f"{path}.else")
        if other is None:
            return None
        if "else" not in raw:
            other = Const(0.0, brackets[0][1].dim, "0")
        dim = self._same_dim([other, *(v for _, v in brackets)], path)
        return None if dim is None else Tiers(by, tuple(brackets), other, dim)

    def _progressive(self, raw: Any, path: str) -> Progressive | None:
        if (
            not isinstance(raw, Mapping)
            or "by" not in raw
            or not isinstance(raw.get("brackets"), list)
        ):
            self.problem(path, "progressive is {by, brackets: [{from, rate}]}")
            return None
        by = self.formula(raw["by"], f"{path}.by")
        if by is None:
            return None
        brackets: list[tuple[float, float]] = []
        for i, br in enumerate(raw["brackets"]):
            p = f"{path}.brackets[{i}]"
            if not isinstance(br, Mapping) or "from" not in br or "rate" not in br:
                self.problem(p, "a bracket is {from, rate}")
                return None
            lo = self._bound(br["from"], by.dim, f"{p}.from")
            rate = self._bound(br["rate"], "ratio", f"{p}.rate")
            if lo is None or rate is None:
                return None
            if brackets and lo <= brackets[-1][0]:
                self.problem(p, "brackets go in ascending order of 'from'")
                return None
            brackets.append((lo, rate))
        if not brackets:
            self.problem(path, "progressive needs at least one bracket")
            return None
        return Progressive(by, tuple(brackets), by.dim)


def _amount(value: Any) -> float:
    if isinstance(value, Mapping):
        return float(value["amount"])
    if isinstance(value, str):
        return units.parse_quantity(value)[0]
    return float(value)


def _dim(d: str) -> str:
    return units.DIMENSION_LABELS.get(d, (d, d))[1] if d else "a plain number"


def _date_const(value: Any) -> DateConst | None:
    if isinstance(value, dt.datetime):
        return DateConst(fixed=value.date())
    if isinstance(value, dt.date):
        return DateConst(fixed=value)
    if not isinstance(value, str):
        return None
    s = value.strip().replace(" ", "")
    m = _DATE_REL.match(s)
    if m:
        sign, n, u = m.groups()
        if not sign:
            return DateConst()
        k = int(n) * (1 if sign == "+" else -1)
        return DateConst(offset=k, unit=u)
    try:
        return DateConst(fixed=dt.date.fromisoformat(s))
    except ValueError:
        return None


def _value_text(spec: FactSpec, value: str, lang: str) -> str:
    lab = spec.value_labels.get(value)
    return lab.get(lang) if lab else value


def period_text(ref: FactRef, lang: str) -> str:
    if ref.back is not None:
        if lang == "en":
            return {0: "this fiscal year", 1: "last fiscal year"}.get(
                ref.back, f"fiscal year {ref.back} years back"
            )
        return {0: "本年度", 1: "上一年度", 2: "前两年度"}.get(ref.back, f"前{ref.back}年度")
    if ref.year is not None:
        return f"FY{ref.year}" if lang == "en" else f"{ref.year}年度"
    return ""


def _auto_label(spec: FactSpec, ref: FactRef, fn: str | None, shown: tuple[str, str]) -> Label:
    zh = spec.label.zh
    en = spec.label.en
    if ref.periodic:
        zh = f"{period_text(ref, 'zh')}{zh}"
        en = f"{en} ({period_text(ref, 'en')})"
    if fn:
        zh = {
            "years_since": f"自{zh}起满",
            "months_since": f"自{zh}起满",
            "days_since": f"自{zh}起",
        }[fn]
        en = {
            "years_since": f"years since {en}",
            "months_since": f"months since {en}",
            "days_since": f"days since {en}",
        }[fn]
    if spec.type == "boolean":
        return Label(f"{zh}：{shown[0]}", f"{en}: {shown[1]}")
    return Label(f"{zh} {shown[0]}", f"{en} {shown[1]}")
