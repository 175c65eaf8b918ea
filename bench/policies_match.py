"""policies-match: 政策通 matching against the database, end to end.

N enterprises (registry rows plus dataset facts: last year's revenue, R&D expense, employees,
tax credit level; 5 % of each left missing) and M published items of 4–8 atoms. Timed:

- ``for_item``: one item over all N enterprises — the fact table read from the database and
  normalised, then the numpy sweep (``matching.for_item``); the two parts are also timed apart;
- ``match_item``: the same plus storing the PolicyMatch rows (what the publish job does);
- ``for_enterprise``: one enterprise against all M items with explanations (p50 / p95 over a
  sample), as the enterprise's "my matches" page does.

The pure engine figures (1,000,000 × 1,000 in memory) are in the ``rules`` benchmark.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from typing import Any

from bench.env import log
from bench.registry import Result, register

INDUSTRIES = ["C3911", "C3912", "C2710", "C3562", "I6510", "I6421", "F5123", "M7320", "L7212"]
SIZES = ["micro", "small", "medium", "large"]
ATOMS = [
    'industry in ["C*"]',
    'industry in ["I65*", "I64*"]',
    'company_size <= "medium"',
    "years_since(founded_on) >= 2",
    "years_since(founded_on) <= 10",
    "revenue@FY-1 >= {r}万元",
    "revenue@FY-1 < {r2}万元",
    "rd_expense@FY-1 >= {d}万元",
    "employees >= {e}人",
    'tax_credit_level >= "B"',
    "registered_capital >= {c}万元",
]


def _rule(rng: random.Random) -> dict[str, Any]:
    picks = rng.sample(ATOMS, rng.randint(4, 8))
    atoms = []
    for i, text in enumerate(picks):
        expr = text.format(
            r=rng.choice([100, 500, 2000]),
            r2=rng.choice([5000, 20000]),
            d=rng.choice([20, 100, 300]),
            e=rng.choice([10, 50, 200]),
            c=rng.choice([50, 500]),
        )
        atoms.append({"id": f"a{i}", "expr": expr})
    if rng.random() < 0.3 and len(atoms) >= 5:
        atoms = [*atoms[:-2], {"id": "either", "any": atoms[-2:]}]
    return {
        "when": {"all": atoms},
        "amount": {
            "unit": "万元",
            "label": {"zh": "补助", "en": "subsidy"},
            "formula": {"mul": [{"fact": "revenue@FY-1"}, {"const": 0.01}]},
        },
    }


def _fill(n: int, m: int, seed: int) -> list[Any]:
    from django.utils import timezone

    from yiwang.accounts.models import Department, Division, DivisionLevel
    from yiwang.policies.matching import normalise_rule
    from yiwang.policies.models import (
        EnterpriseFact,
        ItemStatus,
        PolicyDocument,
        PolicyItem,
        PolicyItemVersion,
    )
    from yiwang.registry.models import Organisation

    rng = random.Random(seed)
    county = Division.objects.create(
        code="330106", prefix="330106", name="西湖区", level=DivisionLevel.COUNTY
    )
    dept = Department.objects.create(code="330106-jxj", name="经信局", division=county)
    today = timezone.localdate()
    fy = f"FY{today.year - 1}"
    orgs = [
        Organisation(
            credit_code=f"91330106MA{i:08d}",
            name=f"企业{i}",
            industry_code=rng.choice(INDUSTRIES),
            size_class=rng.choice(SIZES),
            founded_on=dt.date(1995, 1, 1) + dt.timedelta(days=rng.randrange(11000)),
            registered_capital=rng.choice([10, 100, 500, 1000, 5000]),
        )
        for i in range(n)
    ]
    Organisation.objects.bulk_create(orgs, batch_size=5000)
    ids = list(Organisation.objects.order_by("pk").values_list("pk", flat=True))
    facts = []
    for oid in ids:
        for name, period, value in (
            ("revenue", fy, round(rng.lognormvariate(6, 1.5), 1)),
            ("rd_expense", fy, round(rng.lognormvariate(3, 1.5), 1)),
            ("employees", "", rng.randint(1, 500)),
            ("tax_credit_level", "", rng.choice(["A", "B", "M", "C", "D"])),
        ):
            if rng.random() < 0.05:
                continue  # 5 % missing
            facts.append(
                EnterpriseFact(
                    organisation_id=oid,
                    name=name,
                    period=period,
                    value=value,
                    source="bench",
                    source_kind="dataset",
                    as_of=today,
                )
            )
    EnterpriseFact.objects.bulk_create(facts, batch_size=5000)
    doc = PolicyDocument.objects.create(
        title="bench", issued_on=today, effective_from=today, region=county
    )
    items = []
    for j in range(m):
        code = f"bench-{j}"
        item = PolicyItem.objects.create(
            document=doc,
            code=code,
            title=f"项目{j}",
            benefit_type="subsidy",
            department=dept,
            status=ItemStatus.PUBLISHED,
            closes_on=today + dt.timedelta(days=90),
        )
        v = PolicyItemVersion.objects.create(
            item=item, number=1, rule=normalise_rule(_rule(rng), code), status="published"
        )
        item.published_version = v
        item.save(update_fields=["published_version"])
        items.append(item)
    return items


@register(
    "policies-match",
    "政策通 matching from the database: one item × N enterprises, one enterprise × M items",
    20_000,
)
def run(args: Any) -> Result:
    from yiwang.policies import delivery, matching, profile
    from yiwang.registry.models import Organisation

    n, m = args.size, 200
    t0 = time.perf_counter()
    items = _fill(n, m, seed=7)
    fill_s = time.perf_counter() - t0
    log(f"{n:,} enterprises, {m} items in {fill_s:.1f} s")

    orgs = list(matching.enterprises())
    t0 = time.perf_counter()
    raws = profile.bulk_raw_facts(orgs)
    read_s = time.perf_counter() - t0
    del raws

    times = []
    for item in items[: args.repeat]:
        t0 = time.perf_counter()
        summary = matching.for_item(item)
        times.append(time.perf_counter() - t0)
    for_item_s = min(times)

    t0 = time.perf_counter()
    stored = delivery.match_item(items[0])
    match_item_s = time.perf_counter() - t0

    sample = list(Organisation.objects.order_by("?")[:50])
    lat = []
    for org in sample:
        t0 = time.perf_counter()
        found = matching.for_enterprise(org)
        lat.append((time.perf_counter() - t0) * 1000)
    assert len(found) == m
    lat.sort()
    return {
        "enterprises": n,
        "items": m,
        "fill_s": round(fill_s, 2),
        "facts_read_s": round(read_s, 3),
        "for_item_s": round(for_item_s, 3),
        "for_item_counts": summary.counts,
        "match_item_s": round(match_item_s, 3),
        "match_item_stored": stored["pass"] + stored["unknown"],
        "for_enterprise_p50_ms": round(statistics.median(lat), 1),
        "for_enterprise_p95_ms": round(lat[int(len(lat) * 0.95) - 1], 1),
    }
