"""policies-match: 政策通 matching against the database, end to end.

N enterprises (registry rows on 12 grids in 4 streets, plus dataset facts: last year's
revenue, R&D expense, employees, tax credit level; 5 % of each left missing), seeded in bulk
(``COPY`` on PostgreSQL, ``executemany`` on SQLite — the fact change triggers fire as for any
write), and M published items of 4–8 atoms (M = 1,000 from 100,000 enterprises up, else 200;
``YIWANG_BENCH_POLICY_ITEMS`` overrides). Timed, through the product path
(``factstore`` columns kept fresh from the database; docs/adr/0018-policy-fact-columns.md):

- ``cold_build``: the fact columns built from the database by a process that has none (and
  no snapshot file); ``snapshot_save``: writing them to the data directory (the size on
  disk too); ``cold_start_with_snapshot``: a process with no columns that finds the file —
  memory-mapped load, checksums, then the change log since the file (nothing changed; and
  again after the 1,000 changes below); the first ``for_item`` over the mapped columns;
- ``freshness_check``: ``factstore.current()`` when nothing changed (p50);
- ``for_item``: one new item over all N enterprises (``matching.for_item``: freshness check,
  rule compile, sweep, counts by street and industry, match ids, amounts), p50 over items;
- ``full_sweep``: every open item over every enterprise (``matching.sweep_items``);
- ``refresh_after_changes``: 1,000 stored facts changed by SQL, then the delta refresh; and one
  fact set through ``actions.set_facts`` followed by ``for_item``;
- ``for_enterprise``: one enterprise against all M items with explanations (p50 / p95);
- ``match_item``: storing the PolicyMatch rows of an item matched by a large share of the
  N enterprises (about half), with explanations from the fact columns
  (``delivery.match_rows``) — seconds, rows, and the peak RSS above the RSS before the call
  (sampled every 5 ms); "before": the same rows from the per-entity path over the
  organisations' rows (``delivery.match_rows_per_entity``, the code before the columns),
  for the first ``YIWANG_BENCH_BEFORE_LIMIT`` matched ids (default all; 0 skips it);
- peak RSS of the process (seeding streams its rows, so the peak is the matching's), before
  the ``match_item`` part and at the end (the "before" path holds every row in memory).

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


def _rss_now_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class _PeakRss:
    """The highest RSS seen while the block runs, above the RSS at its start (sampled)."""

    def __enter__(self) -> _PeakRss:
        import threading

        self.start = self.peak = _rss_now_mb()
        self._stop = threading.Event()

        def sample() -> None:
            while not self._stop.wait(0.005):
                self.peak = max(self.peak, _rss_now_mb())

        self._thread = threading.Thread(target=sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_now_mb())

    @property
    def above_mb(self) -> float:
        return round(self.peak - self.start, 1)


BROAD_RULE: dict[str, Any] = {
    "when": {
        "all": [
            {"id": "sme", "expr": 'company_size <= "medium"'},
            {"id": "staff", "expr": "employees >= 150人"},
            {"id": "credit", "expr": 'tax_credit_level >= "C"'},
        ]
    },
    "amount": {
        "unit": "万元",
        "label": {"zh": "补助", "en": "subsidy"},
        "formula": {"mul": [{"fact": "revenue@FY-1"}, {"const": 0.01}]},
    },
}


def _broad_item(template: Any) -> Any:
    """A published item matched (pass or unknown) by about half of the enterprises."""
    from yiwang.policies.matching import normalise_rule
    from yiwang.policies.models import PolicyItem, PolicyItemVersion

    item = PolicyItem.objects.create(
        document=template.document,
        code="bench-broad",
        title="普惠项目",
        benefit_type="subsidy",
        department=template.department,
        status=template.status,
        closes_on=template.closes_on,
    )
    v = PolicyItemVersion.objects.create(
        item=item, number=1, rule=normalise_rule(BROAD_RULE, item.code), status="published"
    )
    item.published_version = v
    item.save(update_fields=["published_version"])
    return item


def _p50(xs: list[float]) -> float:
    return round(statistics.median(xs), 4)


@register(
    "policies-match",
    "政策通 matching from the database (fact columns kept fresh): one item × N, all items × N",
    20_000,
)
def run(args: Any) -> Result:
    from django.db import connection

    from yiwang.policies import actions, factstore, matching
    from yiwang.policies.models import EnterpriseFact
    from yiwang.registry.models import Organisation

    n = args.size
    m = int(os.environ.get("YIWANG_BENCH_POLICY_ITEMS", 1000 if n >= 100_000 else 200))
    t0 = time.perf_counter()
    items = _fill(n, m, seed=7)
    fill_s = time.perf_counter() - t0
    rss_seeded = _rss_mb()
    log(f"{n:,} enterprises, {m} items in {fill_s:.1f} s")

    from yiwang.policies import snapshotfile

    factstore.reset()
    assert snapshotfile.enabled()
    t0 = time.perf_counter()
    snap = factstore.current()  # builds, then saves the file
    build_and_save_s = time.perf_counter() - t0
    st = factstore.store()
    cold_s = st.stats.seconds
    cold_parts = dict(st.stats.parts)
    saved = dict(st.saved)
    del st  # the store holds the built columns: let them go with it
    log(
        f"cold build {cold_s:.2f} s ({snap.n:,} rows, {len(snap.columns)} columns); "
        f"snapshot saved in {saved.get('seconds')} s, {saved.get('bytes', 0) / 1e6:.1f} MB"
    )
    # a new process: no columns in memory, the file on disk
    del snap
    factstore.reset()
    t0 = time.perf_counter()
    snap = factstore.current()
    warm_s = time.perf_counter() - t0
    loaded = dict(factstore.store().loaded)
    assert loaded, factstore.store().stats.reason
    log(f"cold start with the snapshot {warm_s:.3f} s (load {loaded['seconds']} s)")

    checks = []
    for _ in range(20):
        t0 = time.perf_counter()
        factstore.current()
        checks.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    matching.for_item(items[-1])
    first_after_load_s = time.perf_counter() - t0

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
    # a new process after those changes: the file (older) plus the log since
    factstore.reset()
    t0 = time.perf_counter()
    factstore.current()
    warm_delta_s = time.perf_counter() - t0
    warm_delta_kind = factstore.store().stats.kind

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
        "cold_build_and_save_s": round(build_and_save_s, 3),
        "snapshot_save_s": saved.get("seconds"),
        "snapshot_bytes_mb": round(saved.get("bytes", 0) / 1e6, 1),
        "cold_start_with_snapshot_s": round(warm_s, 3),
        "snapshot_load_s": loaded.get("seconds"),
        "cold_start_with_snapshot_after_1000_changes_s": round(warm_delta_s, 3),
        "cold_start_with_snapshot_after_1000_changes_kind": warm_delta_kind,
        "for_item_first_after_load_s": round(first_after_load_s, 4),
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
    out["peak_rss_before_match_item_mb"] = _rss_mb()
    out.update(_match_item(items[0]))
    out["peak_rss_mb"] = _rss_mb()
    out["database"] = connection.vendor
    return out


def _match_item(template: Any) -> dict[str, Any]:
    """``delivery.match_item`` for an item matched by about half of the enterprises: the
    rows from the fact columns (after) and from the organisations' rows (before)."""
    import gc

    from yiwang.policies import delivery, factstore, matching, profile
    from yiwang.policies.models import PolicyMatch

    item = _broad_item(template)
    day = profile.today()
    version = item.published_version
    snap = factstore.current()
    summary = matching.for_item(item, snapshot=snap)
    ids = summary.pass_ids + summary.unknown_ids
    out: dict[str, Any] = {"match_item_matched": len(ids), "match_item_share": len(ids) / snap.n}
    gc.collect()
    with _PeakRss() as mem:
        t0 = time.perf_counter()
        rows = 0
        for chunk in delivery.match_rows(item, version, ids, day, snapshot=snap):
            rows += len(chunk)
        out["match_rows_columns_s"] = round(time.perf_counter() - t0, 3)
    out["match_rows_columns_peak_rss_above_mb"] = mem.above_mb
    t0 = time.perf_counter()
    ex = matching.explain_many(matching.rule_of(version), ids, as_of=day, snapshot=snap)
    out["explain_many_s"] = round(time.perf_counter() - t0, 3)
    out["explain_many_groups"] = ex.groups
    del ex
    gc.collect()
    with _PeakRss() as mem:
        t0 = time.perf_counter()
        stored = delivery.match_item(item)
        out["match_item_s"] = round(time.perf_counter() - t0, 3)
    out["match_item_peak_rss_above_mb"] = mem.above_mb
    out["match_item_stored"] = stored["pass"] + stored["unknown"]
    assert PolicyMatch.objects.filter(item=item).count() == out["match_item_stored"] == rows
    log(f"match_item {out['match_item_s']} s, {rows:,} rows")
    limit = int(os.environ.get("YIWANG_BENCH_BEFORE_LIMIT", len(ids)))
    if limit > 0:
        some = ids[:limit]
        gc.collect()
        with _PeakRss() as mem:
            t0 = time.perf_counter()
            before = delivery.match_rows_per_entity(item, version, some, day)
            out["before_match_rows_per_entity_s"] = round(time.perf_counter() - t0, 3)
        out["before_match_rows_per_entity_ids"] = len(some)
        out["before_match_rows_per_entity_peak_rss_above_mb"] = mem.above_mb
        # the same rows (verdict, score, amount, explanations) as the columns gave
        after = {
            r.organisation_id: r
            for chunk in delivery.match_rows(item, version, some, day, snapshot=snap)
            for r in chunk
        }
        for r in before[:: max(1, len(before) // 20_000)]:
            a = after[r.organisation_id]
            assert (a.verdict, a.score, a.amount, a.missing, a.failed) == (
                r.verdict,
                r.score,
                r.amount,
                r.missing,
                r.failed,
            ), r.organisation_id
        log(f"before: per-entity rows {out['before_match_rows_per_entity_s']} s")
        del before, after
    return out
