"""The audit chain: append in the caller's transaction, verify, checkpoint.

Canonical content of a record is the unit-separated join of its fields in a fixed order
(see ``canonical``); ``hash = SM3(bytes.fromhex(prev_hash) + canonical)``. Appends are
serialised (a transaction-scoped advisory lock on PostgreSQL; ``BEGIN IMMEDIATE`` on SQLite)
so ``seq`` is contiguous and the chain never forks. See docs/adr/0004-audit-chain.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from yiwang.core import context
from yiwang.core.crypto import sm3
from yiwang.core.models import AuditCheckpoint, AuditRecord, AuditResult

GENESIS = "0" * 64
_LOCK_KEY = 0x59_49_57_41_4E_47  # "YIWANG"
SEP = "\x1f"

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


def _fmt_time(at: datetime | str) -> str:
    if isinstance(at, str):  # raw SQLite value
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(value: Any) -> str:
    if isinstance(value, str):  # raw JSON text from the database
        value = json.loads(value) if value else None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def canonical(row: Sequence[Any]) -> bytes:
    """Canonical bytes of a record given as a tuple in ``COLUMNS`` order."""
    (seq, at, actor_id, actor, dept, ip, event, otype, oid, subj, fields, purpose, result, detail) = row
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


def _lock_and_head() -> tuple[int, str]:
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        cur.execute(
            f"SELECT seq, hash FROM {AuditRecord._meta.db_table} ORDER BY seq DESC LIMIT 1"  # noqa: S608
        )
        row = cur.fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def _actor_fields(actor: Any) -> tuple[int | None, str, str]:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None, "", ""
    dept = getattr(actor, "department", None)
    return actor.pk, actor.get_username(), getattr(dept, "code", "") if dept else ""


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


def append_many(entries: Sequence[Entry]) -> list[AuditRecord]:
    """Append several records under one lock, in order."""
    ctx = context.current()
    with transaction.atomic():
        seq, prev = _lock_and_head()
        now = timezone.now()
        out: list[AuditRecord] = []
        for e in entries:
            seq += 1
            actor_id, actor_name, dept = _actor_fields(e.actor)
            rec = AuditRecord(
                seq=seq,
                at=now,
                actor_id=actor_id,
                actor=actor_name,
                department=dept,
                ip=e.ip if e.ip is not None else ctx.ip,
                event=e.event,
                object_type=e.object_type,
                object_id=e.object_id,
                subject_id=e.subject_id,
                fields=sorted(set(e.fields)),
                purpose=e.purpose,
                result=e.result,
                detail=dict(e.detail or {}),
            )
            if ctx.channel and "channel" not in rec.detail:
                rec.detail["channel"] = ctx.channel
            rec.prev_hash = prev
            rec.hash = chain_hash(prev, canonical([getattr(rec, c) for c in COLUMNS]))
            prev = rec.hash
            out.append(rec)
        AuditRecord.objects.bulk_create(out)
    return out


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
    table = AuditRecord._meta.db_table
    cols = ", ".join(COLUMNS + ("prev_hash", "hash"))
    last = 0
    sql = f"SELECT {cols} FROM {table} WHERE seq > %s ORDER BY seq LIMIT %s"  # noqa: S608
    while True:
        with connection.cursor() as cur:
            cur.execute(sql, [last, chunk])
            rows = cur.fetchall()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def verify(chunk: int = 5000) -> VerifyResult:
    """Walk the chain; report the first record that was edited, deleted or reordered."""
    prev = GENESIS
    expected_seq = 1
    checked = 0
    for row in iter_rows(chunk):
        seq, prev_hash, stored = row[0], row[-2], row[-1]
        if seq != expected_seq:
            return VerifyResult(
                False, checked, expected_seq - 1, prev, expected_seq,
                f"record {expected_seq} is missing (next present is {seq}): deleted",
            )
        if prev_hash != prev:
            return VerifyResult(
                False, checked, seq - 1, prev, seq,
                f"record {seq} does not follow record {seq - 1}: deleted, inserted or reordered",
            )
        if chain_hash(prev, canonical(row[:-2])) != stored:
            return VerifyResult(
                False, checked, seq - 1, prev, seq, f"record {seq} was altered: its hash does not match"
            )
        prev = stored
        expected_seq += 1
        checked += 1
    head_seq = expected_seq - 1
    # Truncation of the tail: a checkpoint beyond the head, or a checkpoint hash mismatch.
    for cp in AuditCheckpoint.objects.order_by("-seq")[:50]:
        if cp.seq > head_seq:
            return VerifyResult(
                False, checked, head_seq, prev, head_seq + 1,
                f"checkpoint at record {cp.seq} is beyond the chain's head {head_seq}: records "
                "were deleted from the end",
            )
    return VerifyResult(True, checked, head_seq, prev)


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
