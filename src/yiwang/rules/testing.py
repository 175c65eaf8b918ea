"""Rule test cases in YAML that policy staff write: facts in, verdict and amount out.

A case file (``*.cases.yaml``)::

    rule: gaoxin_rd_subsidy.json        # relative to this file
    as_of: 2024-06-30                   # default for the cases
    cases:
      - name: 符合全部条件
        facts: {registered_district: "310115", rd_expense@FY2023: 800, ...}
        decisions: {expert_review: true}   # reviewers' decisions on discretionary atoms
        expect:
          verdict: pass                  # pass | fail | unknown
          amount: 80                     # in the rule's amount unit; null = unknown
          failed: [rd_100w]              # optional: exactly these atoms fail
          unknown: [rd_100w]             # optional: exactly these atoms are unknown
          score: 1.0                     # optional
          bonus: {export_bonus: pass}    # optional

:func:`run_test_dir` runs every case file under a folder and reports each case.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from yiwang.rules.catalog import load_data
from yiwang.rules.errors import ExpressionError, FactError, RuleError
from yiwang.rules.evaluate import Evaluation, evaluate
from yiwang.rules.explain import render
from yiwang.rules.model import Rule, load_rule

CASE_GLOBS = ("*.cases.yaml", "*.cases.yml")
EXPECT_KEYS = ("verdict", "amount", "failed", "unknown", "score", "bonus")


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{where}: as_of must be a date YYYY-MM-DD, got {value!r}")


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def check_expectations(e: Evaluation, expect: Mapping[str, Any]) -> list[str]:
    """What differs between an evaluation and a case's ``expect`` (empty when it passes)."""
    problems: list[str] = []
    for k in expect:
        if k not in EXPECT_KEYS:
            problems.append(f"unknown expectation {k!r} (known: {', '.join(EXPECT_KEYS)})")
    if "verdict" in expect and expect["verdict"] != e.verdict:
        problems.append(f"verdict: expected {expect['verdict']}, got {e.verdict}")
    if "amount" in expect:
        want = expect["amount"]
        if want is None:
            if e.amount is not None:
                problems.append(f"amount: expected unknown (null), got {e.amount:g}")
        elif e.amount is None:
            missing = ", ".join(e.amount_missing) or "—"
            problems.append(f"amount: expected {want}, got unknown (missing {missing})")
        elif not _close(float(want), e.amount):
            problems.append(f"amount: expected {want}, got {round(e.amount, 6):g}")
    if "score" in expect:
        want_s = expect["score"]
        if (want_s is None) != (e.score is None) or (
            want_s is not None and e.score is not None and not _close(float(want_s), e.score)
        ):
            problems.append(f"score: expected {want_s}, got {e.score}")
    for key, got in (("failed", e.failed), ("unknown", e.unknown)):
        if key in expect:
            want_ids = sorted(str(x) for x in (expect[key] or []))
            got_ids = sorted(str(x["id"]) for x in got)
            if want_ids != got_ids:
                problems.append(f"{key}: expected {want_ids}, got {got_ids}")
    if "bonus" in expect:
        got_b = {b["id"]: b["value"] for b in e.bonus}
        for bid, want_v in (expect["bonus"] or {}).items():
            if got_b.get(bid) != want_v:
                problems.append(f"bonus {bid}: expected {want_v}, got {got_b.get(bid)}")
    return problems


def run_case_file(path: str | Path) -> list[dict[str, Any]]:
    """Run one case file; one result per case (or one for a file that cannot be read)."""
    p = Path(path)
    try:
        doc = load_data(p)
        if not isinstance(doc, Mapping) or not isinstance(doc.get("cases"), list):
            raise ValueError("a case file has 'rule' and a list of 'cases'")
        rule = load_rule(p.parent / str(doc["rule"]))
    except (RuleError, ExpressionError, ValueError, OSError, KeyError) as e:
        msg = [str(x) for x in e.problems] if isinstance(e, RuleError) else [str(e)]
        return [{"file": str(p), "case": "(file)", "ok": False, "problems": msg}]
    default_as_of = doc.get("as_of")
    results = []
    for i, case in enumerate(doc["cases"]):
        name = str(case.get("name", f"case {i + 1}")) if isinstance(case, Mapping) else str(i)
        results.append({"file": str(p), "case": name, **_run_case(rule, case, default_as_of, i)})
    return results


def _run_case(rule: Rule, case: Any, default_as_of: Any, i: int) -> dict[str, Any]:
    where = f"cases[{i}]"
    if not isinstance(case, Mapping) or not isinstance(case.get("expect"), Mapping):
        return {"ok": False, "problems": [f"{where}: a case has 'facts' and 'expect'"]}
    try:
        as_of = _date(case.get("as_of", default_as_of), where)
        e = evaluate(rule, case.get("facts") or {}, as_of, case.get("decisions") or {})
    except (FactError, ValueError, TypeError) as err:
        msg = [str(x) for x in err.problems] if isinstance(err, FactError) else [str(err)]
        return {"ok": False, "problems": msg}
    problems = check_expectations(e, case["expect"])
    out: dict[str, Any] = {
        "ok": not problems,
        "problems": problems,
        "verdict": e.verdict,
        "amount": e.amount,
    }
    if problems:
        out["explanation"] = render(e.trace, "zh")
    return out


def run_test_dir(path: str | Path) -> dict[str, Any]:
    """Run every ``*.cases.yaml`` under ``path`` (or the one file ``path``)."""
    p = Path(path)
    files = [p] if p.is_file() else sorted({f for g in CASE_GLOBS for f in p.rglob(g)})
    results: list[dict[str, Any]] = []
    for f in files:
        results.extend(run_case_file(f))
    passed = sum(1 for r in results if r["ok"])
    return {
        "path": str(p),
        "files": len(files),
        "cases": len(results),
        "passed": passed,
        "failed": len(results) - passed,
        "ok": bool(results) and passed == len(results),
        "results": results,
    }


def evaluate_files(
    rule_path: str | Path, facts_path: str | Path, as_of: dt.date | None = None
) -> dict[str, Any]:
    """Evaluate a rule file against a facts file; the evaluation with text explanations.

    The facts file (JSON or YAML) is ``{"as_of": ..., "facts": {...}, "decisions": {...}}``
    or just the facts. ``as_of`` (argument, then file) defaults to today.
    """
    rule = load_rule(rule_path)
    doc = load_data(Path(facts_path))
    if not isinstance(doc, Mapping):
        raise ValueError(f"{facts_path}: expected an object of facts")
    if "facts" in doc and isinstance(doc["facts"], Mapping):
        facts = doc["facts"]
        decisions = doc.get("decisions") or {}
        file_as_of = doc.get("as_of")
    else:
        facts, decisions, file_as_of = doc, {}, None
    when = as_of or (_date(file_as_of, str(facts_path)) if file_as_of else dt.date.today())
    e = evaluate(rule, facts, when, decisions)
    out = e.to_dict()
    out["explanation"] = {"zh": render(e.trace, "zh"), "en": render(e.trace, "en")}
    return out
