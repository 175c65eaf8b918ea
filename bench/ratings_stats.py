"""ratings-stats: the public 好差评 statistics and the rectification sweep over N ratings.

N ratings of 50 departments (levels drawn 50/25/10/9/6 % from 非常满意 to 非常不满意, 2 % of
them excluded on appeal) spread over a year, each with its invitation; every 差评 has a
rectification, a third of them rectified, a tenth past their deadline. Timed: the public
statistics over all departments (all time, and one month), and one sweep that marks the
overdue ones (each audited, the notices queued) — the code the page and the periodic job run.
The public page serves the statistics from a 60-second cache dropped on every change; the
uncached computation is what is timed, the cached read is reported beside it.
Needs ``yiwang.ratings`` in INSTALLED_APPS.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from typing import Any

from bench.env import log
from bench.registry import Result, register

DEPARTMENTS = 50
BATCH = 5000
DUE = dt.timedelta(days=14)


def _fill(n: int) -> dict[str, int]:
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from yiwang.accounts.models import Department, Division, DivisionLevel, User
    from yiwang.ratings.models import Rating, RatingInvitation, Rectification

    county = Division.objects.create(
        code="330106", prefix="330106", name="西湖区", level=DivisionLevel.COUNTY
    )
    depts = [
        Department.objects.create(code=f"330106-d{i:02d}", name=f"部门{i:02d}", division=county)
        for i in range(DEPARTMENTS)
    ]
    pw = make_password("Bench#2026")
    raters = [User.objects.create(username=f"rater{i}", password=pw) for i in range(100)]
    rng = random.Random(20261201)
    now = timezone.now()
    levels = rng.choices("54321", weights=[50, 25, 10, 9, 6], k=n)
    counts = {"negative": 0, "overdue": 0}
    for start in range(0, n, BATCH):
        stop = min(n, start + BATCH)
        invs, ratings = [], []
        for i in range(start, stop):
            at = now - dt.timedelta(minutes=rng.randrange(365 * 24 * 60))
            invs.append(
                RatingInvitation(
                    service_ref=f"bench.service:{i}",
                    source="bench",
                    matter_name="事项",
                    department=depts[i % DEPARTMENTS],
                    rater=raters[i % len(raters)],
                    completed_at=at - dt.timedelta(hours=1),
                )
            )
        RatingInvitation.objects.bulk_create(invs)
        for inv, i in zip(invs, range(start, stop), strict=True):
            ratings.append(
                Rating(
                    invitation=inv,
                    service_ref=inv.service_ref,
                    department_id=inv.department_id,
                    rater_id=inv.rater_id,
                    level=levels[i],
                    problems=["slow"] if levels[i] in "12" else [],
                    rated_at=inv.completed_at + dt.timedelta(hours=1),
                    excluded=rng.random() < 0.02,
                )
            )
        Rating.objects.bulk_create(ratings)
        rects = []
        for r in ratings:
            if r.level not in "12":
                continue
            counts["negative"] += 1
            k = counts["negative"] % 10
            rects.append(
                Rectification(
                    rating=r,
                    department_id=r.department_id,
                    working_days=10,
                    opened_at=r.rated_at,
                    # k == 0: open and past its deadline (the sweep marks it overdue);
                    # k == 1: rectified but never confirmed (the sweep closes the old ones);
                    # the rest rectified on time and confirmed.
                    due_at=now - dt.timedelta(hours=1) if k == 0 else r.rated_at + DUE,
                    status={0: "open", 1: "rectified"}.get(k, "confirmed"),
                    rectified_at=None if k == 0 else r.rated_at + dt.timedelta(days=3),
                )
            )
            counts["overdue"] += int(k == 0)
        Rectification.objects.bulk_create(rects)
        log(f"{stop:,} ratings")
    return counts


def _timed(fn: Any, repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


@register("ratings-stats", "好差评 statistics and rectification sweep over N ratings", 200_000)
def run(args: Any) -> Result:
    from django.db import connection
    from django.utils import timezone

    from yiwang.ratings.actions import do_sweep_rectifications
    from yiwang.ratings.selectors import compute_public_statistics, public_statistics

    n = args.size
    t0 = time.perf_counter()
    counts = _fill(n)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    fill_s = time.perf_counter() - t0
    log(f"{n:,} ratings in {fill_s:.1f} s")
    all_s, rows = _timed(compute_public_statistics, args.repeat)
    end = timezone.now()
    month_s, _ = _timed(
        lambda: compute_public_statistics(start=end - dt.timedelta(days=30), end=end), args.repeat
    )
    public_statistics()
    cached_s, _ = _timed(public_statistics, args.repeat)
    t0 = time.perf_counter()
    swept = do_sweep_rectifications()
    sweep_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = do_sweep_rectifications()
    idle_s = time.perf_counter() - t0
    return {
        "ratings": n,
        "departments": len(rows),
        "negative": counts["negative"],
        "fill_s": round(fill_s, 3),
        "statistics_all_time_s": round(all_s, 4),
        "statistics_one_month_s": round(month_s, 4),
        "statistics_cached_s": round(cached_s, 5),
        "sweep_s": round(sweep_s, 3),
        "marked_overdue": swept["overdue"],
        "closed_unconfirmed": swept["closed"],
        "second_sweep_s": round(idle_s, 4),
        "second_sweep": again,
        "goal": "uncached statistics over 200,000 ratings in <= 1 s; a cached page in < 1 ms",
    }
