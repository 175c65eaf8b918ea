"""The fact columns on disk: a new process loads them instead of building them from the
database, then applies the change log since the saved position (``factstore``).

Layout, under ``$YIWANG_DATA_DIR/policy-facts/<database key>/`` (directory 0700, files 0600 —
the columns are enterprise facts such as revenue and tax credit level, so they live in the
protected data directory like the database file and the private uploads):

- ``snap-<random>/``: one ``.npy`` file per array (ids, each numeric column, the codes of each
  coded column, street, industry section, registry industry code) and ``manifest.json``
  written last: the format version, a fingerprint of the catalog and of this module's column
  rules, the database identity, the change-log position (``seq`` / ``tok`` of the last row
  seen, PostgreSQL ``xmin`` and the rows of then-open transactions), the categories of every
  coded column and a CRC-32 and shape per file;
- ``CURRENT``: the name of the snapshot directory to use, replaced atomically
  (``os.replace``) once that directory is complete. A reader never sees a half-written
  snapshot: it follows ``CURRENT`` to a directory whose manifest checks out, or falls back to
  a full build.

Arrays are memory-mapped read-only (``np.load(mmap_mode="r")``): a snapshot is immutable and
a refresh copies the columns it changes (``factstore.merge``), so nothing writes into them,
and worker processes on one machine share the pages through the page cache.

Refused (→ the caller builds from the database): a missing or partial directory, another
format or catalog, another database, a CRC or shape mismatch, a position with no anchor row
(an empty log cannot prove which database a snapshot came from), or any error while reading.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from yiwang.rules.vector import Categorical

if TYPE_CHECKING:
    from yiwang.policies.factstore import Position, Snapshot

log = logging.getLogger(__name__)

FORMAT = 1  # bump whenever the arrays' meaning or the manifest changes
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
STALE_TMP = 3600.0  # seconds: a temporary directory older than this is a crashed write
GRACE = 60.0  # seconds: a newer snapshot directory is never removed by another save


def enabled() -> bool:
    """Snapshots are on unless ``POLICIES_FACT_SNAPSHOT = False`` (setting) or
    ``YIWANG_POLICY_SNAPSHOT=0`` (environment)."""
    from django.conf import settings

    default = os.environ.get("YIWANG_POLICY_SNAPSHOT", "1") != "0"
    return bool(getattr(settings, "POLICIES_FACT_SNAPSHOT", default))


def base_dir() -> Path:
    from django.conf import settings

    return Path(settings.DATA_DIR) / "policy-facts"


def identity(connection: Any) -> dict[str, Any] | None:
    """What names the database the columns were read from; None when it cannot be
    persisted (an in-memory SQLite database)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(s.get("NAME") or "")
        if not name or name == ":memory:" or "mode=memory" in name:
            return None
        path = Path(name).resolve()
        try:
            st = path.stat()
        except OSError:
            return None
        return {"vendor": "sqlite", "path": str(path), "inode": st.st_ino, "dev": st.st_dev}
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "SELECT current_database(), oid::text::bigint FROM pg_database "
                "WHERE datname = current_database()"
            )
            db, oid = cur.fetchone()
        return {
            "vendor": "postgresql",
            "host": str(s.get("HOST") or ""),
            "port": str(s.get("PORT") or ""),
            "database": str(db),
            "oid": int(oid),
        }
    return None


def _key(ident: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:20]


def fingerprint() -> str:
    """The catalog and the rules that turn stored rows into columns: a snapshot made under
    other ones is not used."""
    from yiwang.policies import factlog, profile

    raw = {
        "format": FORMAT,
        "catalog": profile.catalog().to_dict(),
        "registry_facts": list(profile.REGISTRY_FACTS),
        "org_columns": list(factlog.ORG_COLUMNS),
    }
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()


# ---------------------------------------------------------------- writing


def _arrays(snap: Snapshot) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Files to write (name → array) and the manifest's description of them."""
    files: dict[str, np.ndarray] = {"ids": np.ascontiguousarray(snap.ids, dtype=np.int64)}
    numeric: dict[str, str] = {}
    categorical: dict[str, dict[str, Any]] = {}
    for i, (name, arr) in enumerate(snap.numeric.items()):
        numeric[name] = f"n{i}"
        files[f"n{i}"] = np.ascontiguousarray(arr, dtype=np.float64)
    for i, (name, cat) in enumerate(snap.categorical.items()):
        categorical[name] = {"file": f"c{i}", "categories": list(cat.categories)}
        files[f"c{i}"] = np.ascontiguousarray(cat.codes, dtype=np.int32)
    extra: dict[str, dict[str, Any]] = {}
    for name in ("street", "section", "industry_code"):
        cat = getattr(snap, name)
        if cat is None:  # a snapshot made without the registry's industry codes
            cat = Categorical(np.full(snap.n, -1, dtype=np.int32), [])
        extra[name] = {"file": name, "categories": list(cat.categories)}
        files[name] = np.ascontiguousarray(cat.codes, dtype=np.int32)
    return files, {"numeric": numeric, "categorical": categorical, "registry": extra}


def _crc(arr: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(arr).view(np.uint8).data) & 0xFFFFFFFF


def _cleanup(root: Path, keep: str) -> None:
    """Remove other snapshot directories (a process that mapped their files keeps its
    mapping) and temporary ones left by a crashed write. Spared: the one ``CURRENT`` names
    now, and any written in the last ``GRACE`` seconds (another process may be about to
    name it in ``CURRENT``); the next save removes them."""
    now = time.time()
    try:
        named = (root / CURRENT).read_text(encoding="utf-8").strip()
    except OSError:
        named = keep
    for p in root.iterdir():
        if not p.is_dir() or p.name in (keep, named):
            continue
        try:
            age = now - p.stat().st_mtime
        except OSError:
            continue
        if age < (STALE_TMP if p.name.endswith(".tmp") else GRACE):
            continue
        shutil.rmtree(p, ignore_errors=True)


def save(snap: Snapshot, position: Position, connection: Any) -> Path | None:
    """Write ``snap`` (read at ``position``) for the database of ``connection``; returns
    the snapshot directory, or None when it is not persisted (in-memory database, no anchor
    row in the log)."""
    ident = identity(connection)
    if ident is None or position.tok is None:
        return None
    root = base_dir() / _key(ident)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(root.parent, 0o700)
        os.chmod(root, 0o700)
    name = f"snap-{int(time.time())}-{secrets.token_hex(6)}"
    tmp = root / f"{name}.tmp"
    tmp.mkdir(mode=0o700)
    try:
        files, layout = _arrays(snap)
        checks: dict[str, Any] = {}
        for fname, arr in files.items():
            path = tmp / f"{fname}.npy"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                np.save(fh, arr, allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
            checks[fname] = {"crc32": _crc(arr), "shape": list(arr.shape), "dtype": arr.dtype.str}
        manifest = {
            "format": FORMAT,
            "fingerprint": fingerprint(),
            "database": ident,
            "n": snap.n,
            "position": {
                "seq": position.seq,
                "tok": position.tok,
                "xmin": position.xmin,
                "pending": [[s, o] for s, o in position.pending.items()],
            },
            "layout": layout,
            "files": checks,
            "saved_at": time.time(),
        }
        fd = os.open(tmp / MANIFEST, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        final = root / name
        os.rename(tmp, final)
        pointer = root / f"{CURRENT}.{secrets.token_hex(6)}.tmp"
        fd = os.open(pointer, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(name)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(pointer, root / CURRENT)
        dfd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for p in root.glob(f"{CURRENT}.*.tmp"):
        with contextlib.suppress(OSError):
            if time.time() - p.stat().st_mtime > STALE_TMP:
                p.unlink()
    _cleanup(root, name)
    return final


# ---------------------------------------------------------------- reading


class Refused(Exception):
    """The snapshot on disk cannot be used (the message says why)."""


def load(connection: Any) -> tuple[Snapshot, Position, dict[str, Any]]:
    """The saved snapshot of ``connection``'s database, with its log position and some
    facts about it (``bytes``, ``saved_at``). Raises :class:`Refused`."""
    from yiwang.policies.factstore import Position, Snapshot

    ident = identity(connection)
    if ident is None:
        raise Refused("the database cannot be persisted (in memory)")
    root = base_dir() / _key(ident)
    try:
        name = (root / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise Refused("no snapshot saved") from None
    except OSError as e:
        raise Refused(f"unreadable pointer: {e}") from e
    if not name.startswith("snap-") or "/" in name or name.endswith(".tmp"):
        raise Refused(f"bad pointer {name!r}")
    d = root / name
    try:
        manifest = json.loads((d / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise Refused(f"no readable manifest: {e}") from e
    if manifest.get("format") != FORMAT:
        raise Refused(f"format {manifest.get('format')} (this version reads {FORMAT})")
    if manifest.get("fingerprint") != fingerprint():
        raise Refused("made under another catalog or column rules")
    if manifest.get("database") != ident:
        raise Refused("made from another database")
    pos = manifest.get("position") or {}
    if pos.get("tok") is None:
        raise Refused("no change-log anchor")
    try:
        n = int(manifest["n"])
        arrays: dict[str, np.ndarray] = {}
        size = 0
        for fname, check in manifest["files"].items():
            path = d / f"{fname}.npy"
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
            if list(arr.shape) != check["shape"] or arr.dtype.str != check["dtype"]:
                raise Refused(f"{fname}: shape or type differs from the manifest")
            if arr.shape != (n,):
                raise Refused(f"{fname}: {arr.shape} rows, expected {n}")
            if _crc(arr) != check["crc32"]:
                raise Refused(f"{fname}: checksum mismatch")
            arrays[fname] = arr
            size += path.stat().st_size
        layout = manifest["layout"]

        def cat(entry: dict[str, Any]) -> Categorical:
            codes = arrays[entry["file"]]
            cats = [str(c) for c in entry["categories"]]
            if codes.size and int(codes.max(initial=-1)) >= len(cats):
                raise Refused(f"{entry['file']}: code out of range")
            return Categorical(codes, cats)

        ids = arrays["ids"]
        if ids.size > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            raise Refused("ids not sorted")
        snap = Snapshot(
            ids,
            {k: arrays[f] for k, f in layout["numeric"].items()},
            {k: cat(e) for k, e in layout["categorical"].items()},
            cat(layout["registry"]["street"]),
            cat(layout["registry"]["section"]),
            industry_code=cat(layout["registry"]["industry_code"]),
        )
        position = Position(
            int(pos["seq"]),
            int(pos["tok"]),
            None if pos.get("xmin") is None else int(pos["xmin"]),
            {int(s): (None if o is None else int(o)) for s, o in pos.get("pending", [])},
        )
    except Refused:
        raise
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise Refused(f"unreadable: {type(e).__name__}: {e}") from e
    return snap, position, {"bytes": size, "saved_at": manifest.get("saved_at"), "dir": str(d)}
