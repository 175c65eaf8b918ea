"""Browser-test helpers any app can import: Debian's Chromium settings for pytest-playwright,
a CSP-violation recorder, and ``Shell``, a page on the live server that records whatever
should fail a test. conftest.py beside this file wires them into fixtures."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path

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
