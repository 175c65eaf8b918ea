"""Rule language: validation errors, units, periods, Kleene evaluation, traces, text."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import Any

import pytest

from yiwang.rules import (
    Catalog,
    ExpressionError,
    FactError,
    RuleError,
    evaluate,
    evaluate_many,
    kleene_all,
    kleene_any,
    kleene_not,
    parse_condition,
    parse_formula,
    parse_rule,
)
from yiwang.rules.model import elapsed, shift_months

CAT = Catalog.from_dict(
    {
        "catalog_version": 1,
        "facts": [
            {"name": "district", "type": "code", "label": {"zh": "注册地", "en": "district"}},
            {"name": "industry", "type": "code", "label": {"zh": "行业", "en": "industry"}},
            {"name": "founded_on", "type": "date", "label": {"zh": "成立日期", "en": "founded"}},
            {
                "name": "rd",
                "type": "number",
                "unit": "万元",
                "period": "FY",
                "label": {"zh": "研发费用", "en": "R&D expense"},
            },
            {"name": "staff", "type": "number", "unit": "人"},
            {"name": "share", "type": "number", "unit": "%"},
            {"name": "dishonest", "type": "boolean", "label": {"zh": "失信", "en": "dishonest"}},
            {
                "name": "size",
                "type": "enum",
                "values": ["micro", "small", "medium", "large"],
                "ordered": True,
            },
        ],
    }
)
AS_OF = dt.date(2024, 6, 30)


def rule(when: Any, **extra: Any) -> Any:
    return parse_rule({"rules_version": 1, "id": "t", "when": when, **extra}, CAT)


def problems(raw: Any) -> list[dict[str, Any]]:
    with pytest.raises(RuleError) as e:
        parse_rule(raw if "rules_version" in raw else {"rules_version": 1, "id": "t", **raw}, CAT)
    return e.value.to_list()


# ---------------------------------------------------------------- validation


def test_unknown_fact_names_the_atom_and_fact() -> None:
    ps = problems({"when": {"all": [{"id": "a1", "fact": "revenue", "op": ">", "value": 1}]}})
    assert ps == [
        {
            "path": "when.all[0]",
            "atom_id": "a1",
            "fact": "revenue",
            "message": "unknown fact 'revenue' (not in the catalog)",
        }
    ]


def test_every_problem_is_listed_at_once() -> None:
    ps = problems(
        {
            "when": {
                "all": [
                    {"id": "x", "fact": "district", "op": "==", "value": "310115"},
                    {"id": "x", "fact": "staff", "op": ">=", "value": "10人"},  # dup id
                    {"id": "u", "fact": "staff", "op": ">=", "value": "10万元"},  # unit mismatch
                    {"any": []},  # empty
                    {"id": "y", "fact": "dishonest", "op": "<", "value": True},  # wrong op
                    {"id": "z", "fact": "rd", "op": ">=", "value": "1万元"},  # no period
                    {"id": "w", "fact": "size", "op": "==", "value": "huge"},  # enum value
                    {"id": "v", "fact": "district", "op": "==", "value": 310115},  # not a string
                ]
            }
        }
    )
    by_atom = {(p["atom_id"], p["path"]): p["message"] for p in ps}
    assert "duplicate id 'x' (first used at when.all[0])" in by_atom[("x", "when.all[1]")]
    assert "unit mismatch" in by_atom[("u", "when.all[2]")]
    assert "non-empty list" in by_atom[(None, "when.all[3]")]
    assert "does not apply to a true/false fact" in by_atom[("y", "when.all[4]")]
    assert "rd@FY-1" in by_atom[("z", "when.all[5]")]
    assert "'huge' is not a value" in by_atom[("w", "when.all[6]")]
    assert "quote codes" in by_atom[("v", "when.all[7]")]
    assert all(p["fact"] for p in ps if p["atom_id"] in ("u", "y", "z", "w", "v"))


def test_a_number_with_a_unit_needs_a_unit() -> None:
    ps = problems({"when": {"id": "a", "fact": "rd@FY-1", "op": ">=", "value": 100}})
    assert "write the value with a unit (e.g. 100万元)" in ps[0]["message"]


def test_units_convert_within_a_dimension() -> None:
    r = rule({"id": "a", "fact": "rd@FY-1", "op": ">=", "value": {"amount": 1000000, "unit": "元"}})
    assert r.atoms["a"].value == 100.0
    r = rule("rd@FY-1 >= 0.01亿元")
    assert r.atoms["rd_fy_1"].value == 100.0
    assert problems({"when": "share >= 3万元"})[0]["message"].startswith("unit mismatch")


def test_version_id_and_keys_are_checked() -> None:
    ps = problems({"rules_version": 2, "id": "bad id!", "when": "staff > 1人", "colour": 1})
    msgs = " ".join(p["message"] for p in ps)
    assert "rules_version must be 1" in msgs and "needs an id" in msgs and "unknown key" in msgs


def test_bonus_and_discretionary_placement() -> None:
    ps = problems({"when": {"id": "b", "kind": "bonus", "expr": "staff > 1人"}})
    assert "list it under 'bonus'" in ps[0]["message"]
    ps = problems({"when": {"id": "d", "kind": "discretionary", "expr": "staff > 1人"}})
    assert "tests no fact" in ps[0]["message"]
    ps = problems(
        {"when": "staff > 1人", "bonus": [{"id": "h", "kind": "hard", "expr": "staff > 5人"}]}
    )
    assert "bonus atoms" in ps[0]["message"]


def test_amount_checks() -> None:
    ps = problems({"when": "staff > 1人", "amount": {"unit": "万元", "formula": "staff * 2"}})
    assert "unit mismatch" in ps[0]["message"]
    ps = problems({"when": "staff > 1人", "amount": {"unit": "万元", "formula": "rd@FY-1 + 3人"}})
    assert "unit mismatch" in ps[0]["message"]
    ps = problems(
        {"when": "staff > 1人", "amount": {"unit": "万元", "formula": "if(nope, 1万元, 0万元)"}}
    )
    assert "names no atom" in ps[0]["message"]


def test_catalog_errors() -> None:
    with pytest.raises(RuleError) as e:
        Catalog.from_dict(
            {
                "facts": [
                    {"name": "X", "type": "number"},
                    {"name": "a", "type": "money"},
                    {"name": "b", "type": "enum"},
                    {"name": "c", "type": "number", "unit": "斤"},
                ]
            }
        )
    msgs = [p.message for p in e.value.problems]
    assert len(msgs) == 4 and "unknown unit" in msgs[3]


# ---------------------------------------------------------------- expression syntax


def test_expression_syntax_compiles_to_the_tree() -> None:
    tree = parse_condition(
        'district == "310115" and industry in ["C39*", "C40*"] and years_since(founded_on) >= 3'
        ' and (rd@FY-1 >= 100万元 or not dishonest) and size not in ["large"]'
    )
    assert tree == {
        "all": [
            {"fact": "district", "op": "==", "value": "310115"},
            {"fact": "industry", "op": "prefix", "value": ["C39", "C40"]},
            {"fn": "years_since", "fact": "founded_on", "op": ">=", "value": 3},
            {
                "any": [
                    {"fact": "rd@FY-1", "op": ">=", "value": {"amount": 100, "unit": "万元"}},
                    {"fact": "dishonest", "op": "==", "value": False},
                ]
            },
            {"fact": "size", "op": "not_in", "value": ["large"]},
        ]
    }
    assert parse_formula("min(10% * rd@FY-1, 500万元)") == {
        "min": [
            {"mul": [{"const": 10, "unit": "%"}, {"fact": "rd@FY-1"}]},
            {"const": 500, "unit": "万元"},
        ]
    }


@pytest.mark.parametrize(
    "text",
    [
        "staff >",
        "staff >= 1 and",
        '__import__("os")',
        "staff >= 1人 or or",
        "x in [1",
        'industry in ["C*", "D"]',
        "open(f) > 1",
    ],
)
def test_bad_expressions_are_errors_not_code(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_condition(text)


# ---------------------------------------------------------------- evaluation


def test_kleene_tables() -> None:
    vals = [True, False, None]
    for a in vals:
        for b in vals:
            assert kleene_all([a, b]) == (
                False if False in (a, b) else None if None in (a, b) else True
            )
            assert kleene_any([a, b]) == (
                True if True in (a, b) else None if None in (a, b) else False
            )
        assert kleene_not(a) == (None if a is None else not a)


def test_missing_is_unknown_never_zero() -> None:
    r = rule("staff < 10人")
    assert evaluate(r, {}, AS_OF).verdict == "unknown"
    assert evaluate(r, {"staff": None}, AS_OF).verdict == "unknown"
    assert evaluate(r, {"staff": float("nan")}, AS_OF).verdict == "unknown"
    assert evaluate(r, {"staff": 0}, AS_OF).verdict == "pass"
    e = evaluate(r, {}, AS_OF)
    assert e.unknown == [
        {
            "id": "staff",
            "label": e.unknown[0]["label"],
            "label_en": e.unknown[0]["label_en"],
            "reason": "missing_fact",
            "facts": ["staff"],
        }
    ]


def test_fail_beats_unknown_and_pass_beats_unknown() -> None:
    assert (
        evaluate(rule("staff > 1人 and dishonest == false"), {"dishonest": True}, AS_OF).verdict
        == "fail"
    )
    assert (
        evaluate(rule("staff > 1人 or dishonest == false"), {"dishonest": False}, AS_OF).verdict
        == "pass"
    )


def test_periods_resolve_against_as_of() -> None:
    r = rule("rd@FY-1 >= 100万元")
    assert evaluate(r, {"rd@FY2023": 120}, AS_OF).verdict == "pass"
    assert evaluate(r, {"rd@FY2024": 120}, AS_OF).verdict == "unknown"
    assert evaluate(r, {"rd@FY2024": 120}, dt.date(2025, 1, 1)).verdict == "pass"
    assert evaluate(r, {"rd": {"FY2023": 99}}, AS_OF).verdict == "fail"
    assert evaluate(r, {"rd@FY-1": "150万元"}, AS_OF).verdict == "pass"
    assert evaluate(r, {"rd@FY-1": {"amount": 999999, "unit": "元"}}, AS_OF).verdict == "fail"
    e = evaluate(r, {}, AS_OF)
    assert e.unknown[0]["facts"] == ["rd@FY2023"]


def test_bad_facts_are_errors() -> None:
    r = rule("staff > 1人")
    with pytest.raises(FactError) as e:
        evaluate(r, {"staff": "many", "nope": 1, "rd": 3, "size": "huge"}, AS_OF)
    assert len(e.value.problems) == 4


@pytest.mark.parametrize(
    ("founded", "as_of", "years"),
    [
        ("2023-06-30", "2024-06-30", 1),
        ("2023-07-01", "2024-06-30", 0),
        ("2024-02-29", "2025-02-28", 0),
        ("2024-02-29", "2025-03-01", 1),
        ("2020-02-29", "2024-02-28", 3),
        ("2020-02-29", "2024-02-29", 4),
        ("2025-01-01", "2024-06-30", -1),
    ],
)
def test_years_since_counts_whole_years(founded: str, as_of: str, years: int) -> None:
    d, a = dt.date.fromisoformat(founded), dt.date.fromisoformat(as_of)
    assert elapsed("years_since", d, a) == years
    r = rule(f"years_since(founded_on) >= {years}")
    assert evaluate(r, {"founded_on": founded}, a).verdict == "pass"
    r = rule(f"years_since(founded_on) >= {years + 1}")
    assert evaluate(r, {"founded_on": founded}, a).verdict == "fail"


def test_shift_months_clamps() -> None:
    assert shift_months(dt.date(2024, 2, 29), -12) == dt.date(2023, 2, 28)
    assert shift_months(dt.date(2024, 3, 31), -1) == dt.date(2024, 2, 29)


def test_codes_enums_prefixes() -> None:
    assert evaluate(rule('industry in ["C39*"]'), {"industry": "C3911"}, AS_OF).verdict == "pass"
    assert evaluate(rule('industry in ["C39*"]'), {"industry": "C4011"}, AS_OF).verdict == "fail"
    assert evaluate(rule('industry not in ["K*"]'), {"industry": "K70"}, AS_OF).verdict == "fail"
    r = rule('size <= "small"')
    assert r.atoms["size"].op == "in" and r.atoms["size"].value == ("micro", "small")
    assert evaluate(r, {"size": "medium"}, AS_OF).verdict == "fail"


def test_discretionary_and_bonus() -> None:
    r = rule(
        {
            "all": [
                {"id": "a", "expr": "staff >= 10人"},
                {"id": "panel", "kind": "discretionary", "label": "专家评审"},
            ]
        },
        bonus=[{"id": "big", "kind": "bonus", "expr": "staff >= 100人"}],
        amount={"unit": "万元", "formula": "if(big, 20万元, 10万元)"},
    )
    e = evaluate(r, {"staff": 150}, AS_OF)
    assert e.verdict == "unknown"
    assert e.unknown[0]["reason"] == "pending_review"
    assert [(b["id"], b["value"]) for b in e.bonus] == [("big", "pass")]
    assert e.amount == 20
    assert e.score == 1.0  # discretionary atoms are not in the score
    assert evaluate(r, {"staff": 150}, AS_OF, {"panel": True}).verdict == "pass"
    e = evaluate(r, {"staff": 50}, AS_OF, {"panel": False})
    assert e.verdict == "fail" and e.amount == 10 and [f["id"] for f in e.failed] == ["panel"]
    e = evaluate(r, {}, AS_OF, {"panel": True})
    assert e.verdict == "unknown" and e.amount is None  # bonus unknown → amount unknown


def test_score_failed_and_moot_alternatives() -> None:
    r = rule(
        {
            "all": [
                {"id": "a", "expr": "staff >= 10人"},
                {
                    "any": [
                        {"id": "b", "expr": "share >= 3%"},
                        {"id": "c", "expr": "dishonest == false"},
                    ]
                },
                {"id": "d", "expr": "not dishonest"},
            ]
        }
    )
    e = evaluate(r, {"staff": 5, "share": 1, "dishonest": False}, AS_OF)
    assert e.verdict == "fail"
    assert [f["id"] for f in e.failed] == ["a"]  # b failed, but c met the alternative
    assert e.score == 3 / 4
    assert e.decisive == ["a"]
    e = evaluate(r, {"staff": 5, "dishonest": False}, AS_OF)
    assert [u["id"] for u in e.unknown] == []  # share would not change anything


def test_amount_formulas() -> None:
    r = rule(
        "staff >= 0人",
        amount={
            "unit": "万元",
            "formula": {
                "tiers": {
                    "by": {"fact": "rd@FY-1"},
                    "brackets": [
                        {"from": "100万元", "value": "20万元"},
                        {"from": "1000万元", "value": "50万元"},
                    ],
                }
            },
        },
    )
    got = [evaluate(r, {"rd@FY2023": x}, AS_OF).amount for x in (50, 100, 999, 1000, None)]
    assert got == [0, 20, 20, 50, None]
    r = rule(
        "staff >= 0人",
        amount={
            "unit": "元",
            "formula": {
                "progressive": {
                    "by": {"fact": "rd@FY-1"},
                    "brackets": [
                        {"from": "0万元", "rate": "50%"},
                        {"from": "30万元", "rate": "30%"},
                        {"from": "100万元", "rate": 0},
                    ],
                }
            },
        },
    )
    assert evaluate(r, {"rd@FY2023": 40}, AS_OF).amount == pytest.approx(180000)
    assert evaluate(r, {"rd@FY2023": 400}, AS_OF).amount == pytest.approx(360000)
    r = rule("staff >= 0人", amount={"unit": "万元", "formula": "rd@FY-1 / share"})
    assert evaluate(r, {"rd@FY2023": 40, "share": 0}, AS_OF).amount is None


def test_trace_and_explanations() -> None:
    r = parse_rule(
        {
            "rules_version": 1,
            "id": "t",
            "label": {"zh": "测试政策", "en": "Test policy"},
            "when": {
                "all": [
                    {
                        "id": "a",
                        "expr": "staff >= 10人",
                        "clause": "第一条",
                        "label": {"zh": "从业人数不少于10人", "en": "at least 10 employees"},
                    },
                    {"id": "b", "expr": "years_since(founded_on) >= 1"},
                ]
            },
            "amount": {
                "unit": "万元",
                "formula": "min(10% * rd@FY-1, 5万元)",
                "label": {"zh": "补助", "en": "subsidy"},
            },
        },
        CAT,
    )
    e = evaluate(r, {"staff": 8, "founded_on": "2020-01-01", "rd@FY2023": 30}, AS_OF)
    t = e.trace
    assert t["verdict"] == "fail" and t["when"]["node"] == "all"
    a = t["when"]["children"][0]
    assert (a["id"], a["value"], a["actual"], a["fact"], a["clause"]) == (
        "a",
        "fail",
        8,
        "staff",
        "第一条",
    )
    assert t["when"]["children"][1]["elapsed"] == 4
    zh, en = e.explain("zh"), e.explain("en")
    assert "结论: ✗ 不符合" in zh and "✗ 从业人数不少于10人 — 实际: 8人 [条款 第一条]" in zh
    assert "已满4年" in zh and "补助: 3万元" in zh
    assert "Verdict: ✗ not met" in en and "at least 10 employees — actual: 8 persons" in en
    assert "subsidy: 3 万元" in en
    d = e.to_dict()
    assert d["verdict"] == "fail" and d["amount"] == pytest.approx(3)


def test_evaluate_many_shares_facts() -> None:
    rules = [rule("staff >= 10人"), rule("staff >= 10人 and not dishonest")]
    out = evaluate_many(rules, {"staff": 12, "unknown_fact": 1}, AS_OF)
    assert [e.verdict for e in out] == ["pass", "unknown"]


def test_importing_rules_does_not_import_django() -> None:
    import importlib.util

    modules = ["yiwang.rules", "yiwang.rules.cli", "yiwang.rules.testing"]
    for mod, needs in (("sql", "sqlglot"), ("vector", "numpy"), ("polars_backend", "polars")):
        if importlib.util.find_spec(needs) is not None:
            modules.append(f"yiwang.rules.{mod}")
    code = (
        f"import sys, {', '.join(modules)}; "
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603
