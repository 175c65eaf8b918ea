"""情形: a bundle's situation questions as facts for the rules engine, and the conditions
(``shown_when`` on questions, ``applies_when`` on items, materials and form fields) compiled
against them.

A condition is one rules-engine expression over the question keys, e.g.
``has_sign and seats > 50`` or ``kind in ["chain", "franchise"]``. Evaluation is three-valued:
a condition whose answers are not yet given is *unknown*; an unknown question is asked, an
unknown item is not yet decided. Pure functions over plain data (no ORM access) so the catalog
loader, the application form and the tests share them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from yiwang.rules import Catalog, RuleError, evaluate, parse_condition, parse_rule
from yiwang.rules.errors import ExpressionError
from yiwang.rules.model import Rule


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    kind: str  # boolean | enum | number
    choices: tuple[str, ...] = ()
    shown_when: str = ""
    text_en: str = ""


def questions_catalog(questions: Sequence[Question]) -> Catalog:
    facts: list[dict[str, Any]] = []
    for q in questions:
        spec: dict[str, Any] = {
            "name": q.key,
            "type": q.kind,
            "label": {"zh": q.text, "en": q.text_en or q.text},
        }
        if q.kind == "enum":
            spec["values"] = list(q.choices)
        facts.append(spec)
    return Catalog.from_dict({"facts": facts}, name="situations")


def _number_atoms(node: Any, counter: list[int]) -> Any:
    if isinstance(node, dict):
        if "fact" in node and "id" not in node:
            counter[0] += 1
            return {"id": f"c{counter[0]}", **node}
        return {k: _number_atoms(v, counter) for k, v in node.items()}
    if isinstance(node, list):
        return [_number_atoms(v, counter) for v in node]
    return node


def compile_condition(expr: str, catalog: Catalog) -> Rule:
    """Raise ``ValueError`` with a readable message when the condition is wrong."""
    try:
        tree = parse_condition(expr)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from exc
    try:
        return parse_rule(
            {"rules_version": 1, "id": "situation", "when": _number_atoms(tree, [0])}, catalog
        )
    except RuleError as exc:
        raise ValueError("; ".join(p.message for p in exc.problems)) from exc


@lru_cache(maxsize=2048)
def _compiled(expr: str, questions: tuple[Question, ...]) -> Rule:
    return compile_condition(expr, questions_catalog(questions))


def condition_errors(expr: str, questions: Sequence[Question]) -> list[str]:
    if not expr.strip():
        return []
    try:
        _compiled(expr, tuple(questions))
    except ValueError as exc:
        return [str(exc)]
    return []


def holds(expr: str, questions: Sequence[Question], answers: Mapping[str, Any]) -> bool | None:
    """True / False / None (unknown: an answer it needs is missing). Blank holds."""
    if not expr.strip():
        return True
    rule = _compiled(expr, tuple(questions))
    facts = {k: v for k, v in answers.items() if v is not None and v != ""}
    verdict = evaluate(rule, facts, dt.date.today(), trace=False).verdict
    return {"pass": True, "fail": False}.get(str(verdict))


def clean_answers(
    questions: Sequence[Question], raw: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed answers for the questions given and field errors for the bad ones. Answers to
    questions not shown are dropped."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for q in questions:
        if q.key not in raw or raw[q.key] in (None, ""):
            continue
        value = raw[q.key]
        if q.kind == "boolean":
            if isinstance(value, bool):
                answers[q.key] = value
            elif str(value).lower() in {"true", "yes", "1", "on", "是"}:
                answers[q.key] = True
            elif str(value).lower() in {"false", "no", "0", "off", "否"}:
                answers[q.key] = False
            else:
                errors[q.key] = "yes_no"
        elif q.kind == "enum":
            if str(value) in q.choices:
                answers[q.key] = str(value)
            else:
                errors[q.key] = "choice"
        else:
            try:
                number = float(value)
            except (TypeError, ValueError):
                errors[q.key] = "number"
                continue
            if number < 0 or number != number:
                errors[q.key] = "number"
            else:
                answers[q.key] = int(number) if number.is_integer() else number
    shown = {q.key for q in visible(questions, answers)}
    return {k: v for k, v in answers.items() if k in shown}, errors


def visible(questions: Sequence[Question], answers: Mapping[str, Any]) -> list[Question]:
    """The questions to show now: their ``shown_when`` holds on the answers so far."""
    return [q for q in questions if holds(q.shown_when, questions, answers) is True]


@dataclass
class Situation:
    """What the answers decide: the items (by index), the unanswered questions and
    whether every question shown has its answer."""

    questions: list[Question]
    unanswered: list[Question]
    applies: dict[str, bool | None] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.unanswered


def decide(
    questions: Sequence[Question],
    answers: Mapping[str, Any],
    conditions: Iterable[tuple[str, str]],
) -> Situation:
    """``conditions`` are ``(key, expr)`` pairs (items, materials, fields); each is decided."""
    shown = visible(questions, answers)
    unanswered = [q for q in shown if q.key not in answers]
    s = Situation(questions=shown, unanswered=unanswered)
    for key, expr in conditions:
        s.applies[key] = holds(expr, questions, answers)
    return s
