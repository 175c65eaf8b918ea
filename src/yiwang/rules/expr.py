"""A small, safe expression syntax that compiles to the JSON rule tree (no ``eval``).

Conditions::

    registered_district == "310115" and industry in ["C*"] and years_since(founded_on) >= 1
    and rd_expense@FY-1 >= 100万元 and not on_dishonesty_list

Formulas::

    min(10% * rd_expense@FY-1, 500万元)
    if(bonus_patents, 20万元, 0万元) + 5万元

A bare boolean fact ``x`` means ``x == true`` and ``not x`` means ``x == false``. In a list,
``"C39*"`` is a code prefix (every item of one list is a prefix or none is). ``as_of``,
``as_of - 3y``, ``as_of + 90d`` and ``as_of - 6m`` are dates relative to the evaluation date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from yiwang.rules.errors import ExpressionError
from yiwang.rules.units import ALIASES, UNITS

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\d.]))
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>"[^"]*"|'[^']*'|“[^”]*”)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:@FY(?:-\d{1,2}|\d{4})?)?)
  | (?P<op>>=|<=|==|!=|≥|≤|≠|=|>|<|\(|\)|\[|\]|,|\+|-|\*|/|%|％|‰)
  | (?P<cjk>[\u4e00-\u9fff㎡]+)
    """,
    re.VERBOSE,
)

CMP_OPS = {
    "==": "==",
    "=": "==",
    "!=": "!=",
    "≠": "!=",
    ">=": ">=",
    "≥": ">=",
    "<=": "<=",
    "≤": "<=",
    ">": ">",
    "<": "<",
}
FUNCTIONS = ("years_since", "months_since", "days_since")
KEYWORDS = ("and", "or", "not", "in", "true", "false", "as_of")
FORMULA_FUNCS = {"min": "min", "max": "max", "sum": "add", "product": "mul"}


@dataclass(frozen=True)
class Tok:
    kind: str
    text: str
    pos: int


def tokenize(text: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExpressionError(f"unexpected character {text[pos]!r}", text, pos)
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(Tok(kind, m.group(), pos))
        pos = m.end()
    out.append(Tok("end", "", len(text)))
    return out


def _is_unit(tok: Tok) -> bool:
    if tok.kind in ("cjk", "op") and tok.text in ("%", "％"):
        return True
    t = tok.text
    return tok.kind in ("cjk", "ident") and (t in UNITS or t in ALIASES or t.lower() in ALIASES)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    # --- token helpers
    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def peek(self, k: int = 1) -> Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def take(self) -> Tok:
        t = self.tok
        self.i += 1
        return t

    def error(self, msg: str, tok: Tok | None = None) -> ExpressionError:
        t = tok or self.tok
        return ExpressionError(msg, self.text, t.pos)

    def is_word(self, word: str) -> bool:
        return self.tok.kind == "ident" and self.tok.text.lower() == word

    def expect(self, text: str) -> Tok:
        if self.tok.text != text:
            got = self.tok.text or "the end"
            raise self.error(f"expected {text!r}, found {got!r}")
        return self.take()

    def done(self) -> None:
        if self.tok.kind != "end":
            raise self.error(f"unexpected {self.tok.text!r}")

    # --- conditions
    def condition(self) -> dict[str, Any]:
        node = self.and_()
        items = [node]
        while self.is_word("or"):
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else {"any": items}

    def and_(self) -> dict[str, Any]:
        items = [self.unary()]
        while self.is_word("and"):
            self.take()
            items.append(self.unary())
        return items[0] if len(items) == 1 else {"all": items}

    def unary(self) -> dict[str, Any]:
        if self.is_word("not"):
            self.take()
            t = self.tok
            if (
                t.kind == "ident"
                and t.text.lower() not in KEYWORDS
                and self.peek().text not in ("(",)
                and self._ends_atom(1)
            ):
                self.take()
                return {"fact": t.text, "op": "==", "value": False}
            return {"not": self.unary()}
        if self.tok.text == "(":
            self.take()
            node = self.condition()
            self.expect(")")
            return node
        return self.atom()

    def _ends_atom(self, k: int) -> bool:
        nxt = self.peek(k)
        return nxt.kind == "end" or nxt.text == ")" or nxt.text.lower() in ("and", "or")

    def atom(self) -> dict[str, Any]:
        t = self.tok
        if t.kind != "ident" or t.text.lower() in KEYWORDS:
            raise self.error(f"expected a fact, found {t.text or 'the end'!r}")
        self.take()
        node: dict[str, Any] = {}
        if self.tok.text == "(":
            if t.text not in FUNCTIONS:
                raise self.error(f"unknown function {t.text!r} (known: {', '.join(FUNCTIONS)})", t)
            self.take()
            ref = self.take()
            if ref.kind != "ident":
                raise self.error("expected a date fact", ref)
            self.expect(")")
            node = {"fn": t.text, "fact": ref.text}
        else:
            node = {"fact": t.text}
        op = self.tok
        if op.text in CMP_OPS:
            self.take()
            node["op"] = CMP_OPS[op.text]
            node["value"] = self.value()
            return node
        negate = False
        if self.is_word("not") and self.peek().text.lower() == "in":
            self.take()
            negate = True
        if self.is_word("in"):
            self.take()
            values = self.list_()
            stars = [isinstance(v, str) and v.endswith("*") for v in values]
            if any(stars):
                if not all(stars):
                    raise self.error("a list is all prefixes (\"C39*\") or none; use 'or'", op)
                node["op"] = "not_prefix" if negate else "prefix"
                node["value"] = [v[:-1] for v in values]
            else:
                node["op"] = "not_in" if negate else "in"
                node["value"] = values
            return node
        if negate:
            raise self.error("expected 'in' after 'not'")
        if "fn" in node:
            raise self.error("a function needs a comparison (years_since(d) >= 3)")
        node["op"] = "=="
        node["value"] = True
        return node

    def list_(self) -> list[Any]:
        self.expect("[")
        values = [self.value()]
        while self.tok.text == ",":
            self.take()
            values.append(self.value())
        self.expect("]")
        return values

    def value(self) -> Any:
        t = self.tok
        if t.kind == "string":
            self.take()
            return t.text[1:-1]
        if t.kind == "date":
            self.take()
            return t.text
        if t.kind == "ident" and t.text.lower() in ("true", "false"):
            self.take()
            return t.text.lower() == "true"
        if t.kind == "ident" and t.text.lower() == "as_of":
            self.take()
            if self.tok.text in ("+", "-") and self.peek().kind == "number":
                sign = self.take().text
                n = self.take().text
                unit_tok = self.take()
                u = {"d": "d", "m": "m", "y": "y", "天": "d", "日": "d", "月": "m", "年": "y"}.get(
                    unit_tok.text
                )
                if u is None or "." in n:
                    raise self.error("write as_of - 3y, as_of + 90d or as_of - 6m", unit_tok)
                return f"as_of{sign}{n}{u}"
            return "as_of"
        if t.kind == "number" or (t.text == "-" and self.peek().kind == "number"):
            return self.quantity()
        raise self.error(f"expected a value, found {t.text or 'the end'!r}")

    def quantity(self) -> Any:
        sign = 1.0
        if self.tok.text == "-":
            self.take()
            sign = -1.0
        t = self.take()
        n = float(t.text) * sign
        number: float | int = int(n) if n == int(n) and "." not in t.text else n
        if _is_unit(self.tok):
            u = self.take().text
            return {"amount": number, "unit": u}
        return number

    # --- formulas
    def formula(self) -> Any:
        left = self.term()
        while self.tok.text in ("+", "-"):
            op = "add" if self.take().text == "+" else "sub"
            right = self.term()
            if op == "add" and isinstance(left, dict) and "add" in left and len(left) == 1:
                left["add"].append(right)
            else:
                left = {op: [left, right]}
        return left

    def term(self) -> Any:
        left = self.factor()
        while self.tok.text in ("*", "/"):
            op = "mul" if self.take().text == "*" else "div"
            right = self.factor()
            if op == "mul" and isinstance(left, dict) and "mul" in left and len(left) == 1:
                left["mul"].append(right)
            else:
                left = {op: [left, right]}
        return left

    def factor(self) -> Any:
        t = self.tok
        if t.text == "-":
            self.take()
            return {"mul": [{"const": -1}, self.factor()]}
        if t.text == "(":
            self.take()
            f = self.formula()
            self.expect(")")
            return f
        if t.kind == "number":
            q = self.quantity()
            if isinstance(q, dict):
                return {"const": q["amount"], "unit": q["unit"]}
            return {"const": q}
        if t.kind == "ident":
            self.take()
            name = t.text
            if self.tok.text == "(":
                self.take()
                if name == "if":
                    cond = self.take()
                    if cond.kind != "ident":
                        raise self.error("if(atom_id, then, else) names an atom", cond)
                    self.expect(",")
                    then = self.formula()
                    self.expect(",")
                    other = self.formula()
                    self.expect(")")
                    return {"if": cond.text, "then": then, "else": other}
                if name not in FORMULA_FUNCS:
                    known = ", ".join([*FORMULA_FUNCS, "if"])
                    raise self.error(f"unknown function {name!r} (known: {known})", t)
                args = [self.formula()]
                while self.tok.text == ",":
                    self.take()
                    args.append(self.formula())
                self.expect(")")
                return {FORMULA_FUNCS[name]: args}
            return {"fact": name}
        raise self.error(f"expected a number, a fact or '(', found {t.text or 'the end'!r}")


def parse_condition(text: str) -> dict[str, Any]:
    """An expression → the JSON condition tree (atoms without ids)."""
    p = _Parser(text)
    node = p.condition()
    p.done()
    return node


def parse_atom(text: str) -> dict[str, Any]:
    """One comparison (``rd_expense@FY-1 >= 100万元``) → the atom's fact, fn, op and value."""
    p = _Parser(text)
    node = p.atom() if not p.is_word("not") else p.unary()
    p.done()
    if "fact" not in node:
        raise ExpressionError("an atom's expr is one comparison", text, 0)
    return node


def parse_formula(text: str) -> Any:
    p = _Parser(text)
    f = p.formula()
    p.done()
    return f
