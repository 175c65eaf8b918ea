"""registry-import: N residents from a CSV through the bulk import, then the same file again.

The file is generated first (not timed): valid resident IDs (``make_resident_id``), names,
mobile numbers, household numbers and WGS84 coordinates inside a generated layer of 60 grids;
one row in a thousand carries a wrong ID check character, so the refusal path runs too.
The timed import does everything a real one does: stream and parse, validate IDs through
python-stdnum, dedupe inside the file, SM4-GCM encryption of ID and phone, HMAC-SM3 blind
indexes, vectorised grid assignment, insert (COPY on PostgreSQL), history rows, the report
CSV and one audit record. The second import of the same file must leave every row unchanged.
Peak memory is the process's maximum resident set size (``getrusage``).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import resource
import threading
import time
from pathlib import Path
from typing import Any

from bench.env import log
from bench.registry import register

ORIGIN = (120.10, 30.30)
COLS, ROWS, SIZE = 10, 6, 0.004  # 60 grids of ~400 m
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂文华建国玉红梅志海燕晓东"
DAYS = 365 * 80


def _cpu_split() -> tuple[float, float]:
    """CPU time of this process, and of its finished children (the import's workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the import's worker processes)."""
    return sum(_cpu_split())


class _ServerCpu:
    """CPU seconds of this database's PostgreSQL backend processes while an import runs, when
    the server runs on this machine: ``/proc`` is sampled every half second (the import writes
    through a connection of its own, closed when it ends: its last half second may be
    missed). ``seconds`` is None on SQLite or with a remote server."""

    def __init__(self) -> None:
        from django.db import connection

        self.on = connection.vendor == "postgresql" and Path("/proc/self/stat").exists()
        self.tag = f" {connection.settings_dict['NAME']} ".encode()
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _sample(self) -> dict[int, float]:
        out: dict[int, float] = {}
        tick = os.sysconf("SC_CLK_TCK")
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                cmd = Path(f"/proc/{d}/cmdline").read_bytes()
                if not cmd.startswith(b"postgres: ") or self.tag not in cmd:
                    continue
                fields = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(d)] = (int(fields[11]) + int(fields[12])) / tick
        return out

    def _loop(self) -> None:
        while not self.stop.wait(0.5):
            for pid, cpu in self._sample().items():
                self.first.setdefault(pid, 0.0)  # a backend that started meanwhile
                self.last[pid] = cpu

    def __enter__(self) -> _ServerCpu:
        if self.on:
            self.first = self._sample()
            self.last = dict(self.first)
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.on:
            self.stop.set()
            self.thread.join()
            self.last.update(self._sample())

    @property
    def seconds(self) -> float | None:
        if not self.on:
            return None
        return sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items())


def _workers() -> int | None:
    """``YIWANG_BENCH_IMPORT_WORKERS`` (0: clean and encrypt in the importing process);
    default: the import's own default."""
    raw = os.environ.get("YIWANG_BENCH_IMPORT_WORKERS", "")
    return int(raw) if raw else None


def _batch_size() -> int:
    """``YIWANG_BENCH_IMPORT_BATCH`` (rows per transaction); default (0): the import's own."""
    raw = os.environ.get("YIWANG_BENCH_IMPORT_BATCH", "")
    return int(raw) if raw else 0


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _peak_rss_children_mb() -> float:
    """The largest finished child's peak (the import's worker processes)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _grids() -> None:
    from yiwang.accounts.actions import do_add_community
    from yiwang.accounts.models import Division, DivisionLevel
    from yiwang.grid import actions as grid_actions
    from yiwang.grid.tests.factories import tiled_collection

    street = Division.objects.create(
        code="330106001", prefix="330106001", name="基准街道", level=DivisionLevel.STREET
    )
    comm = do_add_community(actor=None, street=street, seq=1, name="基准社区")
    grid_actions.do_import_grids(
        actor=None,
        data=tiled_collection([comm.code], cols=COLS, rows=ROWS, origin=ORIGIN, size=SIZE),
    )


def write_residents(path: Path, n: int, *, seed: int = 20) -> int:
    """A residents CSV of ``n`` rows (streamed to disk); returns how many rows are bad."""
    import random

    from yiwang.core.ids import make_resident_id

    rng = random.Random(seed)
    start = dt.date(1940, 1, 1)
    bad = 0
    x0, y1 = ORIGIN
    w, h = COLS * SIZE, ROWS * SIZE
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["姓名", "身份证号", "手机号", "户号", "经度", "纬度"])
        for i in range(n):
            birth = start + dt.timedelta(days=(i * 7919) % DAYS)
            idn = make_resident_id("330106", birth, i // DAYS)
            if i % 1000 == 999:
                idn = idn[:-1] + ("0" if idn[-1] != "0" else "1")
                bad += 1
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
            out.writerow(
                [
                    name,
                    idn,
                    f"1{rng.choice('3578')}{i:09d}",
                    f"H{i // 3:08d}",
                    f"{x0 + rng.uniform(0.0001, w - 0.0001):.6f}",
                    f"{y1 - rng.uniform(0.0001, h - 0.0001):.6f}",
                ]
            )
    return bad


def _one(path: Path, report: Path) -> dict[str, Any]:
    from yiwang.registry.importing import jobs, runner

    job = jobs.do_create_import_job(
        actor=None, entity_type="person", file_name=path.name, file_path=str(path)
    )
    last = [0.0]

    def progress(p: Any) -> None:
        if p.elapsed - last[0] >= 10 or p.rows >= p.estimated:
            last[0] = p.elapsed
            log(f"  {p.rows:,}/{p.estimated:,} rows, {p.rows / max(p.elapsed, 1e-9):,.0f} rows/s")

    workers = _workers()
    me0, kids0 = _cpu_split()
    t0 = time.perf_counter()
    with _ServerCpu() as server:
        result = jobs.do_run_import_job(
            job_id=job.pk,
            on_progress=progress,
            report_path=report,
            workers=workers,
            batch_size=_batch_size(),
        )
        seconds = time.perf_counter() - t0
        me1, kids1 = _cpu_split()
    cpu = me1 - me0 + kids1 - kids0
    assert result is not None
    return {
        "rows": result.rows,
        "workers": jobs.default_workers() if workers is None else workers,
        "batch_size": _batch_size() or runner.people_batch(),
        "seconds": round(seconds, 3),
        "rows_per_s": round(result.rows / seconds, 1),
        "cpu_seconds": round(cpu, 3),
        "rows_per_cpu_s": round(result.rows / cpu, 1) if cpu else None,
        # per row: the importing process (database writes) and the worker processes
        "cpu_us_per_row_importer": round((me1 - me0) / max(result.rows, 1) * 1e6, 1),
        "cpu_us_per_row_workers": round((kids1 - kids0) / max(result.rows, 1) * 1e6, 1),
        # PostgreSQL on this machine: the server process that ran the import's statements
        "cpu_us_per_row_server": (
            round(server.seconds / max(result.rows, 1) * 1e6, 1)
            if server.seconds is not None
            else None
        ),
        **result.counts,
        "peak_rss_mb_after": round(_peak_rss_mb(), 1),
    }


@register(
    "registry-import",
    "N residents from CSV: validate, encrypt, blind-index, grid, insert; then re-import",
    default_size=1_000_000,
)
def run(args: Any) -> dict[str, Any]:
    from django.conf import settings

    from yiwang.registry.models import ChangeRecord, Person

    n = args.size
    work = Path(settings.DATA_DIR) / "bench-import"
    work.mkdir(parents=True, exist_ok=True)
    path = work / "residents.csv"
    log(f"generating {n:,} residents")
    t0 = time.perf_counter()
    bad = write_residents(path, n)
    gen_s = time.perf_counter() - t0
    _grids()
    rss_before = _peak_rss_mb()
    log(f"import 1 ({path.stat().st_size / 1e6:,.0f} MB)")
    first = _one(path, work / "first-report.csv")
    log("import 2 (same file: every row unchanged)")
    second = _one(path, work / "second-report.csv")
    stored = Person.objects.count()
    history = ChangeRecord.objects.filter(entity_type="person").count()
    if stored != n - bad or first["accepted"] != n - bad or second["unchanged"] != n - bad:
        raise RuntimeError(f"unexpected counts: {first} {second} stored={stored}")
    return {
        "rows": n,
        "bad_rows": bad,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "generate_seconds": round(gen_s, 1),
        "import": first,
        "reimport_unchanged": second,
        "rows_per_s": first["rows_per_s"],
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "peak_rss_mb_worker": round(_peak_rss_children_mb(), 1),
        "peak_rss_mb_before_import": round(rss_before, 1),
        "people_stored": stored,
        "history_rows": history,
        "goal": {"rows_per_s": 20000, "peak_rss_mb": 2048},
    }
