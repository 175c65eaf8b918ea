"""The import loop: stream rows, clean them in batches, write each batch in one transaction.

Per batch (``batch_size`` rows): clean every row; refuse duplicates of a natural key seen
earlier in the file (naming the earlier row); convert coordinates to WGS84 and assign grids
with vectorised calls; look the natural keys up in one query; store new rows, update changed
ones, count unchanged ones (so re-importing a file changes nothing); write history in bulk.
A batch that fails in the database is rolled back alone, retried once, and otherwise reported
row by row; the other batches' work stays.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gc
import json
import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import JSONField
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from yiwang.accounts.roles import Cap
from yiwang.grid.coords import to_wgs84
from yiwang.grid.selectors import grid_ids_for, grid_index
from yiwang.registry.history import HISTORY_FIELDS
from yiwang.registry.importing import people, writing
from yiwang.registry.importing import workers as workers_mod
from yiwang.registry.importing.handlers import HANDLERS, Handler, Item, mask_key
from yiwang.registry.importing.reading import open_source
from yiwang.registry.importing.schema import SCHEMAS, match_header
from yiwang.registry.importing.shown import LOCATION, shower, splice_json
from yiwang.registry.models import Person

log = logging.getLogger(__name__)

STATUSES = ("accepted", "updated", "unchanged", "refused")

#: Field types whose raw SQLite values compare equal to what the importer cleans (JSON text
#: and ISO dates are converted by ``existing``); other types go through the ORM there.
RAW_SAFE = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "CharField",
        "TextField",
        "IntegerField",
        "BigIntegerField",
        "PositiveIntegerField",
        "FloatField",
        "ForeignKey",
        "DateField",
        "JSONField",
    }
)


@dataclass
class Progress:
    rows: int
    estimated: int
    counts: dict[str, int]
    elapsed: float


@dataclass
class ImportResult:
    entity_type: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    rows: int = 0
    encoding: str = ""
    encoding_detected: bool = False
    ignored_columns: list[str] = field(default_factory=list)
    failed_batches: int = 0
    seconds: float = 0.0
    report_path: str = ""
    dry_run: bool = False
    #: accepted or updated rows left in no grid (no location): no area lists them
    no_grid: int = 0
    #: rows skipped as the template's unchanged example row
    skipped: int = 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity_type": self.entity_type,
            "rows": self.rows,
            **self.counts,
            "encoding": self.encoding,
            "encoding_detected": self.encoding_detected,
            "ignored_columns": self.ignored_columns,
            "failed_batches": self.failed_batches,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "report_path": self.report_path,
            "dry_run": self.dry_run,
            "no_grid": self.no_grid,
            "skipped": self.skipped,
        }


def default_report_path(name: str) -> Path:
    d = Path(settings.DATA_DIR) / "imports"
    d.mkdir(parents=True, exist_ok=True)
    return d / f"{name}-report.csv"


def no_grid_warning() -> str:
    return _(
        "Stored without a location: no coordinates, and no place with coordinates to take "
        "them from. The record is in no grid, so no area lists it; add coordinates or a place "
        "code that has them."
    )


class ReportWriter:
    """The result report: one line per refused (and, optionally, updated) row, then totals.
    UTF-8 with BOM so Excel shows the Chinese reasons.

    Warnings keep the five columns: an accepted row left in no grid gets a line of its own
    (status ``accepted``, field ``grid``, the warning as reason); an updated row left in no
    grid carries the warning in its line's (otherwise empty) reason. Those lines are written
    only when the territory has grids (``grid_notes``); without any grid every row is in
    none, and one note line after the totals says so. The template's example row, skipped,
    gets a line with status ``skipped``. Extra ``total`` lines (``no_grid``, ``skipped``)
    appear only when not zero."""

    HEADER = ("row", "key", "status", "field", "reason")

    def __init__(
        self, path: Path, *, include_updated: bool = True, grid_notes: bool = True
    ) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = path.open("w", encoding="utf-8-sig", newline="")
        self.w = csv.writer(self.fh)
        self.w.writerow(self.HEADER)
        self.include_updated = include_updated
        self.grid_notes = grid_notes
        self._warning = ""

    def warning(self) -> str:
        if not self._warning:
            self._warning = no_grid_warning()
        return self._warning

    def items(self, items: Sequence[Item]) -> None:
        w = self.w
        notes = self.grid_notes
        for it in items:
            if it.status == "refused":
                for fld, msg in it.errors:
                    w.writerow((it.row, it.shown_key, "refused", fld, msg))
            elif it.status == "updated" and self.include_updated:
                w.writerow(
                    (
                        it.row,
                        it.shown_key,
                        "updated",
                        " ".join(sorted(it.changes or {})),
                        self.warning() if notes and it.no_grid else "",
                    )
                )
            elif notes and it.no_grid:
                w.writerow((it.row, it.shown_key, it.status, "grid", self.warning()))

    def skipped(self, row: int, key: str) -> None:
        self.w.writerow(
            (
                row,
                key,
                "skipped",
                "",
                _("The template's example row, left unchanged: skipped, not imported."),
            )
        )

    def totals(self, result: ImportResult) -> None:
        self.w.writerow(())
        for status in STATUSES:
            self.w.writerow(("total", "", status, "", result.counts[status]))
        self.w.writerow(("total", "", "rows", "", result.rows))
        if result.no_grid:
            self.w.writerow(("total", "", "no_grid", "", result.no_grid))
        if result.skipped:
            self.w.writerow(("total", "", "skipped", "", result.skipped))
        if result.dry_run:
            self.w.writerow(("", "", "dry run", "", _("Dry run: nothing was written.")))
        if result.no_grid and not self.grid_notes:
            self.w.writerow(
                (
                    "",
                    "",
                    "no grids",
                    "",
                    _(
                        "No grids are defined: no stored row is in a grid, so no area lists "
                        "them until grids are imported and the records located again."
                    ),
                )
            )

    def close(self) -> None:
        self.fh.close()


def undecodable() -> str:
    return _(
        "The row holds characters that do not decode: the file is probably in another "
        "encoding (try GBK/GB18030 or UTF-8)."
    )


def prepare_rows(
    handler: Handler, rows: Sequence[tuple[int, list[str]]], index: dict[str, int], *, seal: bool
) -> list[Item]:
    """The per-row work that needs no database: clean, convert coordinates to WGS84, and (when
    ``seal``) encrypt ahead. Runs in the importing process or in worker processes."""
    cols = list(index.items())
    items = []
    clean = handler.clean
    for n, cells in rows:
        width = len(cells)
        it = Item(n)
        if any("\ufffd" in c for c in cells):
            it.refuse("", undecodable())
        clean(it, {f: cells[i] if i < width else "" for f, i in cols})
        items.append(it)
    convert(items)
    if seal:
        handler.seal_ahead(items)
    return items


def convert(items: Sequence[Item]) -> None:
    by_system: dict[str, list[Item]] = {}
    for it in items:
        if not it.errors and it.coords is not None and it.coords[2] != "inherit":
            by_system.setdefault(it.coords[2], []).append(it)
    for system, group in by_system.items():
        xs = np.array([it.coords[0] for it in group if it.coords], dtype=np.float64)
        ys = np.array([it.coords[1] for it in group if it.coords], dtype=np.float64)
        wx, wy = to_wgs84(xs, ys, system)
        for it, x, y in zip(group, wx.tolist(), wy.tolist(), strict=True):
            it.values["lng"], it.values["lat"], it.values["coord_system"] = x, y, system


class Importer:
    def __init__(
        self,
        entity_type: str,
        *,
        actor: Any = None,
        dry_run: bool = False,
        batch_size: int = 5000,
        source: str = "import",
    ) -> None:
        self.entity_type = entity_type
        self.handler: Handler = HANDLERS[entity_type]()
        self.model = self.handler.model
        self.actor = actor
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.source = source
        self.actor_name = getattr(actor, "username", "") or ""
        self.seen: dict[str, int] = {}
        self.batch_codes: dict[str, dict[str, Any]] = {}  # places made by this import
        self.fake_pk = 0
        self.allowed: set[int] | None = None
        # A data admin imports into the grids of their territory; an importer who does not
        # govern (the system admin) or the command line without --user, into any grid.
        if actor is not None and actor.can(Cap.REGISTRY_VIEW):
            self.allowed = set(grid_ids_for(actor))
        self.index = grid_index()
        self.history_fields = HISTORY_FIELDS[entity_type]
        self.show = {
            f: shower(self.model, f)
            for f in {*self.history_fields, *self.handler.compare, *LOCATION}
            if not f.endswith("_index")
        }
        self.defaults = writing.model_defaults(self.model)
        self.fields = list(self.model._meta.concrete_fields)
        self.row_maker = writing.RowMaker(self.fields, self.defaults)
        # Into an empty table, every key of the file is new unless it repeats (refused by
        # ``dedupe``), so the per-batch lookup is skipped. A concurrent writer shows up as a
        # unique-key violation, and the batch is then retried with the lookup.
        self.lookup = self.model._default_manager.exists()

    # --- stage 1: rows to items -------------------------------------------------------------
    def clean(self, rows: Sequence[tuple[int, list[str]]], index: dict[str, int]) -> list[Item]:
        return self.dedupe(prepare_rows(self.handler, rows, index, seal=False))

    def dedupe(self, items: list[Item]) -> list[Item]:
        """Refuse a natural key seen earlier in the file, naming the earlier row."""
        h = self.handler
        seen = self.seen
        for it in items:
            if not it.errors and it.key:
                first = seen.get(it.key)
                if first is not None:
                    it.refuse(
                        h.schema.key,
                        _("Duplicate of row %(row)d (same %(field)s).")
                        % {"row": first, "field": h.schema.column(h.schema.key).header},
                    )
                else:
                    seen[it.key] = it.row
        return items

    def forget(self, items: Sequence[Item]) -> None:
        """Un-see the keys these items claimed (before cleaning the same rows again)."""
        for it in items:
            if it.key and self.seen.get(it.key) == it.row:
                del self.seen[it.key]

    # --- stage 2: grids -----------------------------------------------------------------
    def inherit_and_assign(self, items: Sequence[Item]) -> None:
        located = []
        for it in items:
            if it.errors or it.coords is None:
                continue
            if it.coords[2] == "inherit":
                it.values["lng"], it.values["lat"] = it.coords[0], it.coords[1]
                it.values.setdefault("coord_system", "wgs84")
            located.append(it)
        if not located:
            return
        xs = np.array([it.values["lng"] for it in located], dtype=np.float64)
        ys = np.array([it.values["lat"] for it in located], dtype=np.float64)
        gids = self.index.assign(xs, ys).tolist()
        has_grids = bool(self.index.geoms)
        allowed = self.allowed
        for it, gid in zip(located, gids, strict=True):
            if gid < 0:
                if has_grids:
                    it.refuse("lat", _("The location is outside the territory's grids."))
                    continue
                it.values["grid_id"] = None
            elif allowed is not None and gid not in allowed:
                it.refuse("lat", _("The location is in a grid outside your area."))
            else:
                it.values["grid_id"] = gid

    # --- stage 3: existing rows -------------------------------------------------------------
    def existing(self, items: Sequence[Item]) -> dict[str, dict[str, Any]]:
        key = self.handler.key_attname
        return self.existing_keys([it.values[key] for it in items if not it.errors])

    def existing_keys(self, keys: list[Any]) -> dict[str, dict[str, Any]]:
        """The stored rows with these natural-key values: key -> compared columns."""
        key = self.handler.key_attname
        cols = ["pk", key, *self.handler.compare, *LOCATION]
        out: dict[str, dict[str, Any]] = {}
        if not keys:
            return out
        # Raw SQL below the ORM (its per-row converters cost more than the query here), for
        # columns whose raw values need no converting beyond JSON and (SQLite) dates.
        meta = self.model._meta
        qn = connection.ops.quote_name
        fields = [meta.pk if c == "pk" else meta.get_field(c) for c in cols]
        if connection.vendor != "postgresql" and not all(
            f.get_internal_type() in RAW_SAFE for f in fields
        ):
            for i in range(0, len(keys), 900):
                for d in self.model._default_manager.filter(
                    **{f"{key}__in": keys[i : i + 900]}
                ).values(*cols):
                    out[d[key]] = d
            return out
        names = [getattr(f, "column", "") for f in fields]
        # Both databases hand JSON columns back as text; the ORM parses it in the field.
        json_cols = [c for c, f in zip(cols, fields, strict=True) if isinstance(f, JSONField)]
        # Dates come back from SQLite as text; the ORM converts them: so do we.
        date_cols = [
            c
            for c, f in zip(cols, fields, strict=True)
            if f.get_internal_type() == "DateField" and connection.vendor == "sqlite"
        ]
        select = (
            f"SELECT {', '.join(qn(str(n)) for n in names)} FROM {qn(meta.db_table)} "  # noqa: S608
            f"WHERE {qn(str(getattr(meta.get_field(key), 'column', key)))} "
        )
        if connection.vendor == "postgresql":
            # One array parameter instead of thousands of IN parameters.
            queries = [(select + "= ANY(%s)", [keys])]
        else:
            queries = [
                (select + f"IN ({', '.join(['%s'] * len(chunk))})", chunk)
                for chunk in (keys[i : i + 900] for i in range(0, len(keys), 900))
            ]
        fromiso = dt.date.fromisoformat
        with connection.cursor() as cur:
            for sql, params in queries:
                cur.execute(sql, params)
                for row in cur.fetchall():
                    d = dict(zip(cols, row, strict=True))
                    for c in json_cols:
                        if isinstance(d[c], str):
                            d[c] = json.loads(d[c])
                    for c in date_cols:
                        if isinstance(d[c], str):
                            d[c] = fromiso(d[c])
                    out[d[key]] = d
        return out

    # --- the batch --------------------------------------------------------------------------
    def process(self, items: list[Item]) -> None:
        found = self.existing(items) if self.lookup else {}
        h = self.handler
        key = h.key_attname
        new = [it for it in items if not it.errors and it.values[key] not in found]
        for it in items:
            if not it.errors and it.values[key] in found:
                it.pk = found[it.values[key]]["pk"]
        if self.dry_run:
            for it in new:
                self.fake_pk -= 1
                it.pk = self.fake_pk
        else:
            for it, pk in zip(new, writing.allocate_ids(self.model, len(new)), strict=True):
                it.pk = pk
        h.resolve([it for it in items if not it.errors], self.batch_codes)
        self.inherit_and_assign(items)
        h.after_assign(items, self.batch_codes)
        self.classify(items, found)

    def classify(self, items: Sequence[Item], found: dict[str, dict[str, Any]]) -> None:
        key = self.handler.key_attname
        compare = self.handler.compare
        hist = self.history_fields
        need_old_phone: list[Item] = []
        rest_of: dict[tuple[str, ...], list[str]] = {}  # history fields a worker left out
        for it in items:
            if it.errors:
                it.status = "refused"
                continue
            v = it.values
            old = found.get(v[key])
            if old is None:
                it.status = "accepted"
                it.no_grid = v.get("grid_id") is None
                self.handler.fill_new(it)
                show = self.show
                if it.history_json is not None:  # prepared by a worker: add the rest
                    rest = rest_of.get(it.shown)
                    if rest is None:
                        rest = rest_of[it.shown] = [f for f in hist if f not in it.shown]
                    it.history_json = splice_json(
                        it.history_json,
                        [(f, [None, show[f](v[f])]) for f in rest if v.get(f) is not None],
                    )
                else:
                    it.changes = {
                        f: [None, show[f](v[f])] for f in hist if f in v and v[f] is not None
                    }
                continue
            if (
                self.allowed is not None
                and old["grid_id"] is not None
                and old["grid_id"] not in self.allowed
            ):
                it.refuse(
                    self.handler.schema.key,
                    _("The existing record is in a grid outside your area."),
                )
                it.status = "refused"
                continue
            before: dict[str, Any] = {}
            after = {}
            for f in compare:
                if f in v and old[f] != v[f]:
                    if f == "phone_index":
                        need_old_phone.append(it)
                        after["phone"] = v["phone"]
                        continue
                    before[f], after[f] = old[f], v[f]
            if "lng" in v:
                for f in LOCATION:
                    if f in v and old[f] != v[f]:
                        before[f], after[f] = old[f], v[f]
            if not after:
                it.status = "unchanged"
                continue
            it.status = "updated"
            it.no_grid = after.get("grid_id", old["grid_id"]) is None
            it.changes = self.diff(before, after)
            it.values = {f: v[f] for f in after if f != "phone"}
            if "phone" in after:
                it.values.update(phone=v["phone"], phone_index=v["phone_index"])
        if need_old_phone:
            pks = [it.pk or 0 for it in need_old_phone]
            old_phones = dict(Person.objects.filter(pk__in=pks).values_list("pk", "phone"))
            for it in need_old_phone:
                old_phone = old_phones.get(it.pk or 0, "")
                it.changes = {
                    **(it.changes or {}),
                    **self.diff({"phone": old_phone}, {"phone": it.values["phone"]}),
                }

    def diff(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
        show = self.show
        out = {}
        for f, new in after.items():
            old = before.get(f)
            if old != new:
                out[f] = [
                    None if old is None else show[f](old),
                    None if new is None else show[f](new),
                ]
        return out

    # --- writes -----------------------------------------------------------------------------
    def write(self, items: Sequence[Item]) -> None:
        if self.dry_run:
            return
        now: Any = timezone.now()
        if connection.vendor == "sqlite":  # adapted once, not by sqlite3 per row
            now = connection.ops.adapt_datetimefield_value(now)
        sealer = getattr(self.handler, "sealer", None)
        new_rows = []
        updates: list[tuple[dict[str, Any], int]] = []
        history: list[tuple[int, str, dict[str, Any] | str]] = []
        is_person = self.model is Person
        make_row = self.row_maker
        has_updated_at = "updated_at" in self.defaults
        if is_person:
            assert sealer is not None
            unsealed = [
                it
                for it in items
                if it.sealed is None
                and (it.status == "accepted" or (it.status == "updated" and "phone" in it.values))
            ]
            if unsealed:
                self.handler.seal_items(unsealed)  # type: ignore[attr-defined]
        for it in items:
            if it.status == "accepted":
                v = dict(it.values)
                v["id"] = it.pk
                if has_updated_at:
                    v["updated_at"] = now
                if is_person:
                    assert it.sealed is not None
                    v["id_number"] = it.sealed["id_number"]
                    v["phone"] = it.sealed["phone"]
                    v["source"] = self.source
                new_rows.append(make_row(v))
                history.append((it.pk or 0, "created", it.history_json or it.changes or {}))
            elif it.status == "updated":
                v = dict(it.values)
                if is_person and "phone" in v:
                    assert it.sealed is not None
                    v["phone"] = it.sealed["phone"]
                if has_updated_at:
                    v["updated_at"] = now
                if is_person:
                    v["source"] = self.source
                updates.append((v, it.pk or 0))
                history.append((it.pk or 0, "updated", it.changes or {}))
        writing.insert_rows(self.model, new_rows)
        writing.update_rows(self.model, updates)
        writing.insert_history(self.entity_type, history, actor=self.actor_name, source=self.source)
        if self.entity_type == "organisation":
            from yiwang.core import events

            for it in items:
                if it.status in ("accepted", "updated"):
                    events.publish(
                        "registry.organisation_changed", {"id": it.pk, "credit_code": it.key}
                    )


#: Below this many rows (estimated) an import cleans in its own process: starting workers
#: costs about a second.
PARALLEL_MIN_ROWS = 20_000

#: Rows per transaction when the caller does not say: people (the compact path) and the rest.
#: Larger transactions cost SQLite less (a page of the blind-index B-trees is written to the
#: WAL once per transaction however many rows went into it, and from about 200,000 residents
#: on nearly every page of both blind-index B-trees is dirtied by every transaction): people
#: on SQLite go in 50,000 rows a transaction (about 2 s of holding the write lock, well
#: inside the 20 s busy timeout of the other connections).
PEOPLE_BATCH = 20_000
PEOPLE_BATCH_SQLITE = 50_000
BATCH = 5_000

#: Rows a worker cleans at a time (people): small enough to fill the pipeline quickly.
WORKER_ROWS = 5_000


def default_workers() -> int:
    """Worker processes for cleaning and encryption: one per CPU beyond the importing
    process's own, at least one, at most four (the database writes stay sequential)."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def run(
    entity_type: str,
    path: str | Path,
    *,
    actor: Any = None,
    encoding: str = "",
    mapping: dict[str, str] | None = None,
    dry_run: bool = False,
    report_path: str | Path | None = None,
    report_updated: bool = True,
    batch_size: int = 0,
    source: str = "import",
    on_progress: Callable[[Progress], None] | None = None,
    workers: int = 0,
) -> ImportResult:
    """Import ``path`` as ``entity_type``; raises ``FileError``/``HeaderError`` when the file
    cannot be read at all, and otherwise reports every row (see ``ImportResult``).

    ``batch_size``: rows per transaction (0: ``people_batch()`` for people, ``BATCH`` for the
    other types). ``workers`` > 0 cleans and encrypts in that many worker processes (entity
    types whose cleaning needs no database, i.e. people) while this process writes batch
    after batch in file order; 0 does everything here.
    """
    if entity_type not in SCHEMAS:
        raise ValueError(f"unknown entity type {entity_type!r}")
    t0 = time.perf_counter()
    src = open_source(path, encoding)
    restore = _sqlite_tuning()
    gc_restore = quiet_gc()
    pool: ProcessPoolExecutor | None = None
    try:
        hm = match_header(SCHEMAS[entity_type], src.header, mapping)
        imp = Importer(
            entity_type, actor=actor, dry_run=dry_run, batch_size=batch_size, source=source
        )
        present = set(hm.index)
        imp.handler.prepare(present)
        result = ImportResult(
            entity_type,
            encoding=src.encoding,
            encoding_detected=src.detected,
            ignored_columns=hm.ignored,
            dry_run=dry_run,
        )
        rp = Path(report_path) if report_path else default_report_path(f"{int(time.time())}")
        result.report_path = str(rp)
        report = ReportWriter(rp, include_updated=report_updated, grid_notes=bool(imp.index.geoms))
        rows_in = _skip_example(
            src.rows, example_cells(entity_type, hm.index), hm.index, report, result
        )

        def progress() -> None:
            if on_progress:
                elapsed = time.perf_counter() - t0
                on_progress(Progress(result.rows, src.estimated_rows, dict(result.counts), elapsed))

        # People (the million-row case) take the compact path of ``people``.
        fast = people.Writer(imp) if people.applies(imp.handler) else None
        one_batch = functools.partial(_people_batch, fast) if fast else _one_batch
        if workers > 0 and imp.handler.parallel_safe and src.estimated_rows >= PARALLEL_MIN_ROWS:
            pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=workers_mod.init,
                initargs=(
                    entity_type,
                    sorted(present),
                    translation.get_language() or "",
                    fast is not None,
                ),
            )
        try:
            pending: deque[tuple[list[tuple[int, list[str]]], Future[Any]]] = deque()
            # People: workers take chunks of at most WORKER_ROWS rows (the pipeline fills
            # quickly), and chunks are gathered into transactions of ``batch_size`` rows.
            acc_rows: list[tuple[int, list[str]]] = []
            acc_good: list[tuple[Any, ...]] = []
            acc_refused: list[tuple[Any, ...]] = []

            def flush() -> None:
                if acc_rows:
                    one_batch(
                        imp,
                        acc_rows.copy(),
                        hm.index,
                        report,
                        result,
                        (acc_good, acc_refused),  # type: ignore[arg-type]
                    )
                    acc_rows.clear()
                    acc_good[:] = []
                    acc_refused[:] = []
                    progress()

            def gather(rows: list[tuple[int, list[str]]], prepared: Any) -> None:
                nonlocal acc_good, acc_refused
                if prepared is None:
                    prep = people.preparer(imp.handler, hm.index)  # type: ignore[arg-type]
                    prepared = prep.prepare(rows)
                acc_rows.extend(rows)
                acc_good = acc_good + prepared[0] if acc_good else prepared[0]
                acc_refused = acc_refused + prepared[1] if acc_refused else prepared[1]
                if len(acc_rows) >= size:
                    flush()

            def finish_one() -> None:
                nonlocal pool
                rows, fut = pending.popleft()
                try:
                    prepared: Any = fut.result()
                    if not fast:
                        prepared = _items(prepared)
                except Exception as exc:
                    # A worker died or could not start (BrokenProcessPool, a cancelled
                    # future, …): clean this batch, and the rest, in this process.
                    log.warning("import workers failed (%s); continuing without them", exc)
                    if pool is not None:
                        pool.shutdown(wait=False, cancel_futures=True)
                        pool = None
                    prepared = None
                if fast:
                    gather(rows, prepared)
                    return
                one_batch(imp, rows, hm.index, report, result, prepared)
                progress()

            size = batch_size or (people_batch() if fast else BATCH)
            chunk = min(size, WORKER_ROWS) if fast and pool is not None else size
            # Chunks in flight: enough that the workers go on cleaning the next transaction's
            # rows while this process writes one (people gather several chunks per write).
            depth = 2 * workers + (-(-size // chunk) if fast else 0)
            for batch in _batches(rows_in, chunk):
                if pool is None:
                    while pending:
                        finish_one()
                    if fast:
                        gather(batch, None)
                        continue
                    one_batch(imp, batch, hm.index, report, result, None)
                    progress()
                    continue
                pending.append((batch, pool.submit(workers_mod.work, batch, hm.index)))
                if len(pending) > depth:
                    finish_one()
            while pending:
                finish_one()
            flush()
            result.seconds = time.perf_counter() - t0
            report.totals(result)
        finally:
            report.close()
        if on_progress:
            on_progress(Progress(result.rows, result.rows, dict(result.counts), result.seconds))
        return result
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        src.close()
        restore()
        gc_restore()


#: Data rows (from the first) in which the template's example row is looked for.
EXAMPLE_ROWS = 100


def example_cells(entity_type: str, index: dict[str, int]) -> list[tuple[int, str]] | None:
    """``(column index, example value)`` of the template's example row for the columns this
    file has; None when the examples cannot be told from data (no example key)."""
    schema = SCHEMAS[entity_type]
    if not schema.column(schema.key).example:
        return None
    return [(i, schema.column(f).example) for f, i in index.items()]


def _skip_example(
    rows: Iterator[tuple[int, list[str]]],
    example: list[tuple[int, str]] | None,
    index: dict[str, int],
    report: ReportWriter,
    result: ImportResult,
) -> Iterator[tuple[int, list[str]]]:
    """The rows without the template's example row: a row among the first ``EXAMPLE_ROWS``
    whose every column the file has equals the template's example (surrounding spaces
    ignored) is left out and listed in the report as ``skipped``. Rows after those pass
    straight through (no cost per row for large files)."""
    if example is None:
        yield from rows
        return
    key_i = index.get(SCHEMAS[result.entity_type].key, -1)
    for k, (n, cells) in enumerate(rows):
        width = len(cells)
        if all((cells[i].strip() if i < width else "") == value for i, value in example):
            result.skipped += 1
            key = cells[key_i].strip() if 0 <= key_i < width else ""
            report.skipped(n, mask_key(key) if result.entity_type == "person" else key)
        else:
            yield n, cells
        if k + 1 >= EXAMPLE_ROWS:
            break
    yield from rows


def _items(tuples: list[tuple[Any, ...]]) -> list[Item]:
    return [Item(*t) for t in tuples]


def _batches(
    rows: Iterator[tuple[int, list[str]]], size: int
) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


#: SQLite's page cache for the import's connection: the blind-index B-tree of a million
#: residents (~100 MB) is written in random order and thrashes the default 2 MB cache.
SQLITE_CACHE_KIB = 256 * 1024

#: WAL pages (4 KiB) before the import's connection checkpoints, instead of SQLite's 1,000:
#: every large transaction of people dirties most pages of both blind-index B-trees, and a
#: checkpoint after each one wrote them all to the database file again and waited for two
#: fsyncs. The journal stays WAL with ``synchronous=NORMAL`` (crash-safe: a commit is in the
#: WAL before it is acknowledged); only the checkpoints come less often, and the import
#: checkpoints once more at its end.
SQLITE_WAL_AUTOCHECKPOINT = 100_000


#: Allocations between young-generation garbage collections during an import (Python's
#: default is 700). An import allocates millions of short-lived containers (a list per CSV
#: row, a tuple per cleaned row); with the default, rows still in flight get promoted to the
#: old generation and every full collection walks them all again, and Django's own objects.
GC_THRESHOLD0 = 100_000


def quiet_gc() -> Callable[[], None]:
    """Fewer garbage collections for the import's duration (the objects that exist before it
    are frozen: no collection walks them until it ends); returns the function that undoes it.
    Collection stays on: reference cycles made meanwhile are still freed."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD0, *threshold[1:])

    def restore() -> None:
        gc.set_threshold(*threshold)
        gc.unfreeze()

    return restore


def people_batch() -> int:
    """Rows per transaction for people when the caller does not say (per database)."""
    return PEOPLE_BATCH_SQLITE if connection.vendor == "sqlite" else PEOPLE_BATCH


def _sqlite_tuning() -> Callable[[], None]:
    """A larger page cache and fewer checkpoints for the import's connection; the returned
    function puts both back and checkpoints (truncating the WAL file when no reader holds
    it; a busy checkpoint is not an error, the next one catches up)."""
    if connection.vendor != "sqlite":
        return lambda: None
    with connection.cursor() as cur:
        cur.execute("PRAGMA cache_size")
        cache = cur.fetchone()[0]
        cur.execute("PRAGMA wal_autocheckpoint")
        checkpoint = cur.fetchone()[0]
        cur.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cur.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT}")

    def restore() -> None:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA cache_size = {int(cache)}")
            cur.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint)}")
            if connection.in_atomic_block:
                return  # a caller's transaction (tests): no checkpoint inside it
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cur.fetchall()

    return restore


def _one_batch(
    imp: Importer,
    rows: list[tuple[int, list[str]]],
    index: dict[str, int],
    report: ReportWriter,
    result: ImportResult,
    prepared: list[Item] | None,
    attempts: tuple[int, ...] = (1, 2),
) -> None:
    items = imp.clean(rows, index) if prepared is None else imp.dedupe(prepared)
    for attempt in attempts:
        try:
            with transaction.atomic():
                imp.process(items)
                imp.write(items)
            break
        except IntegrityError as exc:
            # Someone else wrote one of these keys meanwhile: clean and look again, once.
            if attempt == 1:
                log.warning("import batch at row %s: %s; retrying", rows[0][0], exc)
                imp.forget(items)
                imp.lookup = True
                items = imp.clean(rows, index)
                continue
            _fail(imp, items, exc, result)
        except DatabaseError as exc:
            _fail(imp, items, exc, result)
            break
    for it in items:
        result.counts[it.status] += 1
        if it.no_grid and it.status != "refused":
            result.no_grid += 1
    result.rows += len(items)
    report.items(items)


def _fail(imp: Importer, items: list[Item], exc: Exception, result: ImportResult) -> None:
    log.error("import batch failed at row %s: %s", items[0].row if items else "?", exc)
    result.failed_batches += 1
    msg = _("The database refused this batch (%(error)s); the row was not stored.") % {
        "error": str(exc)[:200]
    }
    for it in items:
        if it.status != "refused" or not it.errors:
            it.errors.append(("", msg))
        it.status = "refused"
        if imp.batch_codes.get(it.key, {}).get("pk") == it.pk:
            imp.batch_codes.pop(it.key, None)


def _people_batch(
    writer: people.Writer,
    imp: Importer,
    rows: list[tuple[int, list[str]]],
    index: dict[str, int],
    report: ReportWriter,
    result: ImportResult,
    prepared: tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]] | None,
) -> None:
    """``_one_batch`` for people on the compact path (``people``): the same dedupe, the same
    transaction per batch, the same retry; a batch with changed rows, and the retry, go
    through the general path."""
    if prepared is None:
        prepared = people.preparer(imp.handler, index).prepare(rows)  # type: ignore[arg-type]
    # ``Row._make`` without its Python-level length check (the worker made these tuples).
    good: list[people.Row] = list(map(functools.partial(tuple.__new__, people.Row), prepared[0]))
    refused_tuples = prepared[1]
    refused = [Item(*t) for t in refused_tuples]
    # Duplicates of a key seen earlier in the file, as Importer.dedupe.
    seen = imp.seen
    fresh: list[people.Row] = []
    key_field = imp.handler.schema.key
    for r in good:
        first = seen.get(r.key)
        if first is None:
            seen[r.key] = r.row
            fresh.append(r)
        else:
            it = Item(r.row, r.key, r.shown_key)
            it.refuse(
                key_field,
                _("Duplicate of row %(row)d (same %(field)s).")
                % {"row": first, "field": writer.key_header},
            )
            refused.append(it)
    if len(refused) != len(refused_tuples):
        refused.sort(key=lambda it: it.row)
    now: Any = timezone.now()
    if connection.vendor == "sqlite":  # adapted once, not by sqlite3 per row
        now = connection.ops.adapt_datetimefield_value(now)
    items: list[Item] | None = None
    try:
        with transaction.atomic():
            done = writer.batch(fresh, refused, now)
            if done is None:  # an existing row changed: the general path takes the batch
                items = sorted(
                    [people.to_item(r, writer.shown) for r in fresh] + refused,
                    key=lambda it: it.row,
                )
                imp.process(items)
                imp.write(items)
    except IntegrityError as exc:
        # Someone else wrote one of these keys meanwhile: clean and look again, once.
        log.warning("import batch at row %s: %s; retrying", rows[0][0], exc)
        for r in fresh:
            if seen.get(r.key) == r.row:
                del seen[r.key]
        imp.lookup = True
        _one_batch(imp, rows, index, report, result, None, attempts=(2,))
        return
    except DatabaseError as exc:
        items = sorted(
            [people.to_item(r, writer.shown) for r in fresh] + refused, key=lambda it: it.row
        )
        _fail(imp, items, exc, result)
        done = None
    if done is not None:
        accepted, unchanged, out, no_grid, warned = done
        result.counts["accepted"] += accepted
        result.counts["unchanged"] += unchanged
        result.counts["refused"] += len(out)
        result.no_grid += no_grid
        result.rows += accepted + unchanged + len(out)
        if warned:  # accepted rows in no grid, among the refusals in file order
            out = sorted(out + warned, key=lambda it: it.row)
        report.items(out)
        return
    assert items is not None
    for it in items:
        result.counts[it.status] += 1
        if it.no_grid and it.status != "refused":
            result.no_grid += 1
    result.rows += len(items)
    report.items(items)
