"""The audit chain: append in the caller's transaction, verify, checkpoint.

``hash = SM3(bytes.fromhex(prev_hash) + canonical(record))``; record 1 follows ``GENESIS``.
Appends are serialised (a transaction-scoped advisory lock on PostgreSQL; ``BEGIN IMMEDIATE``
on SQLite) and read the head under that lock inside the transaction, so ``seq`` is contiguous
and the chain never forks. See docs/adr/0004-audit-chain.md and docs/benchmarks.md.

Canonical form (``canonical``): the UTF-8 bytes of the record's fields in ``COLUMNS`` order,
joined with U+001F:

- ``seq`` and ``actor_id`` in decimal (``actor_id`` empty when there is none);
- ``at`` in UTC as ``YYYY-MM-DD HH:MM:SS.ffffff`` (always six fractional digits; the form
  Django stores in SQLite, so the database hands it over as it is);
- the text fields as stored. ``append_many`` replaces U+001E and U+001F in them with U+FFFD,
  so the join is unambiguous (nothing can move from one field into the next) and a record's
  canonical text never contains U+001E;
- ``fields`` and ``detail`` as JSON in the form PostgreSQL prints ``jsonb``: object keys
  ordered by UTF-8 length and then bytewise, ``", "`` and ``": "`` as separators, non-ASCII
  characters as they are, control characters escaped as ``json.dumps`` escapes them
  (``\\n``, ``\\u001f``); a float that Python prints with a positive exponent is written
  as the integer it is, and ``-0.0`` as ``0.0``, so the text survives ``jsonb`` unchanged.

Appends store exactly that JSON text (SQLite keeps it verbatim; PostgreSQL's ``jsonb`` prints
it back identically), so ``verify`` lets the database assemble the canonical bytes from the
stored columns, a whole chunk of records at a time, and Python only hashes them. A chunk that
does not check out that way is re-checked record by record, and a record whose stored text
differs but means the same (JSON re-serialised by the ORM, a time stored without
microseconds) is re-checked through ``canonical`` on its parsed values before it is called
altered.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from yiwang.core import context
from yiwang.core.crypto import HASHLIB_SM3, sm3
from yiwang.core.models import AuditCheckpoint, AuditRecord, AuditResult

GENESIS = "0" * 64
_LOCK_KEY = 0x59_49_57_41_4E_47  # "YIWANG"
SEP = "\x1f"  # between the fields of a record
_RS = "\x1e"  # between records, when the database hands over a chunk as one string
_SUBSTITUTE = "\ufffd"

# Column order shared by append, canonical and verify.
COLUMNS = (
    "seq",
    "at",
    "actor_id",
    "actor",
    "department",
    "ip",
    "event",
    "object_type",
    "object_id",
    "subject_id",
    "fields",
    "purpose",
    "result",
    "detail",
)
_TEXT_COLUMNS = ("actor", "department", "ip", "event", "object_type", "object_id", "subject_id")
_TABLE = AuditRecord._meta.db_table
_ATTNAMES = [f.attname for f in AuditRecord._meta.concrete_fields]  # COLUMNS + hashes
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # UTC


def _fmt_time(at: datetime | str) -> str:
    if isinstance(at, str):  # raw SQLite value
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime(_TIME_FORMAT)


# --- Canonical JSON: the text PostgreSQL prints for jsonb -------------------------------------
def _key_text(key: Any) -> str:
    # json.dumps turns non-string keys into their JSON text ("1", "true", "null").
    return key if isinstance(key, str) else json.dumps(key)


def _jsonb_order(key: str) -> tuple[int, bytes]:
    raw = key.encode()
    return len(raw), raw


def _jsonb_shape(value: Any) -> Any:
    """``value`` with keys in jsonb order and floats as jsonb prints them back."""
    if isinstance(value, dict):
        items = {_key_text(k): v for k, v in value.items()}
        return {k: _jsonb_shape(items[k]) for k in sorted(items, key=_jsonb_order)}
    if isinstance(value, list | tuple):
        return [_jsonb_shape(v) for v in value]
    if isinstance(value, float):
        if value == 0.0:
            return 0.0  # jsonb has no negative zero
        if value.is_integer() and "e" in repr(value):
            return int(value)  # 1e+16 comes back from jsonb as 10000000000000000
    return value


_JSON_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "), allow_nan=False).encode


def _dump_json(value: Any) -> str:
    if not value and isinstance(value, list | dict):
        return "[]" if isinstance(value, list) else "{}"
    return _JSON_ENCODE(_jsonb_shape(value))


def _json(value: Any) -> str:
    if isinstance(value, str):  # raw JSON text from the database
        value = json.loads(value) if value else None
    return _dump_json(value)


def canonical(row: Sequence[Any]) -> bytes:
    """Canonical bytes of a record given as a tuple in ``COLUMNS`` order."""
    (
        seq,
        at,
        actor_id,
        actor,
        dept,
        ip,
        event,
        otype,
        oid,
        subj,
        fields,
        purpose,
        result,
        detail,
    ) = row
    parts = (
        str(seq),
        _fmt_time(at),
        "" if actor_id is None else str(actor_id),
        actor,
        dept,
        ip,
        event,
        otype,
        oid,
        subj,
        _json(fields),
        purpose,
        result,
        _json(detail),
    )
    return SEP.join(parts).encode()


def chain_hash(prev_hash: str, content: bytes) -> str:
    return sm3(bytes.fromhex(prev_hash) + content).hex()


def _sm3_context_copier() -> Callable[[], Any] | None:
    """A fresh SM3 context by copying a ready one: cheaper than looking the algorithm up by
    name for every record. ``None`` when hashlib's OpenSSL has no SM3."""
    return hashlib.new("sm3").copy if HASHLIB_SM3 else None


_SM3_COPY = _sm3_context_copier()


def _digest(prev_digest: bytes, content: bytes) -> bytes:
    """``SM3(prev_digest + content)``."""
    if _SM3_COPY is None:
        return sm3(prev_digest + content)
    h = _SM3_COPY()
    h.update(prev_digest)
    h.update(content)
    return h.digest()


def _lock_and_head(cur: Any = None) -> tuple[int, str]:
    """Take the append lock (held to the end of the transaction) and read the head under it."""
    if cur is None:
        with connection.cursor() as own:
            return _lock_and_head(own)
    if cur.db.vendor == "postgresql":
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    cur.execute(f"SELECT seq, hash FROM {_TABLE} ORDER BY seq DESC LIMIT 1")  # noqa: S608
    row = cur.fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def _actor_fields(actor: Any) -> tuple[int | None, str, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, "", ""
    dept = getattr(actor, "department", None)
    return actor.pk, actor.get_username(), getattr(dept, "code", "") if dept else ""


def _text(value: Any) -> str:
    """A text field as stored and hashed: a plain ``str`` without the separators."""
    text = value if type(value) is str else str(value)
    if SEP in text or _RS in text:
        text = text.replace(SEP, _SUBSTITUTE).replace(_RS, _SUBSTITUTE)
    return text


@dataclass(frozen=True)
class Entry:
    event: str
    actor: Any = None
    object_type: str = ""
    object_id: str = ""
    subject_id: str = ""
    fields: Sequence[str] = ()
    purpose: str = ""
    result: str = AuditResult.OK
    detail: dict[str, Any] | None = None
    ip: str | None = None


def record(
    event: str,
    *,
    actor: Any = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    subject_id: str = "",
    fields: Iterable[str] = (),
    purpose: str = "",
    result: str = AuditResult.OK,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditRecord:
    """Append one record in the current transaction (opening one if there is none)."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    entry = Entry(
        event=event,
        actor=actor,
        object_type=object_type,
        object_id=str(object_id),
        subject_id=subject_id,
        fields=tuple(fields),
        purpose=purpose,
        result=result,
        detail=detail,
        ip=ip,
    )
    return append_many([entry])[0]


_SQL_CACHE: dict[tuple[str, str], str] = {}


def _sql(vendor: str, name: str) -> str:
    key = (vendor, name)
    sql = _SQL_CACHE.get(key)
    if sql is None:
        sql = _SQL_CACHE[key] = _SQL_BUILDERS[name](vendor)
    return sql


def _insert_sql(vendor: str) -> str:
    cols = ", ".join((*COLUMNS, "prev_hash", "hash"))
    params = [
        "%s::jsonb" if vendor == "postgresql" and c in ("fields", "detail") else "%s"
        for c in COLUMNS
    ]
    params += ["%s", "%s"]
    return f"INSERT INTO {_TABLE} ({cols}) VALUES ({', '.join(params)})"  # noqa: S608


def append_many(entries: Sequence[Entry]) -> list[AuditRecord]:
    """Append several records under one lock, in order.

    A plain INSERT through a cursor (no ORM save path) of the text that was hashed; the
    records returned are the saved rows.
    """
    if not entries:
        return []
    ctx = context.current()
    ctx_ip = _text(ctx.ip)
    channel = ctx.channel
    db = connections[DEFAULT_DB_ALIAS]
    # Inside the caller's transaction, no savepoint of our own (two round trips saved per
    # audited action): a failure here fails the caller's transaction as a whole, which is
    # what an action whose audit record cannot be written must do anyway.
    with transaction.atomic(using=db.alias, savepoint=False), db.cursor() as cur:
        seq, prev = _lock_and_head(cur)
        prev_digest = bytes.fromhex(prev)
        now = timezone.now()
        at_text = _fmt_time(now)
        at_db = db.ops.adapt_datetimefield_value(now)
        rows: list[tuple[Any, ...]] = []
        values: list[tuple[Any, ...]] = []
        for e in entries:
            seq += 1
            actor_id, actor_name, dept = _actor_fields(e.actor)
            fields = sorted(set(e.fields))
            detail = dict(e.detail or {})
            if channel and "channel" not in detail:
                detail["channel"] = channel
            fields_json, detail_json = _dump_json(fields), _dump_json(detail)
            text = (
                _text(actor_name),
                _text(dept),
                ctx_ip if e.ip is None else _text(e.ip),
                _text(e.event),
                _text(e.object_type),
                _text(e.object_id),
                _text(e.subject_id),
            )
            purpose, result = _text(e.purpose), _text(e.result)
            content = SEP.join(
                (
                    str(seq),
                    at_text,
                    "" if actor_id is None else str(actor_id),
                    *text,
                    fields_json,
                    purpose,
                    result,
                    detail_json,
                )
            ).encode()
            new_digest = _digest(prev_digest, content)
            new = new_digest.hex()
            rows.append(
                (seq, at_db, actor_id, *text, fields_json, purpose, result, detail_json, prev, new)
            )
            values.append((seq, now, actor_id, *text, fields, purpose, result, detail, prev, new))
            prev, prev_digest = new, new_digest
        sql = _sql(db.vendor, "insert")
        if len(rows) == 1:
            cur.execute(sql, rows[0])
        else:
            cur.executemany(sql, rows)
    return [AuditRecord.from_db(db.alias, _ATTNAMES, v) for v in values]


# --- Verification ---------------------------------------------------------------------------
@dataclass
class VerifyResult:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
        }


def iter_rows(chunk: int = 5000) -> Iterator[tuple[Any, ...]]:
    """Stream ``COLUMNS + (prev_hash, hash)`` in seq order, keyset-paginated, raw values."""
    cols = ", ".join((*COLUMNS, "prev_hash", "hash"))
    last = 0
    sql = f"SELECT {cols} FROM {_TABLE} WHERE seq > %s ORDER BY seq LIMIT %s"  # noqa: S608
    while True:
        with connection.cursor() as cur:
            cur.execute(sql, [last, chunk])
            rows = cur.fetchall()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def _content_expr(vendor: str) -> str:
    """SQL for a record's canonical text, assembled from the stored columns. Equal to
    ``canonical`` for every record ``append_many`` wrote; anything else is re-checked."""
    if vendor == "postgresql":
        at = "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')"
        parts = ["seq::text", at, "coalesce(actor_id::text, '')", *_TEXT_COLUMNS]
        parts += ["fields::text", "purpose", "result", "detail::text"]
        return f"concat_ws('{SEP}', {', '.join(parts)})"
    # SQLite: Django stores a datetime as "YYYY-MM-DD HH:MM:SS.ffffff" in UTC (without the
    # fraction when it is zero: such a record is re-checked through ``canonical``).
    fmt = SEP.join(["%%d", *["%%s"] * 13])
    args = [
        "seq",
        "at",
        "ifnull(actor_id, '')",
        *_TEXT_COLUMNS,
        "fields",
        "purpose",
        "result",
        "detail",
    ]
    return f"printf('{fmt}', {', '.join(args)})"


def _rows_sql(vendor: str) -> str:
    """Record by record: ``seq, prev_hash, hash, canonical bytes`` after a seq."""
    content = _content_expr(vendor)
    content = (
        f"convert_to({content}, 'UTF8')" if vendor == "postgresql" else f"CAST({content} AS BLOB)"
    )
    return (
        f"SELECT seq, prev_hash, hash, {content} FROM {_TABLE} "  # noqa: S608
        "WHERE seq > %s ORDER BY seq LIMIT %s"
    )


def _chunk_sql(vendor: str) -> str:
    """A chunk ``(after, last]`` as one row: its count, the canonical texts joined with
    U+001E, and its prev_hash and hash columns concatenated, all in seq order.

    The aggregates take the rows in the order they are produced: PostgreSQL's from an ordered
    subquery (cheaper than an ORDER BY in each aggregate), SQLite's straight from the range
    scan of the primary-key index. Were that order ever different, the chunk would fail
    ``_check_chunk`` and be walked record by record: slower, never wrong.
    """
    content = _content_expr(vendor)
    where = f"FROM {_TABLE} WHERE seq > %s AND seq <= %s"
    if vendor == "postgresql":
        return (
            f"SELECT count(*), string_agg(c, '{_RS}'), string_agg(prev_hash, ''), "  # noqa: S608
            f"string_agg(hash, '') FROM (SELECT {content} AS c, prev_hash, hash {where} "
            "ORDER BY seq) AS chunk"
        )
    return (
        f"SELECT count(*), CAST(group_concat({content}, '{_RS}') AS BLOB), "
        f"group_concat(prev_hash, ''), group_concat(hash, '') {where}"
    )


_SQL_BUILDERS: dict[str, Callable[[str], str]] = {
    "insert": _insert_sql,
    "rows": _rows_sql,
    "chunk": _chunk_sql,
}


ChunkRow = tuple[int, Any, Any, Any]


@contextmanager
def _chunk_reader(db: Any, size: int) -> Iterator[Callable[[int], ChunkRow]]:
    """``read(after)`` gives the chunk ``(after, after + size]`` as one row (``_chunk_sql``).

    On PostgreSQL (psycopg 3 in pipeline mode) ``read`` also sends the query for the following
    chunk before it returns, so the server assembles that one while Python hashes this one,
    and text comes back as bytes, without a decode and re-encode. (SQLite runs in-process:
    there is nothing to overlap, and a helper thread measured no faster.)
    """
    sql = _sql(db.vendor, "chunk")
    pipeline = _pg_pipeline(db)
    if pipeline is None:
        with db.cursor() as cur:

            def read(after: int) -> ChunkRow:
                cur.execute(sql, [after, after + size])
                return cur.fetchone()

            yield read
        return

    raw = db.connection
    pending: dict[int, Any] = {}

    def send(after: int) -> None:
        cur = raw.cursor()
        cur.adapters.register_loader("text", _bytes_loader())
        cur.execute(sql, [after, after + size])
        pending[after] = cur

    def read_ahead(after: int) -> ChunkRow:
        if after not in pending:
            send(after)
        cur = pending.pop(after)
        row = cur.fetchone()
        cur.close()
        for stale in [k for k in pending if k != after + size]:
            pending.pop(stale).close()
        if after + size not in pending:
            send(after + size)
        return row

    with db.wrap_database_errors, pipeline:
        try:
            yield read_ahead
        finally:
            for cur in pending.values():
                cur.close()


def _pg_pipeline(db: Any) -> Any:
    """A psycopg pipeline on ``db``'s connection, or ``None`` where there is none."""
    if db.vendor != "postgresql":
        return None
    try:
        import psycopg
    except ImportError:  # psycopg2
        return None
    if not psycopg.Pipeline.is_supported():
        return None
    db.ensure_connection()
    if not isinstance(db.connection, psycopg.Connection):
        return None
    return db.connection.pipeline()


@cache
def _bytes_loader() -> type:
    from psycopg.adapt import Loader

    class BytesLoader(Loader):
        def load(self, data: Any) -> bytes:
            return bytes(data)

    return BytesLoader


def _check_chunk(
    row: ChunkRow, size: int, prev: str, prev_digest: bytes
) -> tuple[str, bytes] | None:
    """The fast path: a chunk of ``size`` records (a row of ``_chunk_sql``) that follows
    ``prev``. Returns the new head ``(hash, digest)`` when every record checks out, ``None``
    when anything does not (a short chunk, a gap, a record stored in other than canonical
    form, a forgery): the caller then walks it record by record."""
    count, joined, prevs, hashes = row
    if count != size or not joined or not hashes or not prevs:
        return None
    if isinstance(hashes, bytes | bytearray | memoryview):
        hashes = bytes(hashes).decode("ascii", "replace")
        prevs = bytes(prevs).decode("ascii", "replace")
    if prevs != prev + hashes[:-64]:
        return None
    contents = (joined.encode() if isinstance(joined, str) else bytes(joined)).split(_RS.encode())
    if len(contents) != size:
        return None
    digests: list[bytes] = []
    append = digests.append
    copy = _SM3_COPY
    if copy is None:
        for content in contents:
            prev_digest = sm3(prev_digest + content)
            append(prev_digest)
    else:
        for content in contents:
            h = copy()
            h.update(prev_digest)
            h.update(content)
            prev_digest = h.digest()
            append(prev_digest)
    if b"".join(digests).hex() != hashes:
        return None
    return hashes[-64:], prev_digest


def _stored_row_matches(cur: Any, seq: int, prev_digest: bytes, stored: str) -> bool:
    """The slow path for one record: rebuild its canonical bytes from the parsed values."""
    cur.execute(f"SELECT {', '.join(COLUMNS)} FROM {_TABLE} WHERE seq = %s", [seq])  # noqa: S608
    row = cur.fetchone()
    if row is None:
        return False
    try:
        content = canonical(row)
    except (TypeError, ValueError, AttributeError):  # a value no append could have written
        return False
    return _digest(prev_digest, content).hex() == stored


def _broken(checked: int, head_hash: str, bad_seq: int, problem: str) -> VerifyResult:
    """The chain is intact up to record ``checked`` (hash ``head_hash``); ``bad_seq`` is not."""
    return VerifyResult(False, checked, checked, head_hash, bad_seq, problem)


def _check_rows(
    cur: Any, after: int, limit: int, prev: str, prev_digest: bytes
) -> tuple[int, str, bytes] | VerifyResult:
    """Record by record, up to ``limit`` records after ``after`` (the chain is intact up to
    there and ends in ``prev``): ``(records checked, head hash, head digest)``, or what is
    wrong with the first bad record."""
    cur.execute(_sql(cur.db.vendor, "rows"), [after, limit])
    expected_seq = after + 1
    for seq, prev_hash, stored, content in cur.fetchall():
        checked = expected_seq - 1
        if seq != expected_seq:
            problem = f"record {expected_seq} is missing (next present is {seq}): deleted"
            return _broken(checked, prev, expected_seq, problem)
        if prev_hash != prev:
            problem = f"record {seq} does not follow record {checked}: "
            return _broken(checked, prev, seq, problem + "deleted, inserted or reordered")
        digest = _digest(prev_digest, bytes(content)) if content is not None else b""
        if digest.hex() != stored:
            if not _stored_row_matches(cur, seq, prev_digest, stored):
                problem = f"record {seq} was altered: its hash does not match"
                return _broken(checked, prev, seq, problem)
            digest = bytes.fromhex(stored)
        prev, prev_digest = stored, digest
        expected_seq += 1
    return expected_seq - 1 - after, prev, prev_digest


def verify(chunk: int = 1000) -> VerifyResult:
    """Walk the chain; report the first record that was edited, deleted or reordered.

    Chunk by chunk, the database hands over the chunk's canonical texts and hashes in one row
    and Python hashes them, carrying the previous digest (``_check_chunk``). A chunk that
    does not check out is walked record by record (``_check_rows``) to name the first bad
    record, or to accept records stored in an equivalent, non-canonical form.
    """
    prev, prev_digest = GENESIS, bytes(32)
    checked = 0
    chunk = max(chunk, 1)
    db = connections[DEFAULT_DB_ALIAS]
    with _chunk_reader(db, chunk) as read, db.cursor() as cur:
        while True:
            head = _check_chunk(read(checked), chunk, prev, prev_digest)
            if head is not None:
                prev, prev_digest = head
                checked += chunk
                continue
            walked = _check_rows(cur, checked, chunk, prev, prev_digest)
            if isinstance(walked, VerifyResult):
                return walked
            n, prev, prev_digest = walked
            checked += n
            if n < chunk:
                break
    # Truncation of the tail: a checkpoint beyond the head, or a checkpoint hash mismatch.
    for cp in AuditCheckpoint.objects.order_by("-seq")[:50]:
        if cp.seq > checked:
            problem = (
                f"checkpoint at record {cp.seq} is beyond the chain's head {checked}: records "
                "were deleted from the end"
            )
            return _broken(checked, prev, checked + 1, problem)
    return VerifyResult(True, checked, checked, prev)


def verify_checkpoints() -> tuple[bool, str]:
    """Each stored checkpoint's hash must equal the record it points at."""
    hashes = dict(
        AuditRecord.objects.filter(
            seq__in=AuditCheckpoint.objects.values_list("seq", flat=True)
        ).values_list("seq", "hash")
    )
    for cp in AuditCheckpoint.objects.all():
        if hashes.get(cp.seq) != cp.hash:
            return False, f"checkpoint at record {cp.seq} does not match the chain"
    return True, ""


def write_checkpoint() -> AuditCheckpoint | None:
    """Record the current head (the scheduled job); also appended to a file outside the DB."""
    from django.conf import settings

    with transaction.atomic():
        seq, head = _lock_and_head()
        if seq == 0:
            return None
        last = AuditCheckpoint.objects.order_by("-seq").first()
        if last and last.seq == seq:
            return last
        cp = AuditCheckpoint.objects.create(seq=seq, hash=head)
    path = settings.DATA_DIR / "audit-checkpoints.log"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"{timezone.now().isoformat()} {seq} {head}\n")
    return cp
