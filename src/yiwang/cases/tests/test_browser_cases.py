"""A case from report to rating in a real browser: a resident reports on the map (and is shown
the open case nearby as a possible duplicate), the centre operator accepts and dispatches, the
department handles and reports back, the grid worker verifies on site and closes, the resident
rates.

Run with ``python -m pytest -q src/yiwang/cases/tests/test_browser_cases.py``; skipped when
/usr/bin/chromium is absent. Set ``YIWANG_SCREENSHOTS=<dir>`` to keep screenshots.
"""

from __future__ import annotations

import os
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
    from yiwang.cases.catalog import seed
    from yiwang.cases.tests.scope_cases import build_cases
    from yiwang.grid.tests.scope_cases import build_grids

    seed()  # a transactional test before this one flushed the migration-seeded catalog
    world = build_world()
    build_grids(world)
    build_cases(world)
    return live_server, world


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


def as_user(shell: Shell, username: str) -> None:
    from yiwang.accounts.tests.factories import PASSWORD

    if shell.page.get_by_test_id("logout").count():
        shell.log_out()
    shell.log_in(username, PASSWORD)


def take_step(shell: Shell, case_id: int, step: str, **fields: str) -> None:
    shell.goto(f"/console/cases/{case_id}/")
    form = shell.page.get_by_test_id(f"step-{step}")
    expect(form).to_be_visible()
    for name, value in fields.items():
        form.locator(f'[name="{name}"]').fill(value)
    with shell.page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(shell.page.locator(".messages li.success")).to_be_visible()


def test_report_on_the_map_to_rating(shell, site):
    from yiwang.cases.models import Case

    _server, w = site
    grid = w.extra["grid_a"]
    nearby = w.extra["case_a"]
    page = shell.page

    # A resident reports a broken manhole cover by clicking the map.
    as_user(shell, "resident_a")
    shell.goto("/console/cases/report/")
    page.select_option("#category", "C01004")
    expect(page.locator('[data-attrs-for="C01004"]')).to_be_visible()
    expect(page.locator('[data-attrs-for="C01001"]')).to_be_hidden()
    page.select_option("#attr-C01004-hazard", "yes")
    chart = page.locator("#case-map[data-map-ready=true]")
    expect(chart).to_be_visible()
    # Click where the grid's centre is drawn; again if the layout moved in between (a
    # scrollbar appearing resizes the chart) or the click landed while the chart was still
    # animating on a busy machine.
    for _attempt in range(5):
        xy = chart.evaluate(
            "(el, p) => echarts.getInstanceByDom(el).convertToPixel({geoIndex: 0}, p)",
            [grid.centroid_lng, grid.centroid_lat],
        )
        chart.click(position={"x": xy[0], "y": xy[1]})
        try:
            expect(page.locator("#lng")).not_to_have_value("", timeout=3000)
        except AssertionError:
            continue
        if abs(float(page.input_value("#lng")) - grid.centroid_lng) < 0.001:
            break
    assert abs(float(page.input_value("#lng")) - grid.centroid_lng) < 0.001
    assert abs(float(page.input_value("#lat")) - grid.centroid_lat) < 0.001
    # the open case at the same spot is suggested as a possible duplicate
    dupes = page.get_by_test_id("duplicates")
    expect(dupes.locator(f'[data-duplicate="{nearby.pk}"]')).to_be_visible()
    page.fill("#description", "小区门口井盖破损，有坠落危险")
    page.fill("#contact_phone", "13812345678")
    snap(shell, "report")
    with page.expect_navigation():
        page.get_by_test_id("submit").click()
    case = Case.objects.latest("pk")
    assert case.pk != nearby.pk and case.grid_id == grid.pk and case.channel == "portal"
    expect(page.get_by_test_id("state")).to_have_attribute("data-state", "reported")

    # The centre accepts and dispatches; the handler sees the phone masked.
    as_user(shell, "operator_a")
    shell.goto(f"/console/cases/{case.pk}/")
    expect(page.get_by_test_id("reporter-phone")).to_have_text("138****5678")
    take_step(shell, case.pk, "accept")
    take_step(shell, case.pk, "dispatch", note="按区域路由派遣城管局")
    expect(page.get_by_test_id("state")).to_have_attribute("data-state", "dispatched")

    # The department handles it; reporting back without a note is refused by the form.
    as_user(shell, "dept_staff_a")
    take_step(shell, case.pk, "start")
    shell.goto(f"/console/cases/{case.pk}/")
    form = page.get_by_test_id("step-feedback")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.locator("#note-feedback-err")).to_be_visible()
    take_step(shell, case.pk, "feedback", note="已更换井盖")
    expect(page.get_by_test_id("state")).to_have_attribute("data-state", "verifying")

    # The grid worker verifies on site and closes it.
    as_user(shell, "grid_worker_a")
    take_step(shell, case.pk, "verify_pass", note="现场核查：已修复")
    expect(page.get_by_test_id("state")).to_have_attribute("data-state", "closed")
    snap(shell, "closed")

    # The resident follows each step and rates the result.
    as_user(shell, "resident_a")
    shell.goto(f"/console/cases/mine/{case.pk}/")
    progress = page.get_by_test_id("progress")
    for code in ("reported", "registered", "dispatched", "verifying", "closed"):
        expect(progress.locator(f'[data-milestone="{code}"]')).to_have_attribute(
            "data-status", "done"
        )
    form = page.get_by_test_id("rate-form")
    form.locator('input[name="rating"][value="5"]').check()
    form.locator("#comment").fill("处理及时，谢谢")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("my-rating")).to_contain_text("处理及时")
    case.refresh_from_db()
    assert (case.state_id, case.rating) == ("rated", 5)
    snap(shell, "rated")
    shell.assert_clean()


def test_statistics_chart_renders(shell, site):
    from yiwang.cases.tests.factories import to_state

    _server, w = site
    to_state(w, w.extra["case_a"], "closed")
    as_user(shell, "operator_a")
    shell.goto("/console/cases/statistics/?by=grid")
    chart = shell.page.locator("#stats-chart[data-chart-ready=true]")
    expect(chart).to_be_visible()
    expect(chart.locator("svg")).to_be_visible()
    assert chart.locator("svg path").count() > 10  # axes, bars and lines drawn
    expect(shell.page.get_by_test_id("stats").locator('[data-col="resolution_rate"]')).to_have_text(
        "100%"
    )
    shell.assert_clean()
