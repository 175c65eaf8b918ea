"""Audit-chain benchmarks: ``audit-append`` and ``audit-verify``.

Both compare against the raw cost of the hash function: hashlib SM3 (OpenSSL) over exactly
the bytes the chain hashes, ``bytes.fromhex(prev_hash) + canonical(record)``, gathered from
the stored records with the public ``audit.iter_rows`` and ``audit.canonical`` and hashed
in a tight loop in the same process.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bench.env import log
from bench.registry import Result, register

EVENTS = ("personal.read", "case.update", "case.assign", "auth.login", "policy.match")
PURPOSES = ("核实身份", "工单办理", "", "政策匹配")


@dataclass(frozen=True)
class _Department:
    code: str


@dataclass(frozen=True)
class _Actor:
    """Stands in for a ``User``: what ``audit`` reads from an actor, nothing more."""

    pk: int
    username: str
    department: _Department
    is_authenticated: bool = True

    def get_username(self) -> str:
        return self.username


ACTORS = [_Actor(i + 1, f"staff{i:03d}", _Department(f"D{i % 7:02d}")) for i in range(50)]


def _record_kwargs(i: int) -> dict[str, Any]:
    """A plausible record: who read or changed what, for which data subject, and why."""
    event = EVENTS[i % len(EVENTS)]
    kw: dict[str, Any] = {
        "actor": ACTORS[i % len(ACTORS)],
        "object_type": "cases.case" if event.startswith("case") else "accounts.user",
        "object_id": str(100000 + i),
        "subject_id": f"p{(i * 7919) % 1000003:08x}",
        "purpose": PURPOSES[i % len(PURPOSES)],
    }
    if event == "personal.read":
        kw["fields"] = ["phone", "id_number"]
    if event.startswith("case"):
        kw["detail"] = {"status": "处理中", "step": i % 12, "assignee": f"staff{(i * 3) % 50:03d}"}
    return {"event": event, **kw}


def _entries(n: int) -> list[Any]:
    from yiwang.core import audit

    return [audit.Entry(**_record_kwargs(i)) for i in range(n)]


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def _progress(label: str, done: int, total: int, t0: float) -> None:
    elapsed = time.perf_counter() - t0
    log(f"{label}: {done}/{total} ({_rate(done, elapsed):,.0f}/s)")


def _request_context() -> Any:
    from yiwang.core import context

    return context.set_current(context.RequestContext(ip="10.20.30.40", channel="api"))


# --- Raw hashing over the chain's own bytes --------------------------------------------------
def _chain_inputs(first_seq: int = 1, last_seq: int | None = None) -> Iterator[tuple[bytes, str]]:
    """``(prev_digest + canonical(record), stored hash)`` for records in ``[first, last]``."""
    from yiwang.core import audit

    for row in audit.iter_rows(chunk=20000):
        seq = row[0]
        if seq < first_seq:
            continue
        if last_seq is not None and seq > last_seq:
            return
        yield bytes.fromhex(row[-2]) + audit.canonical(row[:-2]), row[-1]


def _hash_new(inputs: Sequence[bytes]) -> float:
    new = hashlib.new
    t0 = time.perf_counter()
    for data in inputs:
        new("sm3", data).digest()
    return time.perf_counter() - t0


def _hash_copy(inputs: Sequence[bytes]) -> float:
    copy = hashlib.new("sm3").copy
    t0 = time.perf_counter()
    for data in inputs:
        h = copy()
        h.update(data)
        h.digest()
    return time.perf_counter() - t0


RAW_VARIANTS: dict[str, Callable[[Sequence[bytes]], float]] = {
    "hashlib.new('sm3', data).digest()": _hash_new,
    "template.copy(); update(data); digest()": _hash_copy,
}


def raw_sm3(inputs: Sequence[bytes], repeat: int) -> dict[str, Any]:
    """Best-of-``repeat`` seconds to hash ``inputs`` with each variant; the faster one counts."""
    variants: dict[str, Any] = {}
    for label, fn in RAW_VARIANTS.items():
        times = [fn(inputs) for _ in range(repeat)]
        variants[label] = {
            "best_seconds": min(times),
            "median_seconds": statistics.median(times),
            "records_per_s": _rate(len(inputs), min(times)),
        }
    best_label = min(variants, key=lambda k: variants[k]["best_seconds"])
    total_bytes = sum(len(d) for d in inputs)
    return {
        "records": len(inputs),
        "mean_bytes_per_record": round(total_bytes / len(inputs), 1) if inputs else 0,
        "best_variant": best_label,
        "best_seconds": variants[best_label]["best_seconds"],
        "median_seconds": variants[best_label]["median_seconds"],
        "records_per_s": variants[best_label]["records_per_s"],
        "variants": variants,
    }


def _gather_inputs(first_seq: int, last_seq: int) -> list[bytes]:
    inputs: list[bytes] = []
    last_stored = ""
    for data, stored in _chain_inputs(first_seq, last_seq):
        inputs.append(data)
        last_stored = stored
    # The gathered bytes are exactly what the chain hashed: the last one reproduces its hash.
    if inputs and hashlib.new("sm3", inputs[-1]).hexdigest() != last_stored:
        raise RuntimeError("the raw inputs do not reproduce the stored hash")
    return inputs


def _verify_ok(expected: int) -> dict[str, Any]:
    from yiwang.core import audit

    t0 = time.perf_counter()
    result = audit.verify()
    seconds = time.perf_counter() - t0
    if not result.ok or result.checked != expected:
        raise RuntimeError(f"the chain did not verify: {result.as_dict()}")
    return {"seconds": seconds, "records_per_s": _rate(result.checked, seconds)}


# --- audit-append ----------------------------------------------------------------------------
@register(
    "audit-append",
    "audit.record per transaction, append_many in batches, vs raw SM3",
    default_size=20000,
)
def audit_append(args: Any) -> Result:
    from yiwang.core import audit, context

    n, batch = args.size, args.batch
    kwargs = [_record_kwargs(i) for i in range(n)]
    token = _request_context()
    try:
        log(f"per-transaction: {n} × audit.record(), each in its own transaction")
        t0 = time.perf_counter()
        step = max(n // 5, 1)
        for i, kw in enumerate(kwargs, 1):
            audit.record(**kw)
            if i % step == 0:
                _progress("per-transaction", i, n, t0)
        per_tx = time.perf_counter() - t0

        entries = _entries(n)
        log(f"batched: {n} records through append_many in batches of {batch}")
        t0 = time.perf_counter()
        for start in range(0, n, batch):
            audit.append_many(entries[start : start + batch])
        batched = time.perf_counter() - t0
    finally:
        context.reset(token)

    log("raw SM3 over the per-transaction records' bytes")
    raw = raw_sm3(_gather_inputs(1, n), args.repeat)
    log("verifying the chain (sanity check)")
    check = _verify_ok(2 * n)
    return {
        "per_transaction": {
            "records": n,
            "seconds": per_tx,
            "records_per_s": _rate(n, per_tx),
            "us_per_record": per_tx / n * 1e6,
        },
        "batched": {
            "records": n,
            "batch": batch,
            "seconds": batched,
            "records_per_s": _rate(n, batched),
            "us_per_record": batched / n * 1e6,
        },
        "raw_sm3": raw,
        "per_transaction_vs_raw": per_tx / raw["best_seconds"],
        "verify_sanity": check,
    }


# --- audit-verify ----------------------------------------------------------------------------
@register(
    "audit-verify",
    "audit.verify over N records vs raw SM3 over the same bytes",
    default_size=200000,
)
def audit_verify(args: Any) -> Result:
    from yiwang.core import audit, context

    n, batch = args.size, args.build_batch
    log(f"building {n} records with append_many in batches of {batch}")
    token = _request_context()
    try:
        t0 = time.perf_counter()
        for start in range(0, n, batch):
            audit.append_many(_entries(min(batch, n - start)))
            if (start // batch) % 10 == 9:
                _progress("build", start + batch, n, t0)
        build = time.perf_counter() - t0
    finally:
        context.reset(token)

    times = []
    for i in range(args.repeat):
        log(f"verify {i + 1}/{args.repeat}")
        times.append(_verify_ok(n)["seconds"])
    log("gathering the hashed bytes")
    inputs = _gather_inputs(1, n)
    log("raw SM3")
    raw = raw_sm3(inputs, args.repeat)
    best, median = min(times), statistics.median(times)
    return {
        "build": {"records": n, "batch": batch, "seconds": build, "records_per_s": _rate(n, build)},
        "verify": {
            "records": n,
            "best_seconds": best,
            "median_seconds": median,
            "all_seconds": times,
            "records_per_s": _rate(n, best),
            "us_per_record": best / n * 1e6,
        },
        "raw_sm3": raw,
        "ratio_verify_to_raw": best / raw["best_seconds"],
        "ratio_verify_to_raw_median": median / raw["median_seconds"],
    }
