"""rules: the 政策通 rules engine over ``--size`` synthetic enterprises and 1,000 policies.

Delegates to ``python -m yiwang.rules.bench`` (which has flags for every size and for the
Polars / DuckDB comparison): the full sweep (counts and match sets of every policy), the
per-entity Python evaluator on a sample extrapolated to the same size, one enterprise
against every policy with explanations, and one new policy against every enterprise. The
rules engine uses no database; the fresh database the runner makes is left alone.
"""

from __future__ import annotations

from typing import Any

from bench.registry import Result, register


@register(
    "rules",
    "rules engine: 1,000 policies swept over --size enterprises, one-entity and one-policy paths",
    100_000,
)
def rules(args: Any) -> Result:
    from yiwang.rules.bench import parser, run

    opts = parser().parse_args(["--entities", str(args.size), "--policies", "1000"])
    return run(opts)
