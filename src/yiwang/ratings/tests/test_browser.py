"""好差评 in a real browser: the resident rates with the five faces (problems appear with a
差评), the department records the callback and the rectification, the resident confirms, and
the public statistics draw their chart without login — no CSP violation, no foreign request.

Skipped when /usr/bin/chromium is absent. ``YIWANG_SCREENSHOTS=<dir>`` keeps screenshots.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from yiwang.web.tests.conftest import CHROMIUM, NO_CHROMIUM, RECORD_CSP_VIOLATIONS, Shell

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]


@pytest.fixture
def site(live_server, transactional_db):
    from yiwang.accounts.tests.factories import build_world
    from yiwang.ratings.tests import factories as f

    world = build_world()
    world.extra["inv"] = f.invite(world)
    f.rate(world, f.invite(world), "5")
    f.rate(world, f.invite(world, "b"), "4")
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
        shell.page.screenshot(path=str(Path(folder) / f"ratings-{name}.png"), full_page=True)


def as_user(shell: Shell, username: str) -> None:
    from yiwang.accounts.tests.factories import PASSWORD

    if shell.page.get_by_test_id("logout").count():
        shell.log_out()
    shell.log_in(username, PASSWORD)


def click_and_wait(shell: Shell, locator) -> None:
    with shell.page.expect_navigation():
        locator.click()


def test_rate_call_back_rectify_confirm_and_public_statistics(shell, site):
    from yiwang.ratings.models import Rating, RectificationStatus

    _server, w = site
    page = shell.page
    inv = w.extra["inv"]

    # 1. The resident rates: the problems appear only once a dissatisfied face is chosen.
    as_user(shell, "resident_a")
    shell.goto("/ratings/")
    click_and_wait(shell, page.locator(f'[data-invitation="{inv.pk}"] a'))
    problems = page.locator("[data-problems]")
    expect(problems).to_be_hidden()
    page.locator(".face.level-2").click()
    expect(problems).to_be_visible()
    page.locator('input[name="problems"][value="visits"]').check()
    page.locator('input[name="score-attitude"][value="2"]').check()
    page.fill("#comment", "材料要求与指南不一致，跑了两次")
    snap(shell, "form")
    click_and_wait(shell, page.get_by_test_id("rating-form").locator("button[type=submit]"))
    expect(page.locator(".messages li.success")).to_be_visible()
    rect = Rating.objects.get(invitation=inv).rectification

    # 2. The department calls back and rectifies.
    as_user(shell, "dept_staff_a")
    shell.goto("/ratings/console/rectifications/")
    click_and_wait(shell, page.locator(f'[data-rectification="{rect.pk}"] a'))
    page.fill("#cb", "已电话回访，致歉并说明材料清单")
    click_and_wait(shell, page.get_by_test_id("callback-form").locator("button[type=submit]"))
    page.fill("#res", "已更新办事指南的材料清单")
    click_and_wait(shell, page.get_by_test_id("result-form").locator("button[type=submit]"))
    expect(page.get_by_test_id("result-form")).to_have_count(0)
    rect.refresh_from_db()
    assert rect.status == RectificationStatus.RECTIFIED
    snap(shell, "rectification")

    # 3. The resident confirms it is resolved.
    as_user(shell, "resident_a")
    shell.goto("/ratings/")
    click_and_wait(shell, page.get_by_test_id("confirm-form").locator('button[value="1"]'))
    rect.refresh_from_db()
    assert rect.status == RectificationStatus.CONFIRMED

    # 4. Anyone reads the statistics; the chart is drawn.
    shell.log_out()
    shell.goto("/ratings/statistics/")
    expect(page.get_by_test_id("ratings-chart")).to_have_attribute("data-chart-ready", "true")
    expect(page.locator("[data-testid=ratings-chart] svg")).to_have_count(1)
    snap(shell, "statistics")
    shell.assert_clean()
