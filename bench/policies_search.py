"""policies-search: the 政策通 full-text index (jieba + synonyms + BM25F) over N entries.

The entries are the demo policy items (titles, summaries, condition labels, cited articles)
repeated with numbered titles up to ``--size``; timed: building the index, then 200 queries
(policy-style phrases such as 研发补贴, 贷款贴息, 稳岗) as p50 / p95 per query.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from bench.env import log
from bench.registry import Result, register

QUERIES = [
    "研发补贴",
    "贷款贴息",
    "稳岗",
    "高企奖励",
    "数字化改造",
    "出口",
    "人才",
    "专精特新",
    "房租补贴",
    "上市奖励",
]


@register(
    "policies-search", "policy library full-text index: build and query over N entries", 10_000
)
def run(args: Any) -> Result:
    from yiwang.policies import search
    from yiwang.policies.content import iter_items

    base = []
    for doc, item in iter_items():
        base.append(
            (
                item.title,
                item.summary + "\n" + "\n".join(search.rule_labels(item.rule)),
                doc.title + "\n" + search.clause_text(doc.full_text, item.rule),
            )
        )
    n = int(args.size)
    # every text distinct (numbered), so the segmentation cache does not flatter the build
    entries = [
        search.Entry("item", i, *(f"{t}（{i}）" for t in base[i % len(base)])) for i in range(n)
    ]
    search.tokens("预热")  # load jieba's dictionary outside the timing
    log(f"building the index over {n} entries ({len(base)} distinct texts, each numbered)")
    t0 = time.perf_counter()
    index = search.Index.build(entries)
    build_s = time.perf_counter() - t0
    # the realistic case: one item changed, the index rebuilt (other texts are cached)
    entries[0] = search.Entry(
        "item", 0, "企业研发费用补助（改）", entries[0].summary, entries[0].body
    )
    t0 = time.perf_counter()
    search.Index.build(entries)
    rebuild_s = time.perf_counter() - t0
    times = []
    hits = 0
    for k in range(200):
        q = QUERIES[k % len(QUERIES)]
        t = time.perf_counter()
        found = index.search(q, limit=20)
        times.append((time.perf_counter() - t) * 1000)
        hits += len(found)
    times.sort()
    return {
        "entries": n,
        "distinct_texts": len(base),
        "build_s": round(build_s, 3),
        "build_per_1000_s": round(build_s / n * 1000, 3),
        "rebuild_after_one_change_s": round(rebuild_s, 3),
        "query_p50_ms": round(statistics.median(times), 2),
        "query_p95_ms": round(times[int(len(times) * 0.95) - 1], 2),
        "mean_hits": round(hits / len(times), 1),
    }
