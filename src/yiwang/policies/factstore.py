"""The enterprise fact table as numpy columns, built from the database in bulk and kept fresh
incrementally — what ``matching.for_item`` and the full sweep run over.

One :class:`Snapshot` holds, for every enterprise in business (sorted by id), one column per
absolute fact key (``revenue__fy2024``, ``industry`` …) in the sweep engine's form: float64
with NaN for numbers, dates (days since 1970) and booleans; int32 codes into sorted distinct
values (-1 missing) for codes and enums. Values follow the profile's precedence (an official
fact row, else the registry's column, else a self-declared row; docs/adr/0012-policies.md),
so a column agrees with ``profile.facts_for`` entity by entity.

Built with typed SQL (numbers extracted from JSON by the database, codes as text, read with
``COPY … TO STDOUT`` on PostgreSQL), never by decoding model instances. Kept fresh by the change
log (``factlog``: triggers write the id of every organisation whose facts may have changed):
every :meth:`FactStore.current` asks the log what changed since the snapshot — one indexed
query when nothing did — and re-reads only those organisations. A snapshot is immutable once
published (a refresh copies the columns it changes), so a sweep in one thread never sees
another thread's half-applied refresh.

Correctness rules (docs/adr/0018-policy-fact-columns.md):

- the log position is taken *before* the data are read, so a change that lands in between is
  applied again next time (re-reading an organisation is idempotent);
- PostgreSQL: transactions commit out of ``seq`` order, so besides ``seq > last`` every row
  written by a transaction that was still running at the last check (``txid >=`` that
  snapshot's ``xmin``) is fetched again; those organisations are re-read, which also undoes
  anything read from a transaction that later rolled back;
- SQLite: writers are serialised, but a rollback makes ``seq`` values reusable; the last row
  seen (``seq`` and a random ``tok``) must still be there, unchanged, or everything is rebuilt
  (also after a flush, or when the log was pruned past it);
- a log row without an organisation (a community code changed, a table was truncated), a
  missing trigger, or a delta larger than a fifth of the table → full rebuild.
"""

# ruff: noqa: S608 - table names come from the models; every value is a bound parameter

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from yiwang.rules.vector import Categorical, FactArrays

log = logging.getLogger(__name__)

NUMERIC_TYPES = ("number", "date", "boolean")
EPOCH = dt.date(1970, 1, 1)
CHUNK = 5000
FACT_BATCH = 200_000  # organisations per fact read of a full build
REBUILD_SHARE = 0.2  # a delta touching more than this share of the table → rebuild
SAVE_AFTER = 0.02  # re-save the snapshot file once deltas re-read this share of the table
SAVE_MIN = 1000  # (and at least this many organisations)
NAN = float("nan")

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
I32 = npt.NDArray[np.int32]


# ---------------------------------------------------------------- the snapshot


@dataclass
class Snapshot:
    """The fact table at one moment: columns aligned with ``ids`` (sorted ascending)."""

    ids: I64
    numeric: dict[str, F64]
    categorical: dict[str, Categorical]
    street: Categorical  # the registry's street (community code[:9]), for counts by street
    section: Categorical  # the registry's industry section (industry_code[:1])
    known: dict[str, Any] = field(default_factory=dict)  # "known" bitsets, per column
    # the registry's own industry code (whatever the industry fact says), for listings
    # filtered by an industry prefix
    industry_code: Categorical | None = None

    @property
    def n(self) -> int:
        return int(self.ids.size)

    @property
    def columns(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def fact_arrays(self, columns: Mapping[str, str] | None = None) -> FactArrays:
        """The sweep engine's fact table (no copies); ``columns`` (name → fact type) that
        no enterprise has a value for are added as all-missing."""
        numeric, categorical = self.numeric, self.categorical
        extra = [c for c in (columns or {}) if c not in numeric and c not in categorical]
        if extra:
            numeric, categorical = dict(numeric), dict(categorical)
            for c in extra:
                if columns and columns[c] in NUMERIC_TYPES:
                    numeric[c] = np.full(self.n, NAN)
                else:
                    categorical[c] = Categorical(np.full(self.n, -1, dtype=np.int32), [])
        fa = FactArrays(self.n, numeric, categorical, self.ids)
        fa._known = self.known  # shared by the sweeps of this snapshot (extra columns too:
        return fa  # they are all-missing in every view of it)

    def positions(self, org_ids: Iterable[int]) -> tuple[I64, I64]:
        """(positions, ids) of the given organisations that are in the table."""
        want = np.asarray(
            org_ids if isinstance(org_ids, np.ndarray) else list(org_ids), dtype=np.int64
        )
        pos = np.searchsorted(self.ids, want)
        ok = pos < self.n
        ok[ok] = self.ids[pos[ok]] == want[ok]
        return pos[ok], want[ok]

    def value(self, column: str, org_id: int) -> Any:
        """One cell as the profile would type it (for tests and debugging)."""
        pos, _ids = self.positions([org_id])
        if not pos.size:
            raise KeyError(org_id)
        i = int(pos[0])
        if column in self.numeric:
            x = float(self.numeric[column][i])
            return None if x != x else x
        if column in self.categorical:
            cat = self.categorical[column]
            k = int(cat.codes[i])
            return None if k < 0 else cat.categories[k]
        return None

    def nbytes(self) -> int:
        total = self.ids.nbytes + self.street.codes.nbytes + self.section.codes.nbytes
        if self.industry_code is not None:
            total += self.industry_code.codes.nbytes
        total += sum(a.nbytes for a in self.numeric.values())
        total += sum(c.codes.nbytes for c in self.categorical.values())
        return int(total)


# ---------------------------------------------------------------- reading from the database


def _tables() -> dict[str, str]:
    from yiwang.policies import factlog

    return factlog.tables()


def _frame(connection: Any, sql: str, params: Sequence[Any], schema: dict[str, Any]) -> Any:
    """Run ``sql`` and return a Polars frame: through ``COPY … TO STDOUT`` (CSV) on
    PostgreSQL, ``fetchall`` elsewhere."""
    import polars as pl

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            blocks: list[bytes] = []
            with cur.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as cp:
                blocks.extend(bytes(b) for b in cp)
            if not blocks:
                return pl.DataFrame(schema=schema)
            buf = io.BytesIO(b"".join(blocks))
            del blocks
            return pl.read_csv(
                buf, has_header=False, new_columns=list(schema), schema=schema, quote_char='"'
            )
        cur.execute(sql, params)
        rows = cur.fetchall()
    return pl.DataFrame(rows, schema=schema, orient="row")


def _in_chunks(ids: Sequence[int] | None) -> list[Sequence[int] | None]:
    if ids is None:
        return [None]
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def _id_filter(connection: Any, column: str, ids: Sequence[int] | None) -> tuple[str, list[Any]]:
    if ids is None:
        return "", []
    if connection.vendor == "postgresql":
        return f" AND {column} = ANY(%s)", [list(ids)]
    return f" AND {column} IN ({', '.join(['%s'] * len(ids))})", list(ids)


def read_registry(connection: Any, ids: Sequence[int] | None = None) -> Any:
    """The population's registry columns: id, industry, size, founded (days since 1970),
    capital (万元) and community code (the grid's, else the place's grid's)."""
    import polars as pl

    from yiwang.registry.models import Organisation

    t = _tables()
    if connection.vendor == "postgresql":
        days = "(o.founded_on - DATE '1970-01-01')"
        cap = "o.registered_capital::float8"
    else:
        days = "CAST(julianday(o.founded_on) - 2440587.5 AS INTEGER)"
        cap = "CAST(o.registered_capital AS REAL)"
    schema = {
        "id": pl.Int64,
        "industry": pl.String,
        "size": pl.String,
        "founded": pl.Int32,
        "capital": pl.Float64,
        "community": pl.String,
    }
    frames = []
    for chunk in _in_chunks(ids):
        where, extra = _id_filter(connection, "o.id", chunk)
        sql = (
            f"SELECT o.id, o.industry_code, o.size_class, {days}, {cap}, "
            "COALESCE(NULLIF(gd.code, ''), pd.code) "
            f"FROM {t['org']} o "
            f"LEFT JOIN {t['grid']} g ON g.id = o.grid_id "
            f"LEFT JOIN {t['division']} gd ON gd.id = g.community_id "
            f"LEFT JOIN {t['place']} p ON p.id = o.place_id "
            f"LEFT JOIN {t['grid']} pg ON pg.id = p.grid_id "
            f"LEFT JOIN {t['division']} pd ON pd.id = pg.community_id "
            f"WHERE o.kind = %s AND o.status = %s{where} ORDER BY o.id"
        )
        params = [Organisation.Kind.ENTERPRISE.value, Organisation.Status.ACTIVE.value, *extra]
        frames.append(_frame(connection, sql, params, schema))
    return pl.concat(frames) if len(frames) > 1 else frames[0]


def read_facts(
    connection: Any,
    ids: Sequence[int] | None = None,
    *,
    id_range: tuple[int, int] | None = None,
) -> Any:
    """The population's fact rows: organisation, name, period, self-declared or not, the
    value as a float when it is a JSON number, else its JSON text. ``ids``: those
    organisations only; ``id_range`` (lo, hi): every row of organisations lo..hi."""
    import polars as pl

    from yiwang.policies.models import SourceKind
    from yiwang.registry.models import Organisation

    t = _tables()
    if connection.vendor == "postgresql":
        typ = "jsonb_typeof(f.value)"
        num = f"CASE WHEN {typ} = 'number' THEN (f.value)::float8 END"
        txt = f"CASE WHEN {typ} <> 'number' THEN f.value::text END"
        not_null = f"{typ} <> 'null'"
    else:
        typ = "json_type(f.value)"
        num = f"CASE WHEN {typ} IN ('integer', 'real') THEN CAST(f.value AS REAL) END"
        txt = f"CASE WHEN {typ} NOT IN ('integer', 'real') THEN f.value END"
        not_null = f"{typ} <> 'null'"
    schema = {
        "org": pl.Int64,
        "name": pl.String,
        "period": pl.String,
        "declared": pl.Int8,
        "num": pl.Float64,
        "txt": pl.String,
    }
    frames = []
    for chunk in _in_chunks(ids):
        where, extra = _id_filter(connection, "f.organisation_id", chunk)
        where2, extra2 = _id_filter(connection, "o.id", chunk)  # plans from the ids either way
        where, extra = where + where2, extra + extra2
        cols = (
            "SELECT f.organisation_id, f.name, f.period, "
            f"CASE WHEN f.source_kind = %s THEN 1 ELSE 0 END, {num}, {txt} FROM {t['fact']} f "
        )
        if chunk is None:
            # the whole table: no join (rows of organisations outside the population are
            # dropped against the registry's ids, which is cheaper than joining 1,000,000 rows)
            sql = f"{cols}WHERE f.value IS NOT NULL AND {not_null}"
            params: list[Any] = [SourceKind.SELF_DECLARED.value]
            if id_range is not None:
                sql += " AND f.organisation_id BETWEEN %s AND %s"
                params += [int(id_range[0]), int(id_range[1])]
        else:
            sql = (
                f"{cols}JOIN {t['org']} o ON o.id = f.organisation_id "
                f"WHERE o.kind = %s AND o.status = %s AND f.value IS NOT NULL AND {not_null}{where}"
            )
            params = [
                SourceKind.SELF_DECLARED.value,
                Organisation.Kind.ENTERPRISE.value,
                Organisation.Status.ACTIVE.value,
                *extra,
            ]
        frames.append(_frame(connection, sql, params, schema))
    return pl.concat(frames) if len(frames) > 1 else frames[0]


# ---------------------------------------------------------------- building columns


def _typed(spec: Any, raw: Any) -> Any:
    """A stored value as the sweep engine holds it: float (numbers, dates as days, booleans
    as 0/1) or str; None when it does not fit (stored values are checked on write)."""
    from yiwang.rules.catalog import coerce_value

    try:
        v = coerce_value(spec, raw)
    except (TypeError, ValueError):
        return None
    if v is None:
        return None
    if isinstance(v, dt.date):
        return float((v - EPOCH).days)
    if spec.type == "boolean":
        return 1.0 if v else 0.0
    return v


class _Column:
    """One column while it is built: typed values plus a "has a value" mask (a value that
    does not fit still hides lower-precedence sources, as in ``profile.merge``)."""

    def __init__(self, n: int, numeric: bool) -> None:
        import polars as pl

        self.numeric = numeric
        self.values: Any = (
            np.full(n, NAN) if numeric else pl.Series("v", [None] * n, dtype=pl.String)
        )
        self.present = np.zeros(n, dtype=np.bool_)

    def put(self, pos: I64, values: Any, *, only_missing: bool = False) -> None:
        """``values``: a float array (numeric) or a Polars string series."""
        if only_missing:
            keep = ~self.present[pos]
            pos = pos[keep]
            values = values[keep] if self.numeric else values.filter(keep)
        if not pos.size:
            return
        if self.numeric:
            self.values[pos] = values
        else:
            self.values.scatter(pos, values)
        self.present[pos] = True

    def finish(self) -> F64 | Categorical:
        return self.values if self.numeric else _categorical(self.values)


def _categorical(series: Any) -> Categorical:
    """A Polars string series as codes into its sorted distinct values ("" is missing)."""
    import polars as pl

    s = series.cast(pl.String)
    s = s.replace("", None) if s.len() else s
    cats = s.drop_nulls().unique().sort()
    codes = s.cast(pl.Enum(cats)).to_physical().cast(pl.Int32).fill_null(-1)
    return Categorical(codes.to_numpy().astype(np.int32, copy=False), cats.to_list())


def _typed_series(spec: Any, values: Any, numeric: bool, *, decode: bool = False) -> Any:
    """A Polars series of raw values (str, or float for JSON numbers) typed through the
    catalog once per distinct value: Float64 (numeric) or String; null where it does not fit."""
    import polars as pl

    dtype = pl.Float64 if numeric else pl.String
    distinct = values.drop_nulls().unique().to_list()
    mapping = {v: _typed(spec, json.loads(v) if decode else v) for v in distinct}
    if not mapping:
        return pl.Series(values.name, [None] * values.len(), dtype=dtype)
    return values.replace_strict(mapping, default=None, return_dtype=dtype)


def _registry_base(reg: Any) -> dict[str, Any]:
    """Registry values per catalog key as Polars series / numpy arrays (missing: null/NaN)."""
    import polars as pl

    community = reg.get_column("community").replace("", None)
    return {
        "registered_district": community.str.slice(0, 6),
        "registered_street": community.str.slice(0, 9),
        "industry": reg.get_column("industry").replace("", None),
        "company_size": reg.get_column("size").replace("", None),
        "founded_on": reg.get_column("founded").cast(pl.Float64).fill_null(NAN).to_numpy(),
        "registered_capital": reg.get_column("capital").fill_null(NAN).to_numpy(),
    }


def read_all_facts(connection: Any, ids: I64) -> Iterable[Any]:
    """Every fact row, in frames of ``FACT_BATCH`` organisations (by id range), so the peak
    memory of a build is one batch's rows, not the table's."""
    for start in range(0, ids.size, FACT_BATCH):
        part = ids[start : start + FACT_BATCH]
        yield read_facts(connection, id_range=(int(part[0]), int(part[-1])))


def _apply_facts(facts: Any, ids: I64, cat: Any, column: Any) -> None:
    import polars as pl

    from yiwang.policies import profile
    from yiwang.rules.catalog import column_name

    if not facts.height:
        return
    n = ids.size
    org = facts.get_column("org").to_numpy()
    pos_all = np.searchsorted(ids, org)
    inside = pos_all < n
    inside[inside] = ids[pos_all[inside]] == org[inside]
    facts = facts.with_columns(pl.Series("_pos", pos_all))
    if not inside.all():
        facts = facts.filter(pl.Series(inside))
    for (name, period), group in facts.group_by(["name", "period"]):
        spec = cat.facts.get(str(name))
        if spec is None:
            continue
        key = column_name(profile.fact_key(str(name), str(period or "")))
        col = column(key, spec)
        num = group.get_column("num")  # JSON numbers, typed by the database
        txt = group.get_column("txt")  # any other JSON, as text
        vals = num if spec.type == "number" else _typed_series(spec, num, col.numeric)
        if txt.null_count() < txt.len():  # decoded once per distinct text
            tvals = _typed_series(spec, txt, col.numeric, decode=True)
            vals = pl.select(pl.when(txt.is_not_null()).then(tvals).otherwise(vals)).to_series()
        pos = group.get_column("_pos").to_numpy().astype(np.int64)
        declared = group.get_column("declared").to_numpy().astype(np.bool_)
        arr = vals.to_numpy() if col.numeric else vals
        off, dec = ~declared, declared
        col.put(pos[off], arr[off] if col.numeric else arr.filter(pl.Series(off)))
        if dec.any():
            col.put(
                pos[dec],
                arr[dec] if col.numeric else arr.filter(pl.Series(dec)),
                only_missing=True,
            )


def build(reg: Any, facts: Any) -> Snapshot:
    """Columns from the registry frame (sorted by id) and the fact rows (a frame, or an
    iterable of frames)."""
    import polars as pl

    from yiwang.policies import profile

    cat = profile.catalog()
    ids = reg.get_column("id").to_numpy().astype(np.int64, copy=False)
    n = ids.size
    cols: dict[str, _Column] = {}

    def column(key: str, spec: Any) -> _Column:
        c = cols.get(key)
        if c is None:
            c = cols[key] = _Column(n, spec.type in NUMERIC_TYPES)
        return c

    # 1. the registry's own columns (typed through the catalog like every other value)
    for key, values in _registry_base(reg).items():
        spec = cat.facts.get(key)
        if spec is None:
            continue
        col = column(key, spec)
        if isinstance(values, np.ndarray):  # founding date (days) and capital: already typed
            has = ~np.isnan(values)
            col.values[has] = values[has]
            col.present[has] = True
        else:
            pos = np.flatnonzero(values.is_not_null().to_numpy())
            typed = _typed_series(spec, values.filter(values.is_not_null()), col.numeric)
            col.put(pos, typed.to_numpy() if col.numeric else typed)

    # 2. fact rows: official ones override the registry; self-declared ones fill gaps
    # (an organisation has one row per key, so batches never overlap)
    for frame in [facts] if isinstance(facts, pl.DataFrame) else facts:
        _apply_facts(frame, ids, cat, column)

    numeric: dict[str, F64] = {}
    categorical: dict[str, Categorical] = {}
    for key, col in cols.items():
        done = col.finish()
        if isinstance(done, Categorical):
            categorical[key] = done
        else:
            numeric[key] = done
    community = reg.get_column("community").fill_null("")
    street = _categorical(community.str.slice(0, 9))
    section = _categorical(reg.get_column("industry").fill_null("").str.slice(0, 1))
    industry_code = _categorical(reg.get_column("industry").fill_null(""))
    return Snapshot(ids, numeric, categorical, street, section, industry_code=industry_code)


# ---------------------------------------------------------------- merging a delta


def _remap(cat: Categorical, categories: list[str]) -> I32:
    """``cat``'s codes as codes into ``categories`` (a superset)."""
    if cat.categories == categories:
        return cat.codes
    lut = np.searchsorted(np.array(categories, dtype=object), np.array(cat.categories, object))
    lut = np.append(lut.astype(np.int32), np.int32(-1))  # index -1 → -1
    return np.asarray(lut[cat.codes], dtype=np.int32)


def _merge_cat(old: Categorical | None, new: Categorical | None) -> list[str]:
    a = old.categories if old else []
    b = new.categories if new else []
    if not b or set(b) <= set(a):
        return a
    return sorted(set(a) | set(b))


def merge(old: Snapshot, mini: Snapshot, reread: I64) -> Snapshot:
    """``old`` with the organisations in ``reread`` replaced by their rows in ``mini``
    (organisations no longer in the population removed, new ones added). Columns that do not
    change are shared with ``old``; changed ones are copied."""
    gone = np.setdiff1d(reread, mini.ids, assume_unique=False)
    old_pos, _ = old.positions(gone)
    new_only = np.setdiff1d(mini.ids, old.ids, assume_unique=True)
    relayout = bool(old_pos.size or new_only.size)
    if relayout:
        keep = np.ones(old.n, dtype=np.bool_)
        keep[old_pos] = False
        ids = np.union1d(old.ids[keep], mini.ids)
        at_old = np.searchsorted(ids, old.ids[keep])
    else:
        keep = None
        ids = old.ids
        at_old = None
    at_mini = np.searchsorted(ids, mini.ids)
    n = ids.size
    known = {} if relayout else dict(old.known)

    def numeric(name: str) -> F64:
        o = old.numeric.get(name)
        m = mini.numeric.get(name)
        mv = m if m is not None else np.full(mini.n, NAN)
        if relayout:
            out = np.full(n, NAN)
            if o is not None:
                out[at_old] = o[keep]
            out[at_mini] = mv
            return out
        if o is None:
            out = np.full(n, NAN)
            out[at_mini] = mv
            known.pop(name, None)
            return out
        cur = o[at_mini]
        same = (cur == mv) | (np.isnan(cur) & np.isnan(mv))
        if same.all():
            return o
        out = o.copy()
        out[at_mini] = mv
        known.pop(name, None)
        return out

    def categorical(name: str, o: Categorical | None, m: Categorical | None) -> Categorical:
        cats = _merge_cat(o, m)
        mv = _remap(m, cats) if m is not None else np.full(mini.n, -1, dtype=np.int32)
        oc = _remap(o, cats) if o is not None else None
        if relayout:
            out = np.full(n, -1, dtype=np.int32)
            if oc is not None:
                out[at_old] = oc[keep]
            out[at_mini] = mv
            return Categorical(out, cats)
        if oc is None:
            out = np.full(n, -1, dtype=np.int32)
            out[at_mini] = mv
            known.pop(name, None)
            return Categorical(out, cats)
        if o is not None and oc is o.codes and np.array_equal(oc[at_mini], mv):
            return o
        out = oc.copy() if oc is (o.codes if o is not None else None) else oc
        out[at_mini] = mv
        known.pop(name, None)
        return Categorical(out, cats)

    num_names = list(dict.fromkeys([*old.numeric, *mini.numeric]))
    cat_names = list(dict.fromkeys([*old.categorical, *mini.categorical]))
    return Snapshot(
        ids,
        {k: numeric(k) for k in num_names},
        {k: categorical(k, old.categorical.get(k), mini.categorical.get(k)) for k in cat_names},
        categorical("", old.street, mini.street),
        categorical("", old.section, mini.section),
        known,
        industry_code=categorical("", old.industry_code, mini.industry_code),
    )


# ---------------------------------------------------------------- freshness


@dataclass
class Position:
    """Where in the change log a snapshot stands."""

    seq: int = 0  # the last row seen (0: none)
    tok: int | None = None  # its token (None: the log was empty)
    xmin: int | None = None  # PostgreSQL: the xmin of the snapshot the log was read with
    pending: dict[int, int | None] = field(
        default_factory=dict
    )  # PG: seq → org, may be uncommitted


@dataclass
class Stats:
    kind: str = ""  # fresh | delta | rebuild
    reason: str = ""
    seconds: float = 0.0
    changes: int = 0  # log rows read
    organisations: int = 0  # organisations re-read
    rebuilds: int = 0
    deltas: int = 0
    parts: dict[str, float] = field(default_factory=dict)  # seconds per part of a rebuild


class FactStore:
    """The fact columns of one database connection alias, in this process."""

    def __init__(self, alias: str = "default") -> None:
        self.alias = alias
        self.lock = threading.RLock()
        self.snapshot: Snapshot | None = None
        self.position = Position()
        self.stats = Stats()
        self.persist = True  # load from / save to the snapshot file (``snapshotfile``)
        self.since_save = 0  # organisations re-read by deltas since the file was written
        self.saved: dict[str, Any] = {}  # the last save: seconds, bytes, directory
        self.loaded: dict[str, Any] = {}  # the load this store started from, if any

    @property
    def connection(self) -> Any:
        from django.db import connections

        return connections[self.alias]

    # -- the log ----------------------------------------------------------------------

    def _mark(self) -> Position:
        """The log position now (taken before the data are read)."""
        conn = self.connection
        table = _tables()["log"]
        with conn.cursor() as cur:
            if conn.vendor == "postgresql":
                cur.execute(
                    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, s.seq, s.tok "
                    f"FROM (SELECT 1) one LEFT JOIN (SELECT seq, tok FROM {table} "
                    "ORDER BY seq DESC LIMIT 1) s ON true"
                )
                xmin, seq, tok = cur.fetchone()
                cur.execute(
                    f"SELECT seq, organisation_id FROM {table} WHERE txid >= %s", [int(xmin)]
                )
                pending = {int(s): o for s, o in cur.fetchall()}
                return Position(int(seq or 0), tok, int(xmin), pending)
            cur.execute(f"SELECT seq, tok FROM {table} ORDER BY seq DESC LIMIT 1")
            row = cur.fetchone()
        return Position(int(row[0]), int(row[1])) if row else Position()

    def _changes(self) -> tuple[str, Position, set[int]]:
        """("fresh" | "delta" | "rebuild: why", the new position, organisations to re-read)."""
        from yiwang.policies import factlog

        conn = self.connection
        p = self.position
        table = _tables()["log"]
        if not factlog.installed(conn):
            log.warning("fact change triggers missing on %s: installing them", self.alias)
            factlog.install(conn)
            return "rebuild: triggers were missing", p, set()
        with conn.cursor() as cur:
            if conn.vendor == "postgresql":
                cur.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                xmin = int(cur.fetchone()[0])
                cur.execute(
                    f"SELECT seq, organisation_id, txid, tok FROM {table} "
                    "WHERE seq >= %s OR txid >= %s",
                    [p.seq, p.xmin if p.xmin is not None else 0],
                )
            else:
                xmin = None
                cur.execute(
                    f"SELECT seq, organisation_id, NULL, tok FROM {table} WHERE seq >= %s "
                    "ORDER BY seq",
                    [p.seq],
                )
            rows = cur.fetchall()
        by_seq = {int(s): (o, t, k) for s, o, t, k in rows}
        if p.tok is not None:
            anchor = by_seq.get(p.seq)
            if anchor is None or int(anchor[2]) != p.tok:
                return "rebuild: the change log moved under the snapshot", p, set()
        orgs: set[int] = set()
        null = False
        new_seq, new_tok = p.seq, p.tok
        pending: dict[int, int | None] = {}
        for s, (o, t, k) in by_seq.items():
            if s > new_seq:
                new_seq, new_tok = s, int(k)
            # new, or committed since the last check by a transaction that was open then
            late = p.xmin is not None and t is not None and int(t) >= p.xmin
            fresh = s > p.seq or (late and s not in p.pending)
            if fresh or s in p.pending:
                if o is None:
                    null = True
                else:
                    orgs.add(int(o))
            if xmin is not None and t is not None and int(t) >= xmin:
                pending[s] = None if o is None else int(o)
        # rows read before from transactions that were still open: re-read (they may have
        # rolled back, then their seq is simply gone)
        for o in p.pending.values():
            if o is None:
                null = True
            else:
                orgs.add(o)
        pos = Position(new_seq, new_tok, xmin, pending)
        if null:
            return "rebuild: a change affects every organisation", pos, set()
        return ("delta" if orgs else "fresh"), pos, orgs

    # -- building and refreshing ------------------------------------------------------

    def rebuild(self) -> Snapshot:
        with self.lock:
            t0 = time.perf_counter()
            from yiwang.policies import factlog

            conn = self.connection
            if not factlog.installed(conn):
                log.warning("fact change triggers missing on %s: installing them", self.alias)
                factlog.install(conn)
            pos = self._mark()
            t1 = time.perf_counter()
            reg = read_registry(conn)
            ids = reg.get_column("id").to_numpy()
            parts = {"registry_read": time.perf_counter() - t1, "facts_read": 0.0}

            def timed(frames: Iterable[Any]) -> Iterable[Any]:
                it = iter(frames)
                while True:
                    t = time.perf_counter()
                    frame = next(it, None)
                    parts["facts_read"] += time.perf_counter() - t
                    if frame is None:
                        return
                    yield frame

            snap = build(reg, timed(read_all_facts(conn, ids) if ids.size else [read_facts(conn)]))
            del reg
            self.snapshot, self.position = snap, pos
            self.stats = Stats(
                "rebuild",
                self.stats.reason or "first use",
                time.perf_counter() - t0,
                0,
                snap.n,
                self.stats.rebuilds + 1,
                self.stats.deltas,
            )
            total = time.perf_counter() - t0
            parts["columns_build"] = total - parts["registry_read"] - parts["facts_read"]
            self.stats.parts = {k: round(v, 3) for k, v in parts.items()}
            self.save()
            return snap

    # -- the snapshot file ------------------------------------------------------------

    def _persisting(self) -> bool:
        from yiwang.policies import snapshotfile

        return self.persist and snapshotfile.enabled()

    def save(self) -> bool:
        """Write the current snapshot to the data directory for new processes. Only data
        read outside a transaction is written (so nothing that may still roll back); a
        failure is logged, never raised. Returns whether a file was written."""
        from yiwang.policies import snapshotfile

        with self.lock:
            snap = self.snapshot
            if snap is None or not self._persisting() or self.connection.in_atomic_block:
                return False
            t0 = time.perf_counter()
            try:
                path = snapshotfile.save(snap, self.position, self.connection)
            except Exception:
                log.warning("could not save the fact columns snapshot", exc_info=True)
                return False
            if path is None:
                return False
            self.since_save = 0
            size = sum(p.stat().st_size for p in path.iterdir())
            self.saved = {
                "seconds": round(time.perf_counter() - t0, 3),
                "bytes": size,
                "dir": str(path),
            }
            return True

    def _load(self) -> bool:
        """Take the saved snapshot if there is a usable one (then the caller applies the
        change log since its position)."""
        from yiwang.policies import snapshotfile

        if not self._persisting():
            return False
        t0 = time.perf_counter()
        try:
            snap, pos, info = snapshotfile.load(self.connection)
        except snapshotfile.Refused as e:
            self.stats.reason = f"first use; snapshot file not used: {e}"
            log.info("fact columns snapshot not used on %s: %s", self.alias, e)
            return False
        except Exception as e:  # never let a bad file stop matching: build instead
            self.stats.reason = f"first use; snapshot file unreadable: {type(e).__name__}"
            log.warning("fact columns snapshot unreadable on %s", self.alias, exc_info=True)
            return False
        self.snapshot, self.position, self.since_save = snap, pos, 0
        self.loaded = {
            "seconds": round(time.perf_counter() - t0, 3),
            "bytes": info["bytes"],
            "dir": info["dir"],
        }
        return True

    def current(self) -> Snapshot:
        """The fact table as the database holds it now (refreshed as needed)."""
        with self.lock:
            loaded = False
            if self.snapshot is None:
                self.stats.reason = "first use"
                loaded = self._load()
                if not loaded:
                    return self.rebuild()
            t0 = time.perf_counter()
            kind, pos, orgs = self._changes()
            assert self.snapshot is not None
            if kind.startswith("rebuild"):
                self.stats.reason = kind.partition(": ")[2]
                return self.rebuild()
            if kind == "fresh":
                self.position = pos
                self.stats.kind = "load" if loaded else "fresh"
                self.stats.seconds = time.perf_counter() - t0
                self.stats.changes = self.stats.organisations = 0
                return self.snapshot
            if len(orgs) > REBUILD_SHARE * max(self.snapshot.n, 1) and len(orgs) > CHUNK:
                self.stats.reason = f"{len(orgs):,} organisations changed"
                return self.rebuild()
            ids = sorted(orgs)
            conn = self.connection
            mini = build(read_registry(conn, ids), read_facts(conn, ids))
            self.snapshot = merge(self.snapshot, mini, np.asarray(ids, dtype=np.int64))
            self.position = pos
            self.stats = Stats(
                "load+delta" if loaded else "delta",
                "",
                time.perf_counter() - t0,
                len(orgs),
                len(orgs),
                self.stats.rebuilds,
                self.stats.deltas + 1,
            )
            self.since_save += len(orgs)
            if self.since_save > max(SAVE_AFTER * self.snapshot.n, SAVE_MIN):
                self.save()  # so the next new process has less to apply
            return self.snapshot


_STORES: dict[str, FactStore] = {}
_STORES_LOCK = threading.Lock()


def store(alias: str = "default") -> FactStore:
    with _STORES_LOCK:
        s = _STORES.get(alias)
        if s is None:
            s = _STORES[alias] = FactStore(alias)
        return s


def current(alias: str = "default") -> Snapshot:
    """The fresh fact table of the enterprises in business."""
    return store(alias).current()


def reset() -> None:
    """Forget every snapshot in this process (the next use rebuilds; tests use this to act
    as a new process)."""
    with _STORES_LOCK:
        _STORES.clear()


def prune(*, keep: dt.timedelta = dt.timedelta(days=7), alias: str = "default") -> int:
    """Delete change log rows older than ``keep`` (never the newest). A process whose
    snapshot stands on a deleted row rebuilds on its next use. Returns the rows deleted."""
    from django.db import connections
    from django.utils import timezone

    from yiwang.policies.models import FactChange

    conn = connections[alias]
    qs = FactChange.objects.using(alias).filter(created_at__lt=timezone.now() - keep)
    top = FactChange.objects.using(alias).order_by("-seq").values_list("seq", flat=True).first()
    if top is None:
        return 0
    qs = qs.filter(seq__lt=top)
    if conn.vendor == "postgresql":  # never a row of a transaction that may still be open
        with conn.cursor() as cur:
            cur.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            qs = qs.filter(txid__lt=int(cur.fetchone()[0]))
    deleted, _ = qs.delete()
    return int(deleted)
