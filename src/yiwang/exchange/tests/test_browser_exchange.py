"""The data system in a real browser: a department requests a grant, the owner narrows and
approves it, the requester's system calls the exchange with its credential, and the
enterprise sees who read its data, when and why.

Skipped when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from yiwang.web.tests.conftest import CHROMIUM, NO_CHROMIUM, RECORD_CSP_VIOLATIONS, Shell

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]


@pytest.fixture
def site(live_server, transactional_db):
    from yiwang.accounts.tests.factories import build_world
    from yiwang.exchange import actions
    from yiwang.exchange.tests.factories import build

    world = build_world()
    build(world)
    _, world.extra["credential_b"] = actions.do_create_client(
        actor=world.users["dept_leader_b"], name="城管局b 业务系统"
    )
    return live_server, world


@pytest.fixture
def shell(page, site) -> Shell:
    server = site[0]
    s = Shell(page=page, url=server.url)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.on("console", lambda m: s.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: s.page_errors.append(str(exc)))
    page.set_default_timeout(15_000)
    return s


def as_user(shell: Shell, username: str) -> None:
    from yiwang.accounts.tests.factories import PASSWORD

    if shell.page.get_by_test_id("logout").count():
        shell.log_out()
    shell.log_in(username, PASSWORD)


def test_request_narrow_call_and_the_subject_sees_it(shell, site):
    from yiwang.exchange.models import Grant

    server, w = site
    page = shell.page
    credit = w.extra["credit_code_a"]

    # 城管局b finds the enterprise registrations in the catalog and asks for three fields.
    as_user(shell, "dept_staff_b")
    shell.goto("/exchange/?q=企业登记")
    page.locator('[data-dataset="ent_reg_a"] a').click()
    form = page.get_by_test_id("request-form")
    for name in ("name", "capital", "legal_rep"):
        form.locator(f'input[name="fields"][value="{name}"]').check()
    form.locator("#purpose").fill("企业扶持政策兑现")
    form.locator("#legal_basis").fill("《优化营商环境条例》")
    form.locator("#daily_quota").fill("100")
    with page.expect_navigation():
        page.get_by_test_id("send-request").click()
    grant = Grant.objects.latest("id")
    expect(page.get_by_test_id("grant-status")).to_have_attribute("data-status", "requested")
    assert grant.status == "requested" and grant.requested_fields == [
        "name",
        "legal_rep",
        "capital",
    ]

    # Before any decision the exchange refuses the call.
    api = f"{server.url}/api/v1/exchange/query/ent_reg_a"
    headers = {"Authorization": f"Bearer {w.extra['credential_b']}"}
    body = {
        "subject": credit,
        "fields": ["name"],
        "purpose": "企业扶持政策兑现",
        "case": "ZC-2026-9",
    }
    assert page.request.post(api, headers=headers, data=body).status == 403

    # The owner narrows it: no legal representative, a smaller quota, with the reason.
    as_user(shell, "dept_leader_a")
    shell.goto("/exchange/grants/inbox/")
    page.locator(f'[data-grant="{grant.pk}"] a').click()
    decide = page.get_by_test_id("decide-form")
    decide.locator('input[name="decision"][value="narrow"]').check()
    decide.locator('input[name="fields"][value="legal_rep"]').uncheck()
    decide.locator("#d-quota").fill("20")
    decide.locator("#d-reason").fill("最小必要：不提供法定代表人")
    with page.expect_navigation():
        page.get_by_test_id("decide").click()
    expect(page.get_by_test_id("granted-fields")).to_have_text("name, capital")
    grant.refresh_from_db()
    assert grant.status == "narrowed" and grant.daily_quota == 20

    # The requester's system calls with its credential: granted fields only.
    ok = page.request.post(api, headers=headers, data=body)
    assert ok.status == 200 and ok.json()["records"] == [{"name": "测试企业a"}]
    outside = page.request.post(api, headers=headers, data={**body, "fields": ["legal_rep"]})
    assert outside.status == 403

    # The owner sees both messages in the exchange log.
    shell.goto("/exchange/log/")
    expect(page.get_by_test_id("exchange-log")).to_contain_text("ZC-2026-9")

    # The enterprise sees which department read its data, when, why and for which case.
    as_user(shell, "enterprise_a")
    shell.goto("/exchange/me/")
    table = page.get_by_test_id("my-accesses")
    expect(table).to_contain_text("城管局b")
    expect(table).to_contain_text("企业扶持政策兑现")
    expect(table).to_contain_text("ZC-2026-9")
    shell.assert_clean()
