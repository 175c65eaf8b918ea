"""The compiled evaluator (closures built once per rule and as-of date, atoms shared between
rules tested once per entity) agrees with the reference tree walk on every output: verdict,
score, amount and what is missing for it, failed / unknown / bonus / decisive atoms, the
trace and the text explanation, on random rules and random facts with missing values."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yiwang.rules import evaluate, evaluate_many, parse_rule, verdict
from yiwang.rules.evaluate import Evaluation, amount_value, evaluate_reference
from yiwang.rules.explain import render
from yiwang.rules.model import Rule

from .strategies import AS_OFS, CATALOG, entity, rule

VERDICT = {True: "pass", False: "fail", None: "unknown"}


def _split(row: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bool]]:
    facts = {k: v for k, v in row.items() if not k.startswith("review__") and v is not None}
    decisions = {
        k.split("__")[2]: v for k, v in row.items() if k.startswith("review__") and v is not None
    }
    return facts, decisions


def _same_number(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b  # the same operations in the same order: the same float


def _assert_same(got: Evaluation, ref: Evaluation, ctx: str) -> None:
    assert got.verdict == ref.verdict, ctx
    assert got.score == ref.score, ctx
    assert _same_number(got.amount, ref.amount), f"{got.amount} {ref.amount} {ctx}"
    assert got.amount_missing == ref.amount_missing, ctx
    assert got.amount_unit == ref.amount_unit, ctx
    assert got.failed == ref.failed, ctx
    assert got.unknown == ref.unknown, ctx
    assert got.bonus == ref.bonus, ctx
    assert got.decisive == ref.decisive, ctx
    assert got.trace == ref.trace, ctx
    assert got.to_dict() == ref.to_dict(), ctx
    for lang in ("zh", "en"):
        assert render(got.trace, lang) == render(ref.trace, lang), ctx


@st.composite
def case(draw: st.DrawFn) -> tuple[list[Rule], dt.date, list[dict[str, Any]]]:
    rules = []
    for i in range(draw(st.integers(1, 4))):
        raw = draw(rule(amount=draw(st.booleans()) or i == 0))
        raw["id"] = f"r{i}"
        rules.append(parse_rule(raw, CATALOG))
    as_of = draw(st.sampled_from(AS_OFS))
    review_ids = sorted(
        {a.id for r in rules for a in r.atoms.values() if a.kind == "discretionary"}
    )
    rows = draw(st.lists(entity(as_of, review_ids), min_size=1, max_size=6))
    return rules, as_of, rows


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case())
def test_compiled_agrees_with_the_tree_walk(
    c: tuple[list[Rule], dt.date, list[dict[str, Any]]],
) -> None:
    rules, as_of, rows = c
    for row in rows:
        facts, decisions = _split(row)
        refs = [
            evaluate_reference(r, facts, as_of, decisions, normalized=True, trace=False)
            for r in rules
        ]
        # one rule at a time, lazily and eagerly explained
        for r, ref in zip(rules, refs, strict=True):
            ctx = f"rule {r.raw}\nfacts {facts}\ndecisions {decisions}"
            for trace in (False, True):
                got = evaluate(r, facts, as_of, decisions, normalized=True, trace=trace)
                _assert_same(got, ref, ctx)
            assert VERDICT[verdict(r, facts, as_of, decisions)] == ref.verdict, ctx
            a = amount_value(r, facts, as_of, decisions)
            assert _same_number(a, ref.amount), ctx
        # many rules sharing one atom cache, as evaluate_many and callers' caches do
        shared: dict[Any, Any] = {}
        for r, ref in zip(rules, refs, strict=True):
            got = evaluate(r, facts, as_of, decisions, normalized=True, trace=False, cache=shared)
            _assert_same(got, ref, f"shared cache, rule {r.raw}\nfacts {facts}")
        many = evaluate_many(rules, facts, as_of, {r.id: decisions for r in rules}, trace=False)
        for got, ref in zip(many, refs, strict=True):
            _assert_same(got, ref, f"evaluate_many, facts {facts}")


def test_a_cache_is_not_shared_between_different_facts() -> None:
    """A caller's cache handed facts of another entity starts afresh, never reuses values."""
    r = parse_rule({"rules_version": 1, "id": "x", "when": "staff >= 10人"}, CATALOG)
    as_of = AS_OFS[0]
    cache: dict[Any, Any] = {}
    assert evaluate(r, {"staff": 50.0}, as_of, normalized=True, cache=cache).verdict == "pass"
    assert evaluate(r, {"staff": 5.0}, as_of, normalized=True, cache=cache).verdict == "fail"
    assert evaluate(r, {}, as_of, normalized=True, cache=cache).verdict == "unknown"
