"""The rules engine of 政策通: conditions over typed enterprise facts, evaluated three ways.

Pure Python (no Django). A rule is a versioned JSON tree (docs/rules.md) checked against a
fact catalog; :func:`evaluate` gives a Kleene verdict (pass / fail / unknown), a score, the
failed and unknown atoms, an amount and a trace that explains it; ``yiwang.rules.sql``,
``yiwang.rules.polars_backend`` and ``yiwang.rules.vector`` evaluate many rules over many
entities at once (imported on demand: they need sqlglot, polars, numpy).
"""

from __future__ import annotations

from yiwang.rules.catalog import Catalog, FactRef, FactSpec, Label, column_name
from yiwang.rules.errors import ExpressionError, FactError, Problem, RuleError
from yiwang.rules.evaluate import (
    Evaluation,
    amount_value,
    evaluate,
    evaluate_many,
    evaluate_reference,
    kleene_all,
    kleene_any,
    kleene_not,
    verdict,
)
from yiwang.rules.expr import parse_condition, parse_formula
from yiwang.rules.model import RULES_VERSION, Atom, Rule, load_rule, parse_rule

__all__ = [
    "RULES_VERSION",
    "Atom",
    "Catalog",
    "Evaluation",
    "ExpressionError",
    "FactError",
    "FactRef",
    "FactSpec",
    "Label",
    "Problem",
    "Rule",
    "RuleError",
    "amount_value",
    "column_name",
    "evaluate",
    "evaluate_many",
    "evaluate_reference",
    "kleene_all",
    "kleene_any",
    "kleene_not",
    "load_rule",
    "parse_condition",
    "parse_formula",
    "parse_rule",
    "verdict",
]
