"""``python -m yiwang.policies.content test [--keep DIR]`` — check every demo policy rule
against the catalog and run every item's test cases through ``yiwang.rules.testing``;
``export DIR`` writes the rules and cases for ``yiwang rules test DIR``."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from yiwang.policies.content import export_cases, load_documents
from yiwang.rules.testing import run_test_dir


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m yiwang.policies.content")
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("test", help="run every item's YAML test cases")
    t.add_argument("--keep", help="write the exported rules and cases here")
    e = sub.add_parser("export", help="write rules and cases for `yiwang rules test`")
    e.add_argument("dir")
    args = p.parse_args(argv)
    docs = load_documents()
    if args.cmd == "export":
        n = export_cases(Path(args.dir), docs)
        print(f"{n} items from {len(docs)} documents written to {args.dir}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(args.keep or tmp)
        n = export_cases(target, docs)
        res = run_test_dir(target)
    for r in res["results"]:
        if not r["ok"]:
            print(f"FAIL {Path(r['file']).name} :: {r['case']}")
            for prob in r["problems"]:
                print(f"     {prob}")
            if r.get("explanation"):
                print("     " + r["explanation"].replace("\n", "\n     "))
    print(
        f"{len(docs)} documents, {n} items, {res['cases']} cases: "
        f"{res['passed']} passed, {res['failed']} failed"
    )
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
