"""Test-suite settings: SQLite by default, PostgreSQL when YIWANG_TEST_DATABASE_URL is set."""

import os
import tempfile

os.environ["YIWANG_ENV"] = "test"
os.environ.setdefault("YIWANG_DATA_DIR", tempfile.mkdtemp(prefix="yiwang-test-"))

from yiwang.config.settings import *  # noqa: F403
from yiwang.config.settings import DATA_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; tests only
HUEY = {
    "huey_class": "yiwang.core.queue.SqliteHuey",
    "name": "yiwang-test",
    "filename": str(DATA_DIR / "huey-test.sqlite3"),
    "immediate": True,
}
