"""Vendored assets are what package.json pins, unedited; templates load nothing remote and
carry no inline script (CSP is script-src 'self')."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

import yiwang

PACKAGE = Path(yiwang.__file__).resolve().parent
REPO = PACKAGE.parent.parent
VENDOR = PACKAGE / "web" / "static" / "vendor"
TEMPLATES = sorted(PACKAGE.glob("*/templates/**/*.html"))
OWN_JS = sorted((PACKAGE / "web" / "static" / "yiwang").glob("*.js"))


def test_vendored_files_match_their_recorded_hashes():
    sums = (VENDOR / "SHA256SUMS").read_text().splitlines()
    recorded = dict(reversed(line.split(maxsplit=1)) for line in sums)
    present = {
        p.relative_to(VENDOR).as_posix()
        for p in VENDOR.rglob("*")
        if p.is_file() and p.name != "SHA256SUMS"
    }
    assert present == set(recorded), "vendor/ changed without scripts/vendor-assets.sh"
    for name, digest in recorded.items():
        actual = hashlib.sha256((VENDOR / name).read_bytes()).hexdigest()
        assert actual == digest, f"{name} was edited by hand; re-run scripts/vendor-assets.sh"


@pytest.mark.skipif(not (REPO / "package.json").exists(), reason="not a source checkout")
def test_vendored_versions_are_the_pinned_ones():
    package = json.loads((REPO / "package.json").read_text())
    lock = json.loads((REPO / "package-lock.json").read_text())
    pins = package["devDependencies"]
    assert set(pins) == {"htmx.org", "echarts"}
    for name, version in pins.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} must be pinned exactly"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    assert pins["htmx.org"].startswith("2.") and pins["echarts"].startswith("5.")
    assert (VENDOR / "htmx" / "VERSION").read_text().split() == ["htmx.org", pins["htmx.org"]]
    assert (VENDOR / "echarts" / "VERSION").read_text().split()[:2] == [
        "echarts",
        pins["echarts"],
    ]


def test_vendored_files_are_served_as_static_files_with_licences():
    for path in ["vendor/htmx/htmx.min.js", "vendor/echarts/echarts.min.js"]:
        assert finders.find(path), path
    for lic in ["htmx/LICENSE", "echarts/LICENSE", "echarts/NOTICE", "echarts/LICENSE-zrender"]:
        assert (VENDOR / lic).stat().st_size > 100, lic


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_templates_load_nothing_remote_and_run_no_inline_script(template):
    html = template.read_text(encoding="utf-8")
    remote = re.findall(r"""(?:src|href|action|hx-\w+)\s*=\s*["']?\s*(?:https?:)?//""", html)
    assert not remote, "no CDN or remote asset: vendor it (docs/frontend-assets.md)"
    for tag in re.findall(r"<script\b[^>]*>", html, flags=re.I):
        assert "src=" in tag or 'type="application/json"' in tag, f"inline script: {tag}"
    assert not re.search(r"""\son[a-z]+\s*=""", html, flags=re.I), "inline event handler"
    assert "javascript:" not in html.lower()
    assert "hx-on" not in html, "hx-on needs eval, which CSP and htmx-config forbid"


@pytest.mark.parametrize("script", OWN_JS, ids=lambda p: p.name)
def test_own_scripts_do_not_eval_or_inject_html(script):
    js = script.read_text(encoding="utf-8")
    for bad in ["eval(", "new Function", "innerHTML", "document.write", 'setTimeout("']:
        assert bad not in js, f"{script.name} uses {bad}"


def test_base_template_loads_vendored_htmx_and_locks_its_config():
    base = (PACKAGE / "web" / "templates" / "web" / "base.html").read_text()
    assert "{% static 'vendor/htmx/htmx.min.js' %}" in base
    config = json.loads(re.search(r"name=\"htmx-config\" content='([^']*)'", base).group(1))
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["historyCacheSize"] == 0  # no page (with unmasked data) in localStorage
    assert 'hx-headers=\'{"X-CSRFToken": "{{ csrf_token }}"}\'' in base
