"""Hypothesis strategies: random rules over a test catalog and random facts with gaps."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from yiwang.rules.catalog import Catalog
from yiwang.rules.model import shift_months

CATALOG = Catalog.from_dict(
    {
        "catalog_version": 1,
        "facts": [
            {"name": "money", "type": "number", "unit": "万元", "period": "FY"},
            {"name": "staff", "type": "number", "unit": "人"},
            {"name": "share", "type": "number", "unit": "%"},
            {"name": "plain", "type": "number"},
            {"name": "since", "type": "date"},
            {"name": "code", "type": "code"},
            {"name": "size", "type": "enum", "values": ["a", "b", "c", "d"], "ordered": True},
            {"name": "flag", "type": "boolean"},
        ],
    }
)

AS_OFS = [
    dt.date(2024, 2, 29),
    dt.date(2024, 2, 28),
    dt.date(2024, 3, 1),
    dt.date(2023, 12, 31),
    dt.date(2025, 1, 31),
    dt.date(2024, 6, 30),
]
CODES = ["C3911", "C39", "C40", "I6510", "A01", "C", "Ç1"]
PREFIXES = ["C", "C39", "I", "X", "A0", "Ç"]
MONEY_REFS = ["money@FY-1", "money@FY-2", "money@FY2023"]
CMP = ["==", "!=", "<", "<=", ">", ">="]


def _money_value() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from([0, 50, 99.5, 100, 1000]).map(lambda x: f"{x}万元"),
        st.sampled_from([0, 500000, 1000000, 12345]).map(lambda x: {"amount": x, "unit": "元"}),
        st.sampled_from([0.001, 0.5]).map(lambda x: {"amount": x, "unit": "亿元"}),
    )


@st.composite
def atom(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ["money", "staff", "share", "plain", "since", "fn", "code", "size", "flag", "review"]
        )
    )
    if kind == "money":
        return {
            "fact": draw(st.sampled_from(MONEY_REFS)),
            "op": draw(st.sampled_from(CMP)),
            "value": draw(_money_value()),
        }
    if kind == "staff":
        return {
            "fact": "staff",
            "op": draw(st.sampled_from(CMP)),
            "value": f"{draw(st.sampled_from([0, 10, 50]))}人",
        }
    if kind == "share":
        return {
            "fact": "share",
            "op": draw(st.sampled_from(CMP)),
            "value": {"amount": draw(st.sampled_from([0, 3, 5.5])), "unit": "%"},
        }
    if kind == "plain":
        return {
            "fact": "plain",
            "op": draw(st.sampled_from(CMP)),
            "value": draw(st.sampled_from([-1, 0, 0.1, 2])),
        }
    if kind == "since":
        v = draw(
            st.sampled_from(
                [
                    "2023-02-28",
                    "2024-02-29",
                    "as_of",
                    "as_of-1y",
                    "as_of+3m",
                    "as_of-30d",
                    "2020-01-01",
                ]
            )
        )
        return {"fact": "since", "op": draw(st.sampled_from(CMP)), "value": v}
    if kind == "fn":
        return {
            "fn": draw(st.sampled_from(["years_since", "months_since", "days_since"])),
            "fact": "since",
            "op": draw(st.sampled_from(CMP)),
            "value": draw(st.integers(-2, 5)),
        }
    if kind == "code":
        op = draw(st.sampled_from(["==", "!=", "in", "not_in", "prefix", "not_prefix"]))
        if op in ("==", "!="):
            return {"fact": "code", "op": op, "value": draw(st.sampled_from(CODES))}
        pool = PREFIXES if "prefix" in op else CODES
        return {
            "fact": "code",
            "op": op,
            "value": draw(st.lists(st.sampled_from(pool), min_size=1, max_size=6)),
        }
    if kind == "size":
        op = draw(st.sampled_from([*CMP, "in", "not_in"]))
        if op in ("in", "not_in"):
            return {
                "fact": "size",
                "op": op,
                "value": draw(st.lists(st.sampled_from("abcd"), min_size=1, max_size=3)),
            }
        v = draw(st.sampled_from("abcd"))
        if (op, v) in (("<", "a"), (">", "d")):
            op = "<="
        return {"fact": "size", "op": op, "value": v}
    if kind == "flag":
        return {
            "fact": "flag",
            "op": draw(st.sampled_from(["==", "!="])),
            "value": draw(st.booleans()),
        }
    return {"kind": "discretionary"}


def node(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    if depth <= 0:
        return atom()
    sub = node(depth - 1)
    return st.one_of(
        atom(),
        st.lists(sub, min_size=1, max_size=4).map(lambda xs: {"all": xs}),
        st.lists(sub, min_size=1, max_size=4).map(lambda xs: {"any": xs}),
        sub.map(lambda x: {"not": x}),
    )


def money_formula(depth: int, ids: list[str]) -> st.SearchStrategy[Any]:
    leaf = st.one_of(
        st.sampled_from(MONEY_REFS).map(lambda r: {"fact": r}),
        st.sampled_from([0, 20, 500]).map(lambda x: {"const": x, "unit": "万元"}),
        st.sampled_from(MONEY_REFS).map(
            lambda r: {"mul": [{"const": 10, "unit": "%"}, {"fact": r}]}
        ),
    )
    if depth <= 0:
        return leaf
    sub = money_formula(depth - 1, ids)
    options = [
        leaf,
        st.lists(sub, min_size=2, max_size=3).map(lambda xs: {"add": xs}),
        st.tuples(sub, sub).map(lambda ab: {"sub": list(ab)}),
        st.lists(sub, min_size=1, max_size=3).map(lambda xs: {"min": xs}),
        st.lists(sub, min_size=2, max_size=3).map(lambda xs: {"max": xs}),
        sub.map(lambda a: {"div": [a, {"fact": "plain"}]}),
        sub.map(lambda a: {"mul": [a, {"fact": "share"}]}),
        st.tuples(sub, sub, sub).map(
            lambda abc: {
                "tiers": {
                    "by": abc[0],
                    "brackets": [
                        {"from": "0万元", "value": abc[1]},
                        {"from": "100万元", "value": abc[2]},
                    ],
                    "else": {"const": 1, "unit": "万元"},
                }
            }
        ),
        sub.map(
            lambda a: {
                "progressive": {
                    "by": a,
                    "brackets": [
                        {"from": "0万元", "rate": "10%"},
                        {"from": "50万元", "rate": "5%"},
                        {"from": "1000万元", "rate": 0},
                    ],
                }
            }
        ),
    ]
    if ids:
        options.append(
            st.tuples(st.sampled_from(ids), sub, sub).map(
                lambda x: {"if": x[0], "then": x[1], "else": x[2]}
            )
        )
    return st.one_of(*options)


def _number_ids(tree: Any, out: list[dict[str, Any]], groups: list[dict[str, Any]]) -> None:
    if isinstance(tree, dict):
        if "all" in tree or "any" in tree or "not" in tree:
            groups.append(tree)
        if "all" in tree or "any" in tree:
            for c in tree.get("all", tree.get("any", [])):
                _number_ids(c, out, groups)
        elif "not" in tree:
            _number_ids(tree["not"], out, groups)
        else:
            out.append(tree)


@st.composite
def rule(draw: st.DrawFn, amount: bool = True) -> dict[str, Any]:
    when = draw(node(3))
    bonus = draw(st.lists(atom().filter(lambda a: "fact" in a), max_size=2))
    atoms: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    _number_ids(when, atoms, groups)
    for i, a in enumerate(atoms):
        a["id"] = f"a{i}"
    for i, g in enumerate(groups):
        g["id"] = f"g{i}"
    for i, b in enumerate(bonus):
        b["id"] = f"b{i}"
        b["kind"] = "bonus"
    raw: dict[str, Any] = {"rules_version": 1, "id": "r", "when": when, "bonus": bonus}
    if amount:
        ids = [a["id"] for a in atoms] + [g["id"] for g in groups] + [b["id"] for b in bonus]
        raw["amount"] = {
            "unit": draw(st.sampled_from(["万元", "元"])),
            "formula": draw(money_formula(2, ids)),
        }
    return raw


def _date_near(as_of: dt.date) -> st.SearchStrategy[dt.date]:
    return st.builds(
        lambda months, days: shift_months(as_of, -months) + dt.timedelta(days=days),
        st.integers(-30, 80),
        st.sampled_from([-1, 0, 0, 1, 2]),
    ) | st.sampled_from([dt.date(2024, 2, 29), dt.date(2020, 2, 29), dt.date(2023, 3, 1)])


def _maybe(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), s, s, s)


@st.composite
def entity(draw: st.DrawFn, as_of: dt.date, review_ids: list[str]) -> dict[str, Any]:
    """One entity's normalized facts (absolute keys) plus ``review__r__<id>`` decisions."""
    y = as_of.year
    money = st.sampled_from([0.0, 49.99, 50.0, 99.5, 100.0, 123.45, 1000.0, 5000.0, 1e-4])
    out: dict[str, Any] = {
        f"money@FY{y - 1}": draw(_maybe(money)),
        f"money@FY{y - 2}": draw(_maybe(money)),
        "money@FY2023": draw(_maybe(money)),
        "staff": draw(_maybe(st.sampled_from([0.0, 9.0, 10.0, 50.0, 51.0]))),
        "share": draw(_maybe(st.sampled_from([0.0, 3.0, 5.5, 12.5]))),
        "plain": draw(_maybe(st.sampled_from([-1.0, 0.0, 0.1, 2.0, 3.0]))),
        "since": draw(_maybe(_date_near(as_of))),
        "code": draw(_maybe(st.sampled_from([*CODES, "C3", "I", "Z99"]))),
        "size": draw(_maybe(st.sampled_from("abcd"))),
        "flag": draw(_maybe(st.booleans())),
    }
    for rid in review_ids:
        out[f"review__r__{rid}"] = draw(st.one_of(st.none(), st.booleans()))
    return out
