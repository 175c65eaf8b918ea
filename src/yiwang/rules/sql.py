"""Rules as SQL through SQLGlot: NULL is unknown, so SQL's AND / OR / NOT are Kleene logic.

A verdict column is TRUE (pass), FALSE (fail) or NULL (unknown); an amount column is a
DOUBLE or NULL. The fact table has one column per fact key (see ``catalog.column_name``):
number → DOUBLE, date → DATE, code / enum → VARCHAR, boolean → BOOLEAN. The same tree is
written for DuckDB, PostgreSQL and Spark (``dialect``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlglot import exp

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

DIALECTS = ("duckdb", "postgres", "spark")
SQL_TYPES = {
    "number": "DOUBLE",
    "date": "DATE",
    "code": "VARCHAR",
    "enum": "VARCHAR",
    "boolean": "BOOLEAN",
}
_CMP = {"==": exp.EQ, "!=": exp.NEQ, "<": exp.LT, "<=": exp.LTE, ">": exp.GT, ">=": exp.GTE}


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def _num(x: float) -> exp.Expr:
    if x == int(x) and abs(x) < 2**53:
        lit: exp.Expr = exp.Literal.number(int(abs(x)))
    else:
        lit = exp.Literal.number(repr(abs(x)))
    lit = exp.cast(lit, exp.DataType.Type.DOUBLE)
    return exp.Neg(this=lit) if x < 0 or (x == 0 and str(x).startswith("-")) else lit


def _lit(v: object) -> exp.Expr:
    if isinstance(v, bool):
        return exp.Boolean(this=v)
    if isinstance(v, int | float):
        return _num(float(v))
    if isinstance(v, dt.date):
        return exp.cast(exp.Literal.string(v.isoformat()), exp.DataType.Type.DATE)
    return exp.Literal.string(str(v))


def _null(kind: str = "BOOLEAN") -> exp.Expr:
    return exp.cast(exp.Null(), exp.DataType.build(kind))


def _p(e: exp.Expr) -> exp.Expr:
    return exp.paren(e, copy=False) if isinstance(e, exp.And | exp.Or) else e


def _and(parts: Sequence[exp.Expr]) -> exp.Expr:
    out: exp.Expr = _p(parts[0])
    for p in parts[1:]:
        out = exp.And(this=out, expression=_p(p))
    return out


def _or(parts: Sequence[exp.Expr]) -> exp.Expr:
    out: exp.Expr = _p(parts[0])
    for p in parts[1:]:
        out = exp.Or(this=out, expression=_p(p))
    return out


def _not(e: exp.Expr) -> exp.Expr:
    return exp.Not(this=exp.paren(e, copy=False))


def cond_sql(column: str, cond: Cond, review_columns: bool = False) -> exp.Expr:
    c = _col(column)
    if isinstance(cond, Cmp):
        return _CMP[cond.op](this=c, expression=_lit(cond.value))
    if isinstance(cond, InSet):
        e: exp.Expr = c.isin(*[exp.Literal.string(v) for v in cond.values])
        return _not(e) if cond.negate else e
    if isinstance(cond, Prefix):
        tests = [
            exp.EQ(
                this=exp.Substring(
                    this=c.copy(), start=exp.Literal.number(1), length=exp.Literal.number(len(p))
                ),
                expression=exp.Literal.string(p),
            )
            for p in cond.prefixes
        ]
        e = _or(tests) if len(tests) > 1 else tests[0]
        return _not(e) if cond.negate else e
    if isinstance(cond, Both):
        return _and([cond_sql(column, p) for p in cond.parts])
    if isinstance(cond, Either):
        return _or([cond_sql(column, p) for p in cond.parts])
    assert isinstance(cond, Pending)
    return c if review_columns else _null()


def lowered_sql(lw: Lowered, review_columns: bool = False) -> exp.Expr:
    return cond_sql(lw.column, lw.cond, review_columns)


def node_sql(rule: Rule, n: Node, as_of: dt.date, review_columns: bool = False) -> exp.Expr:
    if isinstance(n, Atom):
        return lowered_sql(lower_atom(n, as_of, rule.id), review_columns)
    if isinstance(n, Not):
        return _not(node_sql(rule, n.child, as_of, review_columns))
    parts = [node_sql(rule, c, as_of, review_columns) for c in n.children]
    return (_and if n.op == "all" else _or)(parts) if len(parts) > 1 else parts[0]


def condition_sql(rule: Rule, as_of: dt.date, review_columns: bool = False) -> exp.Expr:
    """The rule's verdict as a boolean SQL expression (NULL = unknown)."""
    return node_sql(rule, rule.when, as_of, review_columns)


def _is_null_any(parts: Sequence[exp.Expr]) -> exp.Expr:
    tests: list[exp.Expr] = [exp.Is(this=p.copy(), expression=exp.Null()) for p in parts]
    out = tests[0]
    for t in tests[1:]:
        out = exp.Or(this=out, expression=t)
    return out


def _case_null(parts: Sequence[exp.Expr], then: exp.Expr) -> exp.Expr:
    return exp.Case().when(_is_null_any(parts), _null("DOUBLE")).else_(then)


def formula_sql(f: Formula, as_of: dt.date, conds: dict[str, exp.Expr]) -> exp.Expr:
    if isinstance(f, Const):
        return _num(f.value)
    if isinstance(f, FactTerm):
        c: exp.Expr = _col(fact_column(f.ref, as_of))
        return c if f.factor == 1.0 else exp.paren(exp.Mul(this=c, expression=_num(f.factor)))
    if isinstance(f, Op):
        xs = [formula_sql(a, as_of, conds) for a in f.args]
        if f.op in ("add", "sub", "mul"):
            cls = {"add": exp.Add, "sub": exp.Sub, "mul": exp.Mul}[f.op]
            out = xs[0]
            for x in xs[1:]:
                out = cls(this=out, expression=x)
            return exp.paren(out)
        if f.op == "div":
            return exp.paren(
                exp.Div(this=xs[0], expression=exp.Nullif(this=xs[1], expression=_num(0.0)))
            )
        fn = exp.Least if f.op == "min" else exp.Greatest
        if len(xs) == 1:
            return xs[0]
        both = fn(this=xs[0].copy(), expressions=[x.copy() for x in xs[1:]])
        nullable = [x for a, x in zip(f.args, xs, strict=True) if not isinstance(a, Const)]
        return _case_null(nullable, both) if nullable else both
    if isinstance(f, If):
        cond = conds[f.cond]
        return (
            exp.Case()
            .when(exp.Is(this=exp.paren(cond.copy()), expression=exp.Null()), _null("DOUBLE"))
            .when(cond.copy(), formula_sql(f.then, as_of, conds))
            .else_(formula_sql(f.other, as_of, conds))
        )
    if isinstance(f, Tiers):
        by = formula_sql(f.by, as_of, conds)
        case = exp.Case().when(exp.Is(this=by.copy(), expression=exp.Null()), _null("DOUBLE"))
        for lo, v in reversed(f.brackets):
            case = case.when(
                exp.GTE(this=by.copy(), expression=_num(lo)), formula_sql(v, as_of, conds)
            )
        return case.else_(formula_sql(f.otherwise, as_of, conds))
    assert isinstance(f, Progressive)
    by = formula_sql(f.by, as_of, conds)
    total: exp.Expr = _num(0.0)
    bounds = [lo for lo, _ in f.brackets[1:]]
    for (lo, rate), hi in zip(f.brackets, [*bounds, None], strict=True):
        top = by.copy() if hi is None else exp.Least(this=by.copy(), expressions=[_num(hi)])
        piece = (
            exp.Case()
            .when(
                exp.GT(this=top.copy(), expression=_num(lo)),
                exp.Mul(
                    this=exp.paren(exp.Sub(this=top, expression=_num(lo))), expression=_num(rate)
                ),
            )
            .else_(_num(0.0))
        )
        total = exp.Add(this=total, expression=piece)
    return _case_null([by], exp.paren(total))


def amount_sql(rule: Rule, as_of: dt.date, review_columns: bool = False) -> exp.Expr | None:
    """The rule's amount in its amount unit (NULL = unknown), or None without an amount."""
    if rule.amount is None:
        return None
    conds = {nid: node_sql(rule, n, as_of, review_columns) for nid, n in named_nodes(rule)}
    base = formula_sql(rule.amount.formula, as_of, conds)
    if rule.amount.factor == 1.0:
        return base
    return exp.paren(exp.Div(this=base, expression=_num(rule.amount.factor)))


def select(
    rules: Sequence[Rule],
    as_of: dt.date,
    *,
    table: str = "facts",
    id_column: str = "entity_id",
    amounts: bool = True,
    review_columns: bool = False,
) -> exp.Select:
    """``SELECT id, <verdict> AS "<rule id>", <amount> AS "<rule id>__amount" FROM table``."""
    cols: list[exp.Expr] = [_col(id_column)]
    for r in rules:
        cols.append(exp.alias_(condition_sql(r, as_of, review_columns), r.id, quoted=True))
        if amounts:
            a = amount_sql(r, as_of, review_columns)
            if a is not None:
                cols.append(exp.alias_(a, f"{r.id}__amount", quoted=True))
    return exp.select(*cols).from_(exp.table_(table, quoted=True))


def select_sql(rules: Sequence[Rule], as_of: dt.date, dialect: str = "duckdb", **kw: object) -> str:
    return select(rules, as_of, **kw).sql(dialect=dialect)  # type: ignore[arg-type]


def counts(
    rules: Sequence[Rule], as_of: dt.date, *, table: str = "facts", review_columns: bool = False
) -> exp.Select:
    """One row: per rule the number of entities that pass (``<id>__pass``) and that are
    unknown (``<id>__unknown``); the rest fail."""
    cols: list[exp.Expr] = [exp.alias_(exp.Count(this=exp.Star()), "n", quoted=True)]
    for r in rules:
        c = condition_sql(r, as_of, review_columns)
        one, zero = exp.Literal.number(1), exp.Literal.number(0)
        passed = exp.Sum(this=exp.Case().when(c.copy(), one).else_(zero))
        unknown = exp.Sum(
            this=exp.Case()
            .when(exp.Is(this=exp.paren(c.copy()), expression=exp.Null()), one)
            .else_(zero)
        )
        cols.append(exp.alias_(passed, f"{r.id}__pass", quoted=True))
        cols.append(exp.alias_(unknown, f"{r.id}__unknown", quoted=True))
    return exp.select(*cols).from_(exp.table_(table, quoted=True))


def create_table_sql(
    columns: dict[str, str],
    table: str = "facts",
    id_column: str = "entity_id",
    dialect: str = "duckdb",
) -> str:
    """``CREATE TABLE`` for a fact table with the given ``{column: fact type}``."""
    defs = [
        exp.ColumnDef(
            this=exp.to_identifier(id_column, quoted=True), kind=exp.DataType.build("BIGINT")
        )
    ]
    for name, t in columns.items():
        defs.append(
            exp.ColumnDef(
                this=exp.to_identifier(name, quoted=True), kind=exp.DataType.build(SQL_TYPES[t])
            )
        )
    schema = exp.Schema(this=exp.table_(table, quoted=True), expressions=defs)
    return exp.Create(this=schema, kind="TABLE").sql(dialect=dialect)
