"""Browser fixtures: pytest-playwright driving Debian's Chromium against pytest-django's
live server. Playwright's own browser downloads are never used."""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
# the ORM calls the tests make (seeding, checking audit rows) as "async unsafe".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NO_CHROMIUM = (
    f"{CHROMIUM} is absent: browser tests drive Debian's Chromium (apt-get install chromium "
    "fonts-noto-cjk); Playwright's bundled browsers are never downloaded"
)


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


# Chromium reports a blocked inline script, style or eval as a console error starting
# "Refused to …" and naming the Content Security Policy; the DOM also fires
# `securitypolicyviolation`, which an init script (run by the browser, outside the page's CSP)
# records in window.__cspViolations.
CSP_CONSOLE = re.compile(r"Content Security Policy|Refused to (execute|load|apply|evaluate)")
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI || "inline"}`);
});
"""


@dataclass
class Shell:
    """A page on the live server, with everything worth failing a test over recorded."""

    page: object
    url: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    dom_csp: list[str] = field(default_factory=list)

    def goto(self, path: str):
        self.collect_dom_csp()
        return self.page.goto(self.url + path)

    def collect_dom_csp(self) -> None:
        # Take (and empty) the page's list; a page mid-navigation has nothing to give.
        with contextlib.suppress(Exception):
            self.dom_csp += self.page.evaluate("(window.__cspViolations || []).splice(0)")

    @property
    def csp_violations(self) -> list[str]:
        self.collect_dom_csp()
        return [m for m in self.console_errors if CSP_CONSOLE.search(m)] + self.dom_csp

    def log_in(self, username: str, password: str | None = None) -> None:
        from yiwang.demo import DEMO_PASSWORD

        self.goto("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password or DEMO_PASSWORD)
        self.collect_dom_csp()
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")

    def log_out(self) -> None:
        with self.page.expect_navigation():
            self.page.get_by_test_id("logout").click()

    def nav_keys(self) -> list[str]:
        return self.page.locator("[data-nav]").evaluate_all("els => els.map(e => e.dataset.nav)")

    def nav_labels(self) -> list[str]:
        return [t.strip() for t in self.page.locator("[data-nav]").all_inner_texts()]

    def assert_clean(self) -> None:
        """No CSP violation, no uncaught script error, nothing fetched from elsewhere."""
        assert self.csp_violations == [], self.csp_violations
        assert self.page_errors == [], self.page_errors
        assert self.foreign_requests == [], f"requests off the server: {self.foreign_requests}"


@pytest.fixture
def demo_site(live_server, transactional_db):
    from yiwang import demo

    demo.seed(residents=3, enterprises=1)
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
