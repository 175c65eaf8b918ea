"""cases-sweep: the deadline sweep over N open cases, set-based in the database.

The cases are generated inside the database (``generate_series`` on PostgreSQL, a recursive
CTE on SQLite), so building a million rows takes seconds. The mix: 10 % already past due
(they turn red and are escalated), 10 % past the warning (yellow), 5 % suspended with a
passed deadline (left alone), the rest green. The timed figure is one
``do_sweep_deadlines`` call — the same code the periodic job runs — then a second call that
finds nothing left to do.
"""

# ruff: noqa: S608 -- SQL text from our own table and column names; values are parameters
from __future__ import annotations

import time
from typing import Any

from bench.env import log
from bench.registry import Result, register


def _fill(n: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from yiwang.accounts.models import Department, Division, DivisionLevel
    from yiwang.cases.models import Case, Category

    county = Division.objects.create(
        code="330106", prefix="330106", name="西湖区", level=DivisionLevel.COUNTY
    )
    dept = Department.objects.create(code="330106-cgj", name="城管局", division=county)
    Department.objects.create(
        code="330106-ccc", name="指挥中心", division=county, kind=Department.Kind.COMMAND_CENTRE
    )
    cat = Category.objects.get(kind="component", code="01004")
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    table = Case._meta.db_table
    cols = (
        "category_id, state_id, channel, request_type, priority, description, attributes, "
        "photos, media_url, coord_system, address, division_prefix, anonymous, contact_name, "
        "contact_phone, contact_email, device_id, account_id, token, department_id, "
        "routing_reason, sla_stage, stage_started_at, warn_at, due_at, sla_level, "
        "suspended_at, overdue_count, extension_reason, created_at, updated_at, "
        "rating_comment, under_review"
    )
    if connection.vendor == "postgresql":
        series = "generate_series(1, %s) AS g(i)"
        uuid_expr = "md5(i::text)::uuid"
        hour = "interval '1 hour'"
        off = (
            "%s::timestamptz + (CASE WHEN i %% 10 = 0 THEN -1 WHEN i %% 10 = 1 THEN 1 "
            f"ELSE 48 END) * {hour}"
        )
        warn = f"%s::timestamptz + (CASE WHEN i %% 10 IN (0, 1) THEN -2 ELSE 24 END) * {hour}"
        susp = "CASE WHEN i %% 20 = 2 THEN %s::timestamptz ELSE NULL END"
        prefix = "'330106001001' || lpad((i %% 100)::text, 3, '0')"
        false = "false"
        sql = (
            f"INSERT INTO {table} ({cols}) SELECT %s, 'dispatched', 'portal', '', 'general', "
            f"'井盖破损', '{{}}', '[]', '', 'wgs84', '', {prefix}, {false}, '', '', '', '', '', "
            f"{uuid_expr}, %s, 'bench', 'handle', %s, {warn}, {off}, 'green', {susp}, 0, '', "
            "%s, %s, "
            f"'', {false} FROM {series}"
        )
        params = [cat.pk, dept.pk, now, now, now, now, now, now, n]
        with connection.cursor() as cur:
            cur.execute(sql, params)
        return

    # SQLite: datetimes are text; compute the offsets in Python-chosen literals.
    def ts(hours: float) -> str:
        import datetime as dt

        return str(adapt(now + dt.timedelta(hours=hours)))

    sql = (
        f"WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < %s) "
        f"INSERT INTO {table} ({cols}) SELECT %s, 'dispatched', 'portal', '', 'general', "
        "'井盖破损', '{}', '[]', '', 'wgs84', '', '330106001001' || printf('%%03d', i %% 100), "
        "0, '', '', '', '', '', printf('%%032x', i), %s, 'bench', 'handle', %s, "
        "CASE WHEN i %% 10 IN (0, 1) THEN %s ELSE %s END, "
        "CASE WHEN i %% 10 = 0 THEN %s WHEN i %% 10 = 1 THEN %s ELSE %s END, 'green', "
        "CASE WHEN i %% 20 = 2 THEN %s ELSE NULL END, 0, '', %s, %s, '', 0 FROM g"
    )
    params = [n, cat.pk, dept.pk, ts(0), ts(-2), ts(24), ts(-1), ts(1), ts(48), ts(0), ts(0), ts(0)]
    with connection.cursor() as cur:
        cur.execute(sql, params)


def _hot_updates() -> dict[str, Any] | None:
    """How many of the sweep's row updates were HOT (no index entries written); PostgreSQL."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cur:
        cur.execute("SELECT pg_stat_force_next_flush()")
        cur.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = %s",
            ["cases_case"],
        )
        row = cur.fetchone()
    return {"updated": row[0], "hot": row[1]} if row else None


@register("cases-sweep", "deadline sweep (yellow/red/escalation) over N open cases", 1_000_000)
def run(args: Any) -> Result:
    from django.db import connection

    from yiwang.cases.actions import do_sweep_deadlines
    from yiwang.cases.models import Case

    n = args.size
    t0 = time.perf_counter()
    _fill(n)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {Case._meta.db_table}")
    else:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    fill_s = time.perf_counter() - t0
    log(f"{n:,} cases in {fill_s:.1f} s; sweeping")
    t0 = time.perf_counter()
    first = do_sweep_deadlines()
    sweep_s = time.perf_counter() - t0
    hot = _hot_updates()
    t0 = time.perf_counter()
    second = do_sweep_deadlines()
    idle_s = time.perf_counter() - t0
    return {
        "open_cases": n,
        "fill_s": round(fill_s, 3),
        "sweep_s": round(sweep_s, 3),
        "cases_per_s": round(n / sweep_s) if sweep_s else None,
        "yellow": first["yellow"],
        "red": first["red"],
        "escalated": first["escalated"],
        "second_sweep_s": round(idle_s, 3),
        "second_sweep": second,
        "row_updates": hot,
        "goal": "1,000,000 open cases in <= 10 s",
    }
