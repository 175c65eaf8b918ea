"""Production settings refuse to start with default secrets; the CLI prints fresh keys."""

from __future__ import annotations

import os
import subprocess
import sys


def _check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("YIWANG_")}
    base.update(env)
    base["DJANGO_SETTINGS_MODULE"] = "yiwang.config.settings"
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        capture_output=True,
        text=True,
        env=base,
        timeout=60,
        check=False,
    )


def test_production_refuses_default_keys(tmp_path):
    r = _check({"YIWANG_ENV": "production", "YIWANG_DATA_DIR": str(tmp_path)})
    assert r.returncode != 0
    assert "Refusing to start in production" in r.stderr
    assert "YIWANG_SECRET_KEY" in r.stderr and "YIWANG_DATA_KEYS" in r.stderr


def test_production_starts_with_generated_keys(tmp_path):
    from yiwang.core.keys import generate_keys

    env = {"YIWANG_ENV": "production", "YIWANG_DATA_DIR": str(tmp_path), **generate_keys()}
    r = _check(env)
    assert r.returncode == 0, r.stderr


def test_unknown_environment_is_refused(tmp_path):
    r = _check({"YIWANG_ENV": "staging", "YIWANG_DATA_DIR": str(tmp_path)})
    assert r.returncode != 0 and "YIWANG_ENV" in r.stderr
