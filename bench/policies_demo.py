"""policies-demo: seeding the demo policy library and N enterprise profiles, then matching.

The demo district is seeded first (``yiwang.demo.seed`` with N registry enterprises, few
residents and city parts); the timed figures are ``yiwang.policies.demo.seed``'s stages —
profiles (bulk facts), the library (80 items through the actions, maker–checker), matching
(sweep + explanations + inbox deliveries) — and a second run that must add nothing.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from bench.env import log
from bench.registry import Result, register


@register("policies-demo", "demo policy library + N enterprise profiles + matching", 3_000)
def run(args: Any) -> Result:
    from yiwang import demo
    from yiwang.policies import demo as policy_demo

    n = args.size
    t0 = time.perf_counter()
    demo.seed(
        residents=1, enterprises=10, people=200, things=10, organisations=n, cases=0, policies=False
    )
    district_s = time.perf_counter() - t0
    log(f"district with {n:,} enterprises in {district_s:.1f} s; seeding policies")
    day = dt.date(2026, 11, 30)
    t0 = time.perf_counter()
    report = policy_demo.seed(today=day)
    seed_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = policy_demo.seed(today=day)
    second_s = time.perf_counter() - t0
    return {
        "enterprises": report.profiles,
        "facts": report.facts,
        "items": report.items,
        "published": report.published,
        "expired": report.expired,
        "matches": report.matches,
        "deliveries": report.deliveries,
        "district_s": round(district_s, 3),
        "policies_seed_s": round(seed_s, 3),
        "stages_s": report.timings,
        "second_run_s": round(second_s, 3),
        "second_run_changed": again.changed,
    }
