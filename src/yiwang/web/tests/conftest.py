"""Browser fixtures: pytest-playwright driving Debian's Chromium against pytest-django's
live server. Playwright's own browser downloads are never used. The helpers are in
browser.py (import them from there); they are re-exported here too."""

from __future__ import annotations

import os

import pytest

from yiwang.web.tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CSP_CONSOLE,
    NO_CHROMIUM,
    RECORD_CSP_VIOLATIONS,
    Shell,
)

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "CSP_CONSOLE",
    "NO_CHROMIUM",
    "RECORD_CSP_VIOLATIONS",
    "Shell",
]

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
# the ORM calls the tests make (seeding, checking audit rows) as "async unsafe".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=NO_CHROMIUM)
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        pytest.skip(NO_CHROMIUM)
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # A browser in China: Accept-Language zh-CN, Beijing time, a laptop-sized window.
    return {
        **browser_context_args,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "viewport": {"width": 1280, "height": 900},
    }


@pytest.fixture
def demo_site(live_server, transactional_db):
    from yiwang import demo

    # The shell, cases and registry pages need the district, not the policy library or the
    # exchange (their browser tests seed what they need).
    demo.seed(residents=3, enterprises=1, policies=False, exchange=False, onestop=False)
    return live_server


@pytest.fixture
def shell(page, demo_site) -> Shell:
    s = Shell(page=page, url=demo_site.url)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.on("console", lambda m: s.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: s.page_errors.append(str(exc)))

    def on_request(request):
        if not (request.url.startswith(demo_site.url) or request.url.startswith("data:")):
            s.foreign_requests.append(request.url)

    page.on("request", on_request)
    page.set_default_timeout(15_000)
    return s
