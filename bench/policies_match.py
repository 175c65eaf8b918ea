"""policies-match: 政策通 matching against the database, end to end.

N enterprises (registry rows on 12 grids in 4 streets, plus dataset facts: last year's
revenue, R&D expense, employees, tax credit level; 5 % of each left missing), seeded in bulk
(``COPY`` on PostgreSQL, ``executemany`` on SQLite — the fact change triggers fire as for any
write), and M published items of 4–8 atoms (M = 1,000 from 100,000 enterprises up, else 200;
``YIWANG_BENCH_POLICY_ITEMS`` overrides). Timed, through the product path
(``factstore`` columns kept fresh from the database; docs/adr/0018-policy-fact-columns.md):

- ``cold_build``: the fact columns built from the database by a process that has none;
- ``freshness_check``: ``factstore.current()`` when nothing changed (p50);
- ``for_item``: one new item over all N enterprises (``matching.for_item``: freshness check,
  rule compile, sweep, counts by street and industry, match ids, amounts), p50 over items;
- ``full_sweep``: every open item over every enterprise (``matching.sweep_items``);
- ``refresh_after_changes``: 1,000 stored facts changed by SQL, then the delta refresh; and one
  fact set through ``actions.set_facts`` followed by ``for_item``;
- ``for_enterprise``: one enterprise against all M items with explanations (p50 / p95);
- ``match_item`` (N ≤ 50,000 only): ``for_item`` plus storing the PolicyMatch rows;
- peak RSS of the process (seeding streams its rows, so the peak is the matching's).

The pure engine figures (1,000,000 × 1,000 in memory) are in the ``rules`` benchmark.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import resource
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


STREETS = 4
COMMUNITIES = 3  # per street, one grid each


def _grids() -> list[int]:
    from yiwang.accounts.models import Division, DivisionLevel
    from yiwang.grid.models import Grid

    ids = []
    for s in range(1, STREETS + 1):
        street = Division.objects.create(
            code=f"330106{s:03d}",
            prefix=f"330106{s:03d}",
            name=f"街道{s}",
            level=DivisionLevel.STREET,
        )
        for c in range(1, COMMUNITIES + 1):
            code = f"{street.code}{c:03d}"
            comm = Division.objects.create(
                code=code,
                prefix=code,
                name=f"社区{s}-{c}",
                level=DivisionLevel.COMMUNITY,
                parent=street,
            )
            g = Grid.objects.create(code=f"{code}001", name="网格", community=comm, geometry={})
            ids.append(g.pk)
    return ids


def _copy_rows(table: str, columns: list[str], rows: Any) -> None:
    """Insert many rows at once: COPY on PostgreSQL, executemany on SQLite."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
            batch: list[Any] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= 20000:
                    cur.executemany(sql, batch)
                    batch.clear()
            if batch:
                cur.executemany(sql, batch)


def _seed_enterprises(n: int, rng: random.Random, today: dt.date) -> None:
    from django.db import connection
    from django.utils import timezone

    from yiwang.policies.models import EnterpriseFact
    from yiwang.registry.models import Organisation

    grids = _grids()
    template = Organisation(credit_code="x", name="x")
    fields = [f for f in Organisation._meta.concrete_fields if not f.primary_key]
    fixed = {
        f.column: f.get_db_prep_save(
            timezone.now() if f.name == "updated_at" else getattr(template, f.attname), connection
        )
        for f in fields
    }
    cols = list(fixed)
    vary = (
        "credit_code",
        "name",
        "industry_code",
        "size_class",
        "founded_on",
        "registered_capital",
        "grid_id",
    )
    idx = [cols.index(c) for c in vary]
    base_row = [fixed[c] for c in cols]
    sqlite = connection.vendor == "sqlite"

    def orgs() -> Any:
        for i in range(n):
            row = list(base_row)
            founded = dt.date(1995, 1, 1) + dt.timedelta(days=rng.randrange(11000))
            for k, v in zip(
                idx,
                (
                    f"91330106MA{i:08d}",
                    f"企业{i}",
                    rng.choice(INDUSTRIES),
                    rng.choice(SIZES),
                    founded.isoformat() if sqlite else founded,
                    rng.choice([10, 100, 500, 1000, 5000]),
                    rng.choice(grids),
                ),
                strict=True,
            ):
                row[k] = v
            yield row

    _copy_rows(Organisation._meta.db_table, cols, orgs())
    ids = list(Organisation.objects.order_by("pk").values_list("pk", flat=True))
    fy = f"FY{today.year - 1}"
    now = fixed["updated_at"]
    day = today.isoformat() if sqlite else today

    def facts() -> Any:
        for oid in ids:
            for name, period, value in (
                ("revenue", fy, round(rng.lognormvariate(6, 1.5), 1)),
                ("rd_expense", fy, round(rng.lognormvariate(3, 1.5), 1)),
                ("employees", "", rng.randint(1, 500)),
                ("tax_credit_level", "", rng.choice(["A", "B", "M", "C", "D"])),
            ):
                if rng.random() < 0.05:
                    continue  # 5 % missing
                yield (oid, name, period, json.dumps(value), "bench", "dataset", day, now)

    _copy_rows(
        EnterpriseFact._meta.db_table,
        [
            "organisation_id",
            "name",
            "period",
            "value",
            "source",
            "source_kind",
            "as_of",
            "updated_at",
        ],
        facts(),
    )
    with connection.cursor() as cur:  # as autovacuum would after a load this size
        cur.execute("ANALYZE")


def _fill(n: int, m: int, seed: int) -> list[Any]:
    from django.utils import timezone

    from yiwang.accounts.models import Department, Division, DivisionLevel
    from yiwang.policies.matching import normalise_rule
    from yiwang.policies.models import (
        ItemStatus,
        PolicyDocument,
        PolicyItem,
        PolicyItemVersion,
    )

    rng = random.Random(seed)
    county = Division.objects.create(
        code="330106", prefix="330106", name="西湖区", level=DivisionLevel.COUNTY
    )
    dept = Department.objects.create(code="330106-jxj", name="经信局", division=county)
    today = timezone.localdate()
    _seed_enterprises(n, rng, today)
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


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _p50(xs: list[float]) -> float:
    return round(statistics.median(xs), 4)


@register(
    "policies-match",
    "政策通 matching from the database (fact columns kept fresh): one item × N, all items × N",
    20_000,
)
def run(args: Any) -> Result:
    from django.db import connection

    from yiwang.policies import actions, delivery, factstore, matching
    from yiwang.policies.models import EnterpriseFact
    from yiwang.registry.models import Organisation

    n = args.size
    m = int(os.environ.get("YIWANG_BENCH_POLICY_ITEMS", 1000 if n >= 100_000 else 200))
    t0 = time.perf_counter()
    items = _fill(n, m, seed=7)
    fill_s = time.perf_counter() - t0
    rss_seeded = _rss_mb()
    log(f"{n:,} enterprises, {m} items in {fill_s:.1f} s")

    factstore.reset()
    t0 = time.perf_counter()
    snap = factstore.current()
    cold_s = time.perf_counter() - t0
    cold_parts = dict(factstore.store().stats.parts)
    log(f"cold build {cold_s:.2f} s ({snap.n:,} rows, {len(snap.columns)} columns)")

    checks = []
    for _ in range(20):
        t0 = time.perf_counter()
        factstore.current()
        checks.append(time.perf_counter() - t0)

    times = []
    for item in items[: max(args.repeat, 5)]:
        t0 = time.perf_counter()
        summary = matching.for_item(item)
        times.append(time.perf_counter() - t0)
    log(f"for_item p50 {_p50(times)} s")

    sweeps = []
    for _ in range(2):
        t0 = time.perf_counter()
        sw = matching.sweep_items()
        counts = sw.counts()
        sweeps.append(time.perf_counter() - t0)
    matched = sum(c["pass"] for c in counts.values())
    log(f"full sweep {sweeps}")

    # 1,000 stored facts changed by SQL (the triggers log them), then the delta refresh
    fact_ids = list(
        EnterpriseFact.objects.filter(name="employees")
        .order_by("?")
        .values_list("pk", flat=True)[:1000]
    )
    EnterpriseFact.objects.filter(pk__in=fact_ids).update(value=250)
    t0 = time.perf_counter()
    factstore.current()
    delta_s = time.perf_counter() - t0
    delta_orgs = factstore.store().stats.organisations

    # one fact through the action, seen by the next for_item
    org = Organisation.objects.order_by("pk").first()
    actions.set_facts(None, org, {"employees": 499}, source="bench", notify=False)
    t0 = time.perf_counter()
    after = matching.for_item(items[0])
    after_set_s = time.perf_counter() - t0
    assert factstore.current().value("employees", org.pk) == 499.0
    del after

    out: dict[str, Any] = {
        "enterprises": n,
        "items": m,
        "fill_s": round(fill_s, 2),
        "cold_build_s": round(cold_s, 3),
        "cold_build_parts_s": cold_parts,
        "columns": len(snap.columns),
        "column_bytes_mb": round(snap.nbytes() / 1e6, 1),
        "freshness_check_p50_ms": round(_p50(checks) * 1000, 3),
        "for_item_p50_s": _p50(times),
        "for_item_max_s": round(max(times), 4),
        "for_item_counts": summary.counts,
        "full_sweep_s": [round(x, 3) for x in sweeps],
        "full_sweep_atoms": [sw.result.atoms_total, sw.result.atoms_distinct],
        "full_sweep_passes": matched,
        "refresh_1000_fact_changes_s": round(delta_s, 4),
        "refresh_organisations": delta_orgs,
        "set_facts_then_for_item_s": round(after_set_s, 4),
        "rss_after_seed_mb": rss_seeded,
    }

    sample = list(Organisation.objects.order_by("?")[:20])
    lat = []
    for o in sample:
        t0 = time.perf_counter()
        found = matching.for_enterprise(o)
        lat.append((time.perf_counter() - t0) * 1000)
    assert len(found) == m
    lat.sort()
    out["for_enterprise_p50_ms"] = round(statistics.median(lat), 1)
    out["for_enterprise_p95_ms"] = round(lat[int(len(lat) * 0.95) - 1], 1)
    if n <= 50_000:
        t0 = time.perf_counter()
        stored = delivery.match_item(items[0])
        out["match_item_s"] = round(time.perf_counter() - t0, 3)
        out["match_item_stored"] = stored["pass"] + stored["unknown"]
    out["peak_rss_mb"] = _rss_mb()
    out["database"] = connection.vendor
    return out
