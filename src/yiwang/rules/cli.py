"""``yiwang rules ...``: test case folders, evaluate a rule, check rules, print their SQL.

Mounted by the main CLI with :func:`add_subparsers`; also ``python -m yiwang.rules``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from typing import Any

from yiwang.rules.errors import ExpressionError, FactError, RuleError


def _as_of(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date YYYY-MM-DD: {text!r}") from None


def _dump(obj: Any) -> None:
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=2, default=str)
    sys.stdout.write("\n")


def cmd_test(args: argparse.Namespace) -> int:
    from yiwang.rules.testing import run_test_dir

    report = run_test_dir(args.path)
    if args.json:
        _dump(report)
    else:
        for r in report["results"]:
            mark = "PASS" if r["ok"] else "FAIL"
            print(f"{mark} {r['file']} :: {r['case']}")
            for p in r.get("problems", []):
                print(f"     {p}")
            if not r["ok"] and r.get("explanation"):
                print("     " + r["explanation"].replace("\n", "\n     "))
        print(f"{report['passed']} passed, {report['failed']} failed")
    if report["cases"] == 0:
        print(f"no *.cases.yaml found under {args.path}", file=sys.stderr)
        return 1
    return 0 if report["ok"] else 1


def cmd_eval(args: argparse.Namespace) -> int:
    from yiwang.rules.testing import evaluate_files

    try:
        out = evaluate_files(args.rule, args.facts, args.as_of)
    except (RuleError, FactError) as e:
        _dump({"error": type(e).__name__, "problems": e.to_list()})
        return 1
    except (OSError, ValueError) as e:
        _dump({"error": type(e).__name__, "problems": [{"message": str(e)}]})
        return 1
    if args.text:
        print(out["explanation"]["en" if args.text == "en" else "zh"])
        return 0
    if not args.trace:
        out.pop("trace", None)
    _dump(out)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from yiwang.rules.model import load_rule

    failures = 0
    for path in args.rules:
        try:
            r = load_rule(path)
        except RuleError as e:
            failures += 1
            _dump({"rule": path, "ok": False, "problems": e.to_list()})
        except (ExpressionError, OSError, ValueError) as e:
            failures += 1
            _dump({"rule": path, "ok": False, "problems": [{"message": str(e)}]})
        else:
            _dump({"rule": path, "ok": True, "id": r.id, "atoms": len(r.atoms)})
    return 1 if failures else 0


def cmd_sql(args: argparse.Namespace) -> int:
    from yiwang.rules import sql
    from yiwang.rules.model import load_rule

    rules = [load_rule(p) for p in args.rules]
    as_of = args.as_of or dt.date.today()
    q = sql.select(rules, as_of, table=args.table, review_columns=args.review_columns)
    print(q.sql(dialect=args.dialect, pretty=True) + ";")
    return 0


def add_subparsers(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``rules`` (with test / eval / check / sql) to a parent's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "rules", help="policy rules: run YAML test cases, evaluate, check, print SQL"
    )
    sub = p.add_subparsers(dest="rules_command", required=True)

    t = sub.add_parser("test", help="run every *.cases.yaml under a folder; exit 1 on a failure")
    t.add_argument("path", help="a folder (searched recursively) or one case file")
    t.add_argument("--json", action="store_true", help="print the report as JSON")
    t.set_defaults(func=cmd_test)

    e = sub.add_parser("eval", help="evaluate a rule for one entity's facts; print JSON")
    e.add_argument("--rule", required=True, help="rule file (JSON or YAML)")
    e.add_argument("--facts", required=True, help="facts file: {as_of, facts, decisions} or facts")
    e.add_argument("--as-of", type=_as_of, help="evaluation date (default: the file's, else today)")
    e.add_argument("--trace", action="store_true", help="include the full trace tree")
    e.add_argument("--text", choices=("zh", "en"), help="print the explanation text instead")
    e.set_defaults(func=cmd_eval)

    c = sub.add_parser("check", help="validate rule files against their catalog")
    c.add_argument("rules", nargs="+")
    c.set_defaults(func=cmd_check)

    s = sub.add_parser("sql", help="print the SQL that evaluates rules over a fact table")
    s.add_argument("rules", nargs="+")
    s.add_argument("--dialect", default="duckdb", choices=("duckdb", "postgres", "spark"))
    s.add_argument("--as-of", type=_as_of)
    s.add_argument("--table", default="facts")
    s.add_argument(
        "--review-columns",
        action="store_true",
        help="read reviewers' decisions from review__<rule>__<atom> columns",
    )
    s.set_defaults(func=cmd_sql)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yiwang.rules")
    sub = parser.add_subparsers(dest="command", required=True)
    add_subparsers(sub)
    args = parser.parse_args(["rules", *(sys.argv[1:] if argv is None else argv)])
    result: int = args.func(args)
    return result
