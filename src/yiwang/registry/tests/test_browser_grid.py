"""The grid map as a grid worker uses it: real Chromium, real login, ECharts over the grid
GeoJSON, drill-down by clicking street → community → grid, then a resident whose ID number
shows masked.

Run with ``python -m pytest -q src/yiwang/registry/tests/test_browser_grid.py``; skipped when
/usr/bin/chromium is absent. Set ``YIWANG_SCREENSHOTS=<dir>`` to keep screenshots.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from yiwang.web.tests.conftest import (
    CHROMIUM,
    NO_CHROMIUM,
    RECORD_CSP_VIOLATIONS,
    Shell,
)

# Playwright's sync API runs an event loop in this thread; the tests seed through the ORM.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]


@pytest.fixture
def site(live_server, transactional_db):
    from yiwang.accounts.tests.factories import build_world
    from yiwang.registry.tests.test_views import build_area

    world = build_world()
    return live_server, world, build_area(world)


@pytest.fixture
def shell(page, site) -> Shell:
    server = site[0]
    s = Shell(page=page, url=server.url)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.on("console", lambda m: s.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: s.page_errors.append(str(exc)))

    def on_request(request):
        if not (request.url.startswith(server.url) or request.url.startswith("data:")):
            s.foreign_requests.append(request.url)

    page.on("request", on_request)
    page.set_default_timeout(15_000)
    return s


def snap(shell: Shell, name: str) -> None:
    folder = os.environ.get("YIWANG_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shell.page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def map_ready(shell: Shell):
    chart = shell.page.locator("#grid-map[data-map-ready=true]")
    expect(chart).to_be_visible()
    expect(chart.locator("svg path").first).to_be_visible()
    return chart


def click_region(shell: Shell, url_pattern: str) -> None:
    """Click the middle of the map: at each level the worker's one region fills it."""
    chart = map_ready(shell)
    with shell.page.expect_navigation(url=re.compile(url_pattern)):
        chart.click()


def test_grid_worker_drills_down_the_map_to_a_masked_resident(shell, site):
    from yiwang.accounts.tests.factories import PASSWORD

    _server, world, area = site
    street = world.divisions["street_a"]
    community = area.communities[0]
    grid = area.grids[0]

    shell.log_in("grid_worker_a", PASSWORD)
    shell.goto("/console/grids/")
    map_ready(shell)
    expect(shell.page.get_by_test_id("crumbs")).to_contain_text("全部网格")
    snap(shell, "map-street")

    # street → community → grid → the grid's profile, each by clicking the map
    click_region(shell, rf"street={street.code}")
    expect(shell.page.get_by_test_id("crumbs")).to_contain_text(street.name)
    click_region(shell, rf"community={community.code}")
    expect(shell.page.get_by_test_id("crumbs")).to_contain_text(community.name)
    snap(shell, "map-grid")
    click_region(shell, rf"/console/grids/{grid.pk}/$")
    counts = shell.page.get_by_test_id("profile-counts")
    expect(counts.locator('[data-count="people"] .stat-value')).to_have_text("1")
    map_ready(shell)
    snap(shell, "profile")

    # the grid's people, then the resident: the ID number is masked
    with shell.page.expect_navigation():
        counts.locator('[data-count="people"] a').click()
    assert f"grid={grid.code}" in shell.page.url
    rows = shell.page.get_by_test_id("people").locator("tbody tr")
    expect(rows).to_have_count(1)
    with shell.page.expect_navigation():
        rows.first.locator("a[data-person]").click()
    id_number = area.person.id_number
    masked = shell.page.get_by_test_id("masked-id_number")
    expect(masked).to_have_text(f"{id_number[:3]}***********{id_number[-4:]}")
    expect(shell.page.get_by_test_id("masked-name")).to_have_text("王*明")
    assert id_number not in shell.page.content()
    expect(shell.page.get_by_test_id("timeline")).to_be_visible()
    snap(shell, "person")
    shell.assert_clean()


def test_breadcrumb_goes_back_up_and_the_metric_recolours(shell, site):
    from yiwang.accounts.tests.factories import PASSWORD

    _server, world, _area = site
    shell.log_in("operator_a", PASSWORD)
    shell.goto(f"/console/grids/?street={world.divisions['street_a'].code}")
    map_ready(shell)
    expect(shell.page.get_by_test_id("units").locator("tbody tr")).to_have_count(2)
    # Choosing another count recolours in place and remembers it in the address.
    shell.page.get_by_test_id("metric").select_option("things")
    expect(shell.page).to_have_url(re.compile(r"metric=things"))
    snap(shell, "map-communities")
    with shell.page.expect_navigation():
        shell.page.get_by_test_id("crumbs").locator("a").first.click()
    assert shell.page.url.endswith("/console/grids/")
    map_ready(shell)
    shell.assert_clean()
