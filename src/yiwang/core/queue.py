"""The embedded job queue: huey's SQLite storage with the durability of our own SQLite database.

huey's ``SqliteStorage`` opens its file in WAL mode but leaves SQLite's default
``synchronous=FULL``, so every enqueue waits for an fsync of the WAL (about 2.5 ms here, taken
while holding the file's write lock, so concurrent requests queue behind it). Our own SQLite
database runs WAL with ``synchronous=NORMAL`` (settings.DATABASES): a commit is durable across
a crash of the process, and only a power failure or an operating-system crash can take back the
last transactions. The queue gets the same: a job can then be lost only where the row that
enqueued it could be lost too. (Redis, the queue of a server deployment, keeps no more by
default.) ADR 0005.
"""

from __future__ import annotations

import sqlite3

from huey import Huey
from huey.storage import SqliteStorage


class NormalSyncSqliteStorage(SqliteStorage):
    """``SqliteStorage`` whose connections run ``PRAGMA synchronous=NORMAL`` (WAL mode)."""

    def _create_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._create_connection()
        if self._fsync is None:  # an explicit fsync=True/False from the settings wins
            conn.execute("pragma synchronous=1")
        return conn


class SqliteHuey(Huey):
    """``huey.SqliteHuey`` with :class:`NormalSyncSqliteStorage`; the settings' ``huey_class``
    when no ``REDIS_URL`` is set."""

    storage_class = NormalSyncSqliteStorage
