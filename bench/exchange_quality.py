"""exchange-quality: one quality run over an N-row dataset (default 1,000,000).

The dataset is the enterprise-registration shape: a credit code checked with python-stdnum
(``cn.uscc``), a GB/T 4754 industry code checked against the code table, an ``enum`` status,
a ``unique`` registration number, dates and numbers, and the legal representative's name
sealed with SM4-GCM (so every row is decrypted). Rows are written straight into the table
in batches (the load path is not what is measured); 2 % have a broken check digit, 3 % no
name, 1 % an unknown industry, 0.5 % a duplicate registration number.

The timed figure is one ``run_quality`` call — the code the nightly job runs — with the
process's peak resident memory. Goal (issue 6): ≤ 30 s and ≤ 2 GB for 1,000,000 rows.
"""

from __future__ import annotations

import resource
import time
from typing import Any

from bench.env import log
from bench.registry import Result, register

GOAL = "<= 30 s and <= 2 GB peak for 1,000,000 rows"

SCHEMA: dict[str, Any] = {
    "fields": [
        {
            "name": "credit_code",
            "type": "string",
            "sensitivity": "public",
            "element": "DE-USCC",
            "constraints": {"required": True},
        },
        {
            "name": "name",
            "type": "string",
            "sensitivity": "public",
            "constraints": {"required": True},
        },
        {"name": "industry_code", "type": "string", "sensitivity": "public", "element": "DE-IND"},
        {
            "name": "reg_no",
            "type": "string",
            "sensitivity": "public",
            "constraints": {"unique": True},
        },
        {
            "name": "status",
            "type": "string",
            "sensitivity": "public",
            "constraints": {"enum": ["存续", "吊销", "注销"]},
        },
        {"name": "capital", "type": "number", "sensitivity": "internal"},
        {"name": "founded", "type": "date", "sensitivity": "public"},
        {"name": "legal_rep", "type": "string", "sensitivity": "pi", "mask": "name"},
    ],
    "primaryKey": ["credit_code"],
}


def _fill(n: int, batch: int) -> Any:
    from django.utils import timezone

    from yiwang.accounts.tests.factories import build_world
    from yiwang.core.codetables import import_industry
    from yiwang.core.ids import make_credit_code
    from yiwang.core.models import IndustryCode
    from yiwang.exchange import actions
    from yiwang.exchange.actions import _split
    from yiwang.exchange.keys import key_hash, subject_hash
    from yiwang.exchange.models import Dataset, Record

    w = build_world()
    if not IndustryCode.objects.exists():
        import_industry(actor=None)
    classes = list(IndustryCode.objects.filter(level="class").values_list("code", flat=True))
    classes = classes or ["C3911"]
    actions.do_define_element(
        actor=None, code="DE-USCC", name="统一社会信用代码", type="string", validator="cn.uscc"
    )
    actions.do_define_element(
        actor=None, code="DE-IND", name="行业代码", type="string", code_table="GB/T 4754"
    )
    ds = actions.do_publish_dataset(
        actor=w.users["dept_staff_a"],
        code="bench_quality",
        name="质量压测",
        schema=SCHEMA,
        frequency="daily",
        subject_kind="enterprise",
        subject_field="credit_code",
    )
    t0 = time.perf_counter()
    for start in range(0, n, batch):
        recs = []
        for i in range(start, min(n, start + batch)):
            code = make_credit_code("330106", f"{i:09d}")
            if i % 50 == 7:  # a broken check digit
                code = code[:-1] + ("0" if code[-1] != "0" else "1")
            data = {
                "credit_code": code,
                "name": "" if i % 33 == 5 else f"企业{i}",
                "industry_code": "Z9999" if i % 100 == 3 else classes[i % len(classes)],
                "reg_no": f"R{(i - 1 if i % 200 == 9 else i):09d}",
                "status": "存续",
                "capital": 100 + i % 1000,
                "founded": "2020-01-01",
            }
            # stored exactly as a load stores it (presence of the sealed fields beside them)
            data, sealed = _split(ds, {**data, "legal_rep": "王小明"})
            recs.append(
                Record(
                    dataset=ds,
                    key_hash=key_hash(ds.code, [f"{code}#{i}"]),
                    subject_hash=subject_hash(code),
                    data=data,
                    sealed=sealed,
                    version=1,
                )
            )
        Record.objects.bulk_create(recs, batch_size=batch)
        if (start // batch) % 20 == 0:
            log(f"filled {min(n, start + batch):,} rows ({time.perf_counter() - t0:.0f} s)")
    Dataset.objects.filter(pk=ds.pk).update(rows=n, version=1, loaded_at=timezone.now())
    return Dataset.objects.get(pk=ds.pk), time.perf_counter() - t0


@register("exchange-quality", "one data-quality run over an N-row dataset", 1_000_000)
def run(args: Any) -> Result:
    from yiwang.exchange.quality import run_quality

    n = args.size
    ds, fill_s = _fill(n, max(1000, min(args.batch, 10_000)))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    log(f"quality run over {n:,} rows")
    t0 = time.perf_counter()
    import os

    if os.environ.get("YIWANG_BENCH_PROFILE"):
        import cProfile
        import pstats

        prof = cProfile.Profile()
        qrun = prof.runcall(run_quality, ds)
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    else:
        qrun = run_quality(ds)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    checks = {f"{c['rule']}:{c['field']}": c["failed"] for c in qrun.checks if c.get("failed")}
    return {
        "rows": qrun.rows,
        "fill_seconds": round(fill_s, 1),
        "quality_seconds": round(seconds, 2),
        "rows_per_second": round(qrun.rows / seconds) if seconds else None,
        "peak_rss_mb": round(peak_mb, 1),
        "peak_rss_mb_before_run": round(rss_before / 1024, 1),
        "score": float(qrun.score),
        "failed_by_check": checks,
        "goal": GOAL,
        "goal_met": bool(seconds <= 30 * n / 1_000_000 and peak_mb <= 2048),
    }
