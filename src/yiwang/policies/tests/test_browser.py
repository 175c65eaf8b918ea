"""政策通 in a real browser: a policy officer drafts an item beside the clause text, previews
who would match and submits it; a second officer (the checker) reviews the diff and approves;
the enterprise user finds it matched with the reasons and in the inbox; and anyone can use
the calculator without logging in.

Run with ``python -m pytest -q src/yiwang/policies/tests/test_browser.py``; skipped when
/usr/bin/chromium is absent. Set ``YIWANG_SCREENSHOTS=<dir>`` to keep screenshots.
"""

from __future__ import annotations

import json
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
    from yiwang.grid.tests.scope_cases import build_grids
    from yiwang.policies.tests import factories as f

    world = build_world()
    build_grids(world)
    org = f.enterprise_org(world, "a")
    f.revenue(org, 800)
    world.extra["org"] = org
    world.extra["doc"] = f.document(
        world,
        "a",
        title="关于支持制造业高质量发展的若干政策",
        full_text="第一条 为支持制造业高质量发展，制定本政策。\n第二条 适用于在本区注册的企业。\n"
        "第三条 上年度营业收入达到600万元以上的制造业企业，按营业收入的1%给予奖励。",
    )
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
        shell.page.screenshot(path=str(Path(folder) / f"policies-{name}.png"), full_page=True)


def as_user(shell: Shell, username: str) -> None:
    from yiwang.accounts.tests.factories import PASSWORD

    if shell.page.get_by_test_id("logout").count():
        shell.log_out()
    shell.log_in(username, PASSWORD)


def click_and_wait(shell: Shell, locator) -> None:
    with shell.page.expect_navigation():
        locator.click()


def test_officer_publishes_with_a_checker_enterprise_sees_it_calculator_works(shell, site):
    from yiwang.policies.models import PolicyDelivery, PolicyItem
    from yiwang.policies.tests import factories as f

    _server, w = site
    page = shell.page
    doc = w.extra["doc"]

    # 1. The officer adds an item to the document, beside its clause text.
    as_user(shell, "dept_staff_a")
    shell.goto("/policies/console/")
    click_and_wait(shell, page.locator(f'[data-new-item="{doc.pk}"]'))
    expect(page.get_by_test_id("clause-pane")).to_contain_text("第三条")
    page.fill("#code", "mfg-revenue-award")
    page.fill("#title", "制造业营收奖励")
    page.select_option("#benefit_type", "award")
    page.fill("#summary", "上年度营业收入达到600万元以上的制造业企业，按营业收入的1%给予奖励。")
    page.fill("#closes_on", "2099-12-31")
    page.fill("#rule", json.dumps(f.rule(f.DISTRICT["a"], 5000), ensure_ascii=False))
    click_and_wait(shell, page.get_by_test_id("create-item"))
    expect(page.locator(".messages li.success")).to_be_visible()
    expect(page.locator('[data-atom-row="revenue"]')).to_be_visible()

    # 2. The threshold was mistyped: the preview shows nobody qualifies; fix the atom in the
    #    atom editor and preview again.
    expect(page.get_by_test_id("atom-editor")).to_be_visible()
    page.get_by_test_id("preview").click()
    expect(page.locator('[data-testid="preview-counts"] [data-count="pass"]')).to_have_text("0")
    page.fill('[name="atom-1-expr"]', "revenue@FY-1 >= 600万元")
    page.fill('[name="atom-1-label_zh"]', "上年度营业收入达到600万元")
    page.get_by_test_id("preview").click()
    expect(page.locator('[data-testid="preview-counts"] [data-count="pass"]')).to_have_text("1")
    # a broken atom is refused with its id named
    page.fill('[name="atom-3-id"]', "headcount_money")
    page.fill('[name="atom-3-expr"]', "employees >= 10万元")
    page.get_by_test_id("preview").click()
    expect(page.get_by_test_id("preview-errors")).to_contain_text("headcount_money")
    page.fill('[name="atom-3-id"]', "")
    page.fill('[name="atom-3-expr"]', "")
    # the same rule as JSON: the other way to edit it
    page.check('input[name="mode"][value="json"]')
    expect(page.locator("#rule")).to_be_visible()
    page.check('input[name="mode"][value="atoms"]')
    click_and_wait(shell, page.get_by_test_id("save-rule"))
    expect(page.locator(".messages li.success")).to_be_visible()
    snap(shell, "editor")
    click_and_wait(shell, page.get_by_test_id("submit-review"))
    expect(page.locator(".messages li.success")).to_be_visible()
    item = PolicyItem.objects.get(code="mfg-revenue-award")
    assert item.current_version.status == "review"

    # 3. The checker reviews the diff and approves; the item is published.
    as_user(shell, "dept_leader_a")
    shell.goto("/policies/console/")
    click_and_wait(shell, page.locator('[data-review="mfg-revenue-award"]'))
    expect(page.get_by_test_id("diff").locator('[data-atom="revenue"]')).to_be_visible()
    page.fill("#note", "条件与原文第三条一致，同意发布")
    snap(shell, "review")
    click_and_wait(shell, page.get_by_test_id("approve"))
    expect(page.get_by_test_id("published")).to_be_visible()
    item.refresh_from_db()
    assert item.status == "published"
    assert PolicyDelivery.objects.filter(item=item, organisation=w.extra["org"]).exists()
    # who qualifies now, by street and industry (ECharts)
    shell.goto(f"/policies/console/items/{item.pk}/matches/")
    expect(page.locator('[data-testid="match-counts"] [data-count="pass"]')).to_have_text("1")
    expect(page.locator('[data-testid="chart-streets"][data-chart-ready="true"]')).to_be_visible()
    expect(page.locator('[data-testid="chart-industries"] svg')).to_be_visible()
    snap(shell, "matches")

    # 4. The enterprise user sees it matched, with the reasons and the amount; and in the inbox.
    as_user(shell, "enterprise_a")
    shell.goto("/policies/mine/")
    match = page.locator('[data-match="mfg-revenue-award"]')
    expect(match).to_have_attribute("data-outcome", "eligible")
    expect(match.get_by_test_id("reasons")).to_contain_text("上年度营业收入达到600万元")
    expect(match.get_by_test_id("amount")).to_contain_text("8")
    expect(page.get_by_test_id("unread")).to_have_text("1")
    snap(shell, "my-matches")
    click_and_wait(shell, page.get_by_test_id("inbox-link"))
    click_and_wait(shell, page.locator('[data-delivery="mfg-revenue-award"] a'))
    expect(page.locator('[data-outcome="eligible"]')).to_be_visible()
    shell.goto("/policies/mine/inbox/")
    expect(page.locator('[data-delivery="mfg-revenue-award"]')).to_have_class("read")

    # 5. Anyone: the calculator, without logging in.
    shell.log_out()
    shell.goto("/policies/calculator/")
    page.select_option("#q-area", "330106")
    page.select_option("#q-industry", "C39")
    click_and_wait(shell, page.get_by_test_id("calculate"))
    result = page.locator('[data-match="mfg-revenue-award"]')
    expect(result).to_have_attribute("data-outcome", "possibly")
    expect(result.get_by_test_id("missing")).to_be_visible()
    page.fill("#q-revenue", "900")
    click_and_wait(shell, page.get_by_test_id("calculate"))
    expect(page.locator('[data-match="mfg-revenue-award"]')).to_have_attribute(
        "data-outcome", "eligible"
    )
    snap(shell, "calculator")
    page.fill("#q-employees", "很多")
    click_and_wait(shell, page.get_by_test_id("calculate"))
    expect(page.locator('[data-error-for="employees"]')).to_be_visible()

    # and the public library finds it by a synonym
    shell.goto("/policies/?q=营收奖补")
    expect(page.locator('[data-item="mfg-revenue-award"]')).to_be_visible()

    assert not shell.page_errors, shell.page_errors
    assert not shell.csp_violations, shell.csp_violations
    assert not shell.foreign_requests, shell.foreign_requests
