"""Benchmark of the rules engine: ``python -m yiwang.rules.bench --entities 1000000
--policies 1000`` prints one JSON object.

Synthetic but realistic data: enterprises with the example catalog's facts (5% of number
facts missing, 1% of the others), and policies of 4–8 atoms drawn from the kinds of
conditions real 政策通 policies use (district, industry section or division, years since
founding, round-number thresholds on last year's figures, size, credit, lists), a few with
an alternative (``any``) or an expert review, each with an amount formula.

Figures: the full sweep (counts and match sets for every policy, numpy bitset engine), a
per-entity Python evaluator on a sample extrapolated to the same size, one enterprise
against every policy with traces and text explanations (p50 / p95), one new policy against
every enterprise, and optionally the same sweep in Polars and DuckDB (``--engines``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from yiwang.rules.catalog import Catalog, key_of_column
from yiwang.rules.evaluate import evaluate_many, verdict
from yiwang.rules.explain import render
from yiwang.rules.model import Rule, parse_rule

EXAMPLES = Path(__file__).resolve().parent / "examples"
DISTRICTS = [f"3101{i:02d}" for i in (1, 4, 5, 6, 7, 9, 10, 12, 13, 14, 15, 16, 17, 18, 20, 51)]
SECTIONS = list("ABCDEFGHIJKLMNOPQRST")
SECTION_WEIGHTS = np.array([2, 1, 30, 2, 6, 18, 5, 4, 8, 2, 4, 6, 7, 1, 3, 1, 1, 1, 2, 1], float)
PERIODIC = {
    # fact: (median in 万元 or %, sigma, share of zeros)
    "revenue": (500.0, 1.6, 0.02),
    "rd_expense": (25.0, 1.8, 0.30),
    "rd_ratio": (3.0, 0.9, 0.30),
    "export_value": (200.0, 1.8, 0.70),
    "unemployment_insurance_paid": (3.0, 1.3, 0.05),
    "layoff_rate": (4.0, 1.0, 0.40),
    "office_rent": (30.0, 1.2, 0.10),
}
THRESHOLDS: dict[str, list[Any]] = {
    "revenue": [200, 500, 1000, 2000, 5000, 10000, 20000],
    "rd_expense": [50, 100, 200, 500, 1000],
    "rd_ratio": [3, 4, 5, 6, 8],
    "export_value": [100, 500, 1000, 3000],
    "unemployment_insurance_paid": [0, 1, 5],
    "layoff_rate": [5.5, 10, 20],
    "office_rent": [10, 50, 100],
}
UNITS = {"rd_ratio": "%", "layoff_rate": "%"}


def log(msg: str) -> None:
    print(f"[rules-bench] {msg}", file=sys.stderr, flush=True)


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------- data


def make_entities(n: int, as_of: dt.date, seed: int) -> Any:
    """A Polars fact table of ``n`` enterprises (columns for FY-1 and FY-2)."""
    import polars as pl

    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {"entity_id": np.arange(n, dtype=np.int64)}
    y1, y2 = as_of.year - 1, as_of.year - 2

    def missing(share: float) -> Any:
        return rng.random(n) < share

    def with_nulls(values: Any, share: float) -> Any:
        s = pl.Series(values)
        return s.scatter(np.flatnonzero(missing(share)), None)

    cols["registered_district"] = with_nulls(
        np.array(DISTRICTS)[rng.integers(0, len(DISTRICTS), n)], 0.01
    )
    sec = rng.choice(len(SECTIONS), n, p=SECTION_WEIGHTS / SECTION_WEIGHTS.sum())
    division = rng.integers(1, 100, n)
    klass = rng.integers(0, 100, n)
    codes = np.char.add(np.array(SECTIONS)[sec], np.char.zfill(division.astype(str), 2))
    codes = np.char.add(codes, np.char.zfill(klass.astype(str), 2))
    cols["industry"] = with_nulls(codes, 0.01)
    epoch = dt.date(1970, 1, 1)
    start = (dt.date(1990, 1, 1) - epoch).days
    end = (as_of - epoch).days
    founded = rng.integers(start, end, n).astype("datetime64[D]")
    cols["founded_on"] = with_nulls(founded, 0.01)
    expires = rng.integers(end - 700, end + 1100, n).astype("datetime64[D]")
    cols["high_tech_expires_on"] = with_nulls(expires, 0.01)
    sizes = np.array(["micro", "small", "medium", "large"])
    cols["company_size"] = with_nulls(sizes[rng.choice(4, n, p=[0.5, 0.3, 0.15, 0.05])], 0.01)
    levels = np.array(["D", "C", "M", "B", "A"])
    cols["tax_credit_level"] = with_nulls(
        levels[rng.choice(5, n, p=[0.05, 0.1, 0.15, 0.4, 0.3])], 0.01
    )
    for fact, (median, sigma, zeros) in PERIODIC.items():
        for year in (y1, y2):
            x = rng.lognormal(np.log(median), sigma, n)
            x[rng.random(n) < zeros] = 0.0
            if fact in ("rd_ratio", "layoff_rate"):
                x = np.minimum(x, 100.0)
            x = np.round(x, 2)
            cols[f"{fact}__fy{year}"] = with_nulls(x, 0.05)
    cols["employees"] = with_nulls(np.round(rng.lognormal(np.log(25), 1.2, n)), 0.05)
    cols["invention_patents"] = with_nulls(rng.poisson(0.8, n).astype(float), 0.05)
    cols["office_area"] = with_nulls(np.round(rng.lognormal(np.log(300), 1.0, n)), 0.05)
    for fact, p in (
        ("is_high_tech", 0.12),
        ("is_srdi", 0.05),
        ("on_dishonesty_list", 0.02),
        ("major_accident_3y", 0.01),
    ):
        cols[fact] = with_nulls(rng.random(n) < p, 0.01)
    return pl.DataFrame(cols)


def make_policies(k: int, catalog: Catalog, seed: int) -> list[Rule]:
    """``k`` policies of 4–8 atoms, each with an amount formula."""
    rng = np.random.default_rng(seed + 1)
    rules: list[Rule] = []

    def pick(xs: list[Any]) -> Any:
        return xs[int(rng.integers(0, len(xs)))]

    def numeric_atom(i: int) -> dict[str, Any]:
        fact = pick(list(THRESHOLDS))
        thr = pick(THRESHOLDS[fact])
        unit = UNITS.get(fact, "万元")
        op = ">=" if fact != "layoff_rate" else "<="
        back = 1 if rng.random() < 0.85 else 2
        return {"id": f"n{i}", "expr": f"{fact}@FY-{back} {op} {thr}{unit}"}

    templates: list[Any] = [
        lambda i: {"id": f"a{i}", "expr": f'registered_district == "{pick(DISTRICTS)}"'},
        lambda i: {
            "id": f"a{i}",
            "expr": "registered_district in ["
            + ", ".join(f'"{d}"' for d in sorted({pick(DISTRICTS) for _ in range(3)}))
            + "]",
        },
        lambda i: {"id": f"a{i}", "expr": f'industry in ["{pick(["C", "C", "I", "M", "F"])}*"]'},
        lambda i: {
            "id": f"a{i}",
            "expr": "industry in ["
            + ", ".join(f'"C{int(rng.integers(13, 44))}*"' for _ in range(2))
            + "]",
        },
        lambda i: {"id": f"a{i}", "expr": f"years_since(founded_on) >= {int(rng.integers(1, 6))}"},
        lambda i: {"id": f"a{i}", "expr": f"years_since(founded_on) < {int(rng.integers(2, 6))}"},
        lambda i: {"id": f"a{i}", "expr": "not on_dishonesty_list"},
        lambda i: {"id": f"a{i}", "expr": "not major_accident_3y"},
        lambda i: {"id": f"a{i}", "expr": pick(["is_high_tech", "is_srdi"])},
        lambda i: {"id": f"a{i}", "expr": "high_tech_expires_on >= as_of"},
        lambda i: {"id": f"a{i}", "expr": f'company_size <= "{pick(["small", "medium"])}"'},
        lambda i: {"id": f"a{i}", "expr": f'tax_credit_level >= "{pick(["B", "M", "A"])}"'},
        lambda i: {"id": f"a{i}", "expr": f"employees >= {pick([3, 10, 20, 50, 100])}人"},
        lambda i: {"id": f"a{i}", "expr": f"invention_patents >= {pick([1, 2, 5])}件"},
        numeric_atom,
        numeric_atom,
        numeric_atom,
    ]
    for p in range(k):
        n_atoms = int(rng.integers(4, 9))
        atoms: list[dict[str, Any]] = []
        i = 0
        while len(atoms) < n_atoms:
            r = rng.random()
            if r < 0.1 and n_atoms - len(atoms) >= 2:
                atoms.append({"id": f"g{i}", "any": [numeric_atom(i), numeric_atom(i + 1)]})
                atoms[-1]["any"][1]["id"] = f"n{i}b"
                i += 2
                n_atoms -= 1
                continue
            if r < 0.15:
                atoms.append({"id": f"r{i}", "kind": "discretionary", "label": "专家评审"})
            else:
                atoms.append(templates[int(rng.integers(0, len(templates)))](i))
            i += 1
        fact = pick(["rd_expense", "revenue", "office_rent", "unemployment_insurance_paid"])
        pct = pick([5, 10, 20, 50])
        cap = pick([50, 100, 200, 500])
        raw = {
            "rules_version": 1,
            "id": f"p{p:04d}",
            "label": {"zh": f"示例政策{p}", "en": f"sample policy {p}"},
            "when": {"all": atoms},
            "amount": {"unit": "万元", "formula": f"min({pct}% * {fact}@FY-1, {cap}万元)"},
        }
        rules.append(parse_rule(raw, catalog))
    return rules


def python_rows(df: Any, idx: Any) -> list[dict[str, Any]]:
    """Rows of the fact table as normalized facts (absolute keys, None dropped)."""
    sub = df[idx]
    out = []
    for row in sub.iter_rows(named=True):
        out.append(
            {key_of_column(k): v for k, v in row.items() if k != "entity_id" and v is not None}
        )
    return out


# ---------------------------------------------------------------- figures


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from yiwang.rules import vector

    as_of = dt.date.fromisoformat(args.as_of)
    catalog = Catalog.load(EXAMPLES / "catalog.yaml")
    res: dict[str, Any] = {}
    t0 = time.perf_counter()
    rules = make_policies(args.policies, catalog, args.seed)
    t_rules = time.perf_counter() - t0
    log(f"{len(rules)} policies in {t_rules:.2f}s; generating {args.entities:,} enterprises")
    t0 = time.perf_counter()
    df = make_entities(args.entities, as_of, args.seed)
    t_data = time.perf_counter() - t0
    gc.collect()
    atoms_per_rule = [len(r.atoms) for r in rules]
    res["sizes"] = {
        "entities": args.entities,
        "policies": len(rules),
        "atoms": sum(atoms_per_rule),
        "atoms_per_policy_min_max": [min(atoms_per_rule), max(atoms_per_rule)],
        "fact_columns": df.width - 1,
        "missing_share_numeric": 0.05,
    }
    res["setup_seconds"] = {"policies": round(t_rules, 3), "enterprises": round(t_data, 3)}
    rss_before = rss_mb()
    log(f"fact table {df.estimated_size() / 2**20:.0f} MB, RSS {rss_before:.0f} MB")

    # the per-entity sample, taken now so that the Polars frame can go after conversion
    rng = np.random.default_rng(args.seed + 2)
    sample = rng.choice(args.entities, min(args.sample, args.entities), replace=False)
    rows = python_rows(df, sample)
    engines = [e for e in args.engines.split(",") if e]

    # full sweep: counts and match sets of every policy
    t0 = time.perf_counter()
    fa = vector.FactArrays.from_polars(df)
    t_prep = time.perf_counter() - t0
    if not engines:
        del df  # the sweep reads the numpy columns only
        gc.collect()
    t1 = time.perf_counter()
    result = vector.sweep(rules, fa, as_of)
    t_eval = time.perf_counter() - t1
    counts = result.counts()
    t_total = time.perf_counter() - t0
    matched = sum(c["pass"] for c in counts.values())
    res["sweep"] = {
        "engine": "numpy bitsets",
        "seconds_total": round(t_total, 3),
        "seconds_prepare_columns": round(t_prep, 3),
        "seconds_evaluate": round(t_eval, 3),
        "seconds_count": round(t_total - t_prep - t_eval, 3),
        "atoms_evaluated": result.atoms_total,
        "atoms_distinct": result.atoms_distinct,
        "matches_total": matched,
        "unknown_total": sum(c["unknown"] for c in counts.values()),
        "match_sets_mb": round(
            sum(b.nbytes for b in result.passed.values()) / 2**20
            + sum(b.nbytes for b in result.failed.values()) / 2**20,
            1,
        ),
        "rss_before_mb": round(rss_before, 1),
        "rss_after_mb": round(rss_mb(), 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    log(f"sweep {t_total:.2f}s ({t_eval:.2f}s evaluating), peak RSS {peak_rss_mb():.0f} MB")

    # per-entity Python evaluator on a sample, extrapolated
    t0 = time.perf_counter()
    py_verdicts = [[verdict(r, row, as_of) for r in rules] for row in rows]
    t_py = time.perf_counter() - t0
    per_entity = t_py / len(rows)
    extrapolated = per_entity * args.entities
    # the same sample, checked against the sweep
    mismatches = 0
    for j, e in enumerate(sample):
        for r, v in zip(rules, py_verdicts[j], strict=True):
            got = result.verdicts(r.id)[e] if j < 20 else None
            if got is not None and {1: True, 0: False, -1: None}[int(got)] is not v:
                mismatches += 1
    res["python_baseline"] = {
        "evaluator": "evaluate.verdict (per entity, per policy, no trace)",
        "sample_entities": len(rows),
        "seconds_per_entity_all_policies": round(per_entity, 6),
        "extrapolated_seconds_full_size": round(extrapolated, 1),
        "speedup_of_sweep": round(extrapolated / t_total, 1),
        "sweep_vs_python_mismatches_on_20_entities": mismatches,
    }
    log(
        f"python {per_entity * 1e3:.1f} ms/entity → {extrapolated:,.0f}s; "
        f"speed-up ×{extrapolated / t_total:,.0f}"
    )

    # one enterprise against every policy: verdicts, scores, amounts for all; explanations
    # (trace, failed / unknown atoms, zh text) for the policies shown to the enterprise
    # (those it meets or may meet), and, for comparison, every trace built at once
    times: dict[str, list[float]] = {"lazy": [], "shown": [], "eager": [], "shown_cpu": []}
    n_exp = min(args.explain_samples, len(rows))
    for row in rows[:n_exp]:
        t0 = time.perf_counter()
        c0 = time.thread_time()
        evs = evaluate_many(rules, row, as_of, trace=False)
        t1 = time.perf_counter()
        for e in evs:
            if e.verdict != "fail":
                render(e.trace, "zh")
                _ = e.failed, e.unknown
        t2 = time.perf_counter()
        times["shown_cpu"].append(time.thread_time() - c0)
        evaluate_many(rules, row, as_of, trace=True)
        t3 = time.perf_counter()
        times["lazy"].append(t1 - t0)
        times["shown"].append(t2 - t0)
        times["eager"].append(t3 - t2)
    res["one_enterprise_all_policies"] = {
        "policies": len(rules),
        "samples": n_exp,
        "p50_ms_verdicts_scores_amounts": round(statistics.median(times["lazy"]) * 1e3, 2),
        "p50_ms_with_explanations_of_shown": round(statistics.median(times["shown"]) * 1e3, 2),
        "p95_ms_with_explanations_of_shown": round(_pct(times["shown"], 0.95) * 1e3, 2),
        "p50_cpu_ms_with_explanations_of_shown": round(
            statistics.median(times["shown_cpu"]) * 1e3, 2
        ),
        "p50_ms_every_trace_built": round(statistics.median(times["eager"]) * 1e3, 2),
    }
    log(
        f"one enterprise × {len(rules)} policies: p50 "
        f"{statistics.median(times['shown']) * 1e3:.1f} ms with explanations of those shown"
    )

    # one new policy against every enterprise (fact columns already prepared)
    new = make_policies(1, catalog, args.seed + 99)[0]
    times_one: list[float] = []
    for _ in range(5):
        t0 = time.perf_counter()
        one = vector.sweep([new], fa, as_of)
        ids = one.matches(new.id)
        maybe = one.matches(new.id, unknown=True)
        times_one.append(time.perf_counter() - t0)
    res["one_policy_all_enterprises"] = {
        "entities": args.entities,
        "atoms": len(new.atoms),
        "p50_seconds": round(statistics.median(times_one), 4),
        "max_seconds": round(max(times_one), 4),
        "matches": len(ids),
        "possible_matches_unknown": len(maybe),
    }
    del result, one
    gc.collect()

    if engines:
        res["engines"] = compare_engines(engines, rules, df, as_of, counts)
    return res


def compare_engines(
    engines: list[str],
    rules: list[Rule],
    df: Any,
    as_of: dt.date,
    expected: dict[str, dict[str, int]],
) -> dict[str, Any]:
    """The same counts with Polars (lazy, one select) and DuckDB (one SELECT)."""
    out: dict[str, Any] = {}
    if "polars" in engines:
        from yiwang.rules.polars_backend import counts_frame

        t0 = time.perf_counter()
        c = counts_frame(rules, df, as_of)
        t = time.perf_counter() - t0
        ok = all(c[f"{r.id}__pass"][0] == expected[r.id]["pass"] for r in rules)
        out["polars_counts"] = {
            "seconds": round(t, 3),
            "agrees": ok,
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
        log(f"polars counts {t:.2f}s")
    if "duckdb" in engines:
        import duckdb

        from yiwang.rules import sql

        class _Stream:
            def __init__(self, frame: Any) -> None:
                self.frame = frame

            def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
                return self.frame.__arrow_c_stream__(requested_schema)

        con = duckdb.connect()
        con.execute("SET threads TO 2")
        t0 = time.perf_counter()
        con.register("facts_stream", _Stream(df))
        con.execute("CREATE TABLE facts AS SELECT * FROM facts_stream")
        t_load = time.perf_counter() - t0
        q = sql.counts(rules, as_of).sql(dialect="duckdb")
        t0 = time.perf_counter()
        row = con.execute(q).fetchone()
        t = time.perf_counter() - t0
        assert row is not None
        ok = all(row[1 + 2 * i] == expected[r.id]["pass"] for i, r in enumerate(rules))
        out["duckdb_counts"] = {
            "seconds": round(t, 3),
            "seconds_load_table": round(t_load, 3),
            "agrees": ok,
            "sql_chars": len(q),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
        con.close()
        log(f"duckdb counts {t:.2f}s")
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m yiwang.rules.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--entities", type=int, default=100_000)
    p.add_argument("--policies", type=int, default=1000)
    p.add_argument(
        "--sample",
        type=int,
        default=200,
        help="enterprises evaluated by the per-entity Python evaluator",
    )
    p.add_argument(
        "--explain-samples",
        type=int,
        default=50,
        help="enterprises timed against every policy with traces",
    )
    p.add_argument("--engines", default="", help="also time the sweep's counts in: polars,duckdb")
    p.add_argument("--as-of", default="2024-06-30")
    p.add_argument("--seed", type=int, default=7)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    started = time.time()
    figures = run(args)
    report = {
        "benchmark": "rules",
        "command": "python -m yiwang.rules.bench "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "wall_seconds": round(time.time() - started, 1),
        "results": figures,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "numpy": np.__version__,
            "loadavg_at_end": list(os.getloadavg()),
            "note": "2 cores shared with other work: wall times include waiting for a core",
        },
    }
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
