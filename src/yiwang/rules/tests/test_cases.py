"""The example rules, their YAML cases, the file helpers and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yiwang.rules import load_rule
from yiwang.rules.cli import add_subparsers, main
from yiwang.rules.testing import evaluate_files, run_test_dir

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_examples_pass_their_cases() -> None:
    report = run_test_dir(EXAMPLES)
    failures = [r for r in report["results"] if not r["ok"]]
    assert not failures, failures
    assert report["files"] >= 4 and report["cases"] >= 20


def test_examples_are_valid_rules() -> None:
    rules = sorted(EXAMPLES.glob("*.json"))
    assert len(rules) >= 4
    for p in rules:
        r = load_rule(p)
        assert r.label.zh and r.label.en and r.amount is not None


def test_a_wrong_expectation_is_reported(tmp_path: Path) -> None:
    (tmp_path / "x.cases.yaml").write_text(
        f"rule: {EXAMPLES / 'gaoxin_rd_subsidy.json'}\n"
        "as_of: 2024-06-30\n"
        "cases:\n"
        "  - name: wrong\n"
        "    facts: {registered_district: '310115', on_dishonesty_list: true}\n"
        "    expect: {verdict: pass, amount: 3}\n"
        "  - name: bad fact\n"
        "    facts: {registered_district: 310115}\n"
        "    expect: {verdict: fail}\n",
        encoding="utf-8",
    )
    report = run_test_dir(tmp_path)
    assert (report["passed"], report["failed"]) == (0, 2)
    first, second = report["results"]
    assert "verdict: expected pass, got fail" in first["problems"]
    assert "结论: ✗ 不符合" in first["explanation"]
    assert "quote codes" in second["problems"][0]


def test_evaluate_files(tmp_path: Path) -> None:
    facts = tmp_path / "f.json"
    facts.write_text(
        json.dumps(
            {
                "as_of": "2024-06-30",
                "facts": {
                    "registered_district": "310115",
                    "industry": "C3911",
                    "founded_on": "2015-03-01",
                    "is_high_tech": True,
                    "high_tech_expires_on": "2025-12-31",
                    "rd_expense@FY2023": 800,
                    "on_dishonesty_list": False,
                },
            }
        ),
        encoding="utf-8",
    )
    out = evaluate_files(EXAMPLES / "gaoxin_rd_subsidy.json", facts)
    assert out["verdict"] == "pass" and out["amount"] == pytest.approx(80)
    assert "结论: ✓ 符合" in out["explanation"]["zh"]
    assert "Verdict: ✓ met" in out["explanation"]["en"]


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(EXAMPLES)]) == 0
    assert "0 failed" in capsys.readouterr().out
    facts = tmp_path / "f.yaml"
    facts.write_text("registered_district: '310115'\non_dishonesty_list: true\n", encoding="utf-8")
    assert (
        main(
            [
                "eval",
                "--rule",
                str(EXAMPLES / "gaoxin_rd_subsidy.json"),
                "--facts",
                str(facts),
                "--as-of",
                "2024-06-30",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["verdict"] == "fail" and out["failed"][0]["id"] == "credit_ok"
    assert (
        main(
            [
                "sql",
                str(EXAMPLES / "srdi_award.json"),
                "--dialect",
                "spark",
                "--as-of",
                "2024-06-30",
            ]
        )
        == 0
    )
    assert "`revenue__fy2023`" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "rules_version": 1,
                "id": "b",
                "catalog": str(EXAMPLES / "catalog.yaml"),
                "when": "nope > 1",
            }
        ),
        encoding="utf-8",
    )
    assert main(["check", str(bad)]) == 1
    assert "unknown fact 'nope'" in capsys.readouterr().out


def test_add_subparsers_mounts_under_a_parent() -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="yiwang")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subparsers(sub)
    args = parser.parse_args(["rules", "test", str(EXAMPLES)])
    assert args.func(args) == 0


def test_sql_for_every_dialect_parses_back() -> None:
    import datetime as dt

    sqlglot = pytest.importorskip("sqlglot")
    from yiwang.rules import sql

    rules = [load_rule(p) for p in sorted(EXAMPLES.glob("*.json"))]
    for dialect in sql.DIALECTS:
        text = sql.select_sql(rules, dt.date(2024, 6, 30), dialect=dialect)
        assert sqlglot.parse_one(text, read=dialect) is not None
        assert "__amount" in text
        counts = sql.counts(rules, dt.date(2024, 6, 30)).sql(dialect=dialect)
        assert sqlglot.parse_one(counts, read=dialect) is not None


def test_sweep_counts_and_match_sets() -> None:
    import datetime as dt

    pytest.importorskip("polars")

    from yiwang.rules import evaluate, polars_backend, vector
    from yiwang.rules.lower import columns

    rule = load_rule(EXAMPLES / "gaoxin_rd_subsidy.json")
    as_of = dt.date(2024, 6, 30)
    good = {
        "registered_district": "310115",
        "industry": "C3911",
        "founded_on": dt.date(2015, 3, 1),
        "is_high_tech": True,
        "high_tech_expires_on": dt.date(2025, 12, 31),
        "rd_expense__fy2023": 800.0,
        "on_dishonesty_list": False,
    }
    rows = [good, {**good, "rd_expense__fy2023": None}, {**good, "industry": "I6510"}, good]
    df = polars_backend.frame(rows, columns(rule, as_of), ids=[11, 12, 13, 14])
    res = vector.sweep([rule], vector.FactArrays.from_polars(df), as_of, amounts=True)
    assert res.counts() == {rule.id: {"pass": 2, "fail": 1, "unknown": 1}}
    assert list(res.matches(rule.id)) == [11, 14]
    assert list(res.matches(rule.id, unknown=True)) == [12]
    assert list(res.amounts[rule.id][[0, 2]]) == [80.0, 80.0]
    e = evaluate(
        rule,
        {"rd_expense@FY2023": 800.0, **{k: v for k, v in good.items() if "__" not in k}},
        as_of,
    )
    assert e.verdict == "pass"


def test_benchmark_runs_small() -> None:
    for lib in ("polars", "duckdb", "sqlglot"):
        pytest.importorskip(lib)
    from yiwang.rules.bench import parser, run

    out = run(
        parser().parse_args(
            [
                "--entities",
                "3000",
                "--policies",
                "30",
                "--sample",
                "5",
                "--explain-samples",
                "3",
                "--engines",
                "polars,duckdb",
            ]
        )
    )
    assert out["python_baseline"]["sweep_vs_python_mismatches_on_20_entities"] == 0
    assert out["engines"]["polars_counts"]["agrees"] and out["engines"]["duckdb_counts"]["agrees"]
    assert out["sizes"]["policies"] == 30
