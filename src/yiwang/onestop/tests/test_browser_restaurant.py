"""开办餐饮店 end to end in a real browser, on the shipped catalog: an enterprise finds the bundle
in the service guide, answers the questions, fills the one form (its own details arrive
pre-filled), uploads what is not waived, signs the 容缺 commitment and submits once; four
departments (market regulation, city management, fire, tax) work their tasks in parallel — one
asks for a supplement, the applicant answers it; every matter is approved; the business licence
is verified on the public page; the applicant rates the service.

Skipped when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import os
import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from yiwang.web.tests.conftest import CHROMIUM, NO_CHROMIUM, RECORD_CSP_VIOLATIONS, Shell

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]
SHOTS = os.environ.get("YIWANG_ONESTOP_SCREENSHOTS", "")
PREFIX = "t-"
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def site(live_server, transactional_db):
    from yiwang.accounts.roles import Role
    from yiwang.accounts.tests.factories import DepartmentFactory, UserFactory, build_world
    from yiwang.onestop.catalog import load_catalog

    world = build_world()
    county = world["county_a"]
    for suffix in ("zwb", "scj", "cgj", "xfj", "swj", "wjw", "gaj", "ybj", "rsj"):
        dept = DepartmentFactory(
            code=f"{PREFIX}{suffix}", name=f"{suffix}（测试）", division=county
        )
        world.departments[suffix] = dept
        world.users[f"staff_{suffix}"] = UserFactory(
            username=f"staff_{suffix}", role=Role.DEPT_STAFF, department=dept
        )
    from yiwang.certs.models import CertificateType
    from yiwang.certs.standard_types import upsert_types

    upsert_types(CertificateType)  # a transactional test before this one flushed them
    report = load_catalog(department_prefix=PREFIX)
    assert not report.problems, report.problems
    return live_server, world


@pytest.fixture
def shell(page, site) -> Shell:
    s = Shell(page=page, url=site[0].url)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.on("console", lambda m: s.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: s.page_errors.append(str(exc)))
    page.set_default_timeout(15_000)
    return s


def _shot(shell: Shell, name: str) -> None:
    if SHOTS:
        shell.page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def _as(shell: Shell, username: str) -> None:
    from yiwang.accounts.tests.factories import PASSWORD

    if shell.page.get_by_test_id("logout").count():
        shell.log_out()
    shell.log_in(username, PASSWORD)


def _click(shell: Shell, locator) -> None:
    with shell.page.expect_navigation():
        locator.click()


def _upload_missing(shell: Shell, tmp_path) -> int:
    """Upload a file for every material still missing that cannot follow later."""
    page = shell.page
    done = 0
    while True:
        rows = page.locator('tr[data-material]:has([data-state="missing"]):has(input[type=file])')
        candidates = [
            rows.nth(i)
            for i in range(rows.count())
            if not rows.nth(i).get_by_text(re.compile("may follow later|可容缺|容缺")).count()
        ]
        if not candidates:
            return done
        row = candidates[0]
        accept = row.locator("input[type=file]").get_attribute("accept") or ".pdf"
        name, data = ("m.pdf", PDF) if ".pdf" in accept else ("m.png", PNG)
        path = tmp_path / f"{done}-{name}"
        path.write_bytes(data)
        row.locator("input[type=file]").set_input_files(str(path))
        _click(shell, row.locator("button"))
        expect(page.locator(".messages")).to_be_visible()
        done += 1
        assert done < 30, "uploads do not converge"


def test_open_a_restaurant_end_to_end(shell, site, tmp_path):
    from yiwang.certs.models import Certificate
    from yiwang.onestop.models import Application, ApplicationStatus, ApprovalTask, TaskState
    from yiwang.ratings.models import Rating, RatingInvitation

    _server, w = site
    page = shell.page
    applicant = w.users["enterprise_a"]

    # 1. The service guide → the bundle → start (the enterprise signs in).
    _as(shell, "enterprise_a")
    shell.goto("/services/bundles/open-restaurant/")
    _click(shell, page.get_by_role("link", name=re.compile("开始办理|Start")).first)
    _click(shell, page.get_by_test_id("start"))
    app = Application.objects.get(applicant=applicant)
    expect(page.get_by_test_id("app-number")).to_have_text(app.number)

    # 2. Situation: an individual business, 350 m² (fire safety applies), hot food, a sign.
    page.select_option("#q_entity_type", "individual")
    page.fill("#q_business_area", "350")
    page.select_option("#q_food_kind", "hot")
    page.select_option("#q_outdoor_sign", "true")
    _click(shell, page.get_by_test_id("save"))
    page.fill("#q_sign_area", "6")  # asked only now that there is a sign
    _click(shell, page.get_by_test_id("save"))
    matters = page.get_by_test_id("matters").locator("li[data-matter]")
    expect(matters).to_have_count(5)

    # 3. The one form: the applicant's own details arrive pre-filled, with their source.
    expect(page.locator('[data-prefilled="phone"]')).to_be_visible()
    expect(page.locator("#f_id_number")).to_have_value(applicant.id_number)
    page.fill("#f_enterprise_name", "小馆面馆")
    page.fill("#f_legal_rep", "张三丰")
    page.fill("#f_business_address", "测试路1号")
    page.fill("#f_business_scope", "餐饮服务（热食类食品制售）")
    page.fill("#f_sign_text", "小馆面馆")
    page.fill("#f_phone", "123")  # a bad value: marked, nothing else lost
    _click(shell, page.get_by_test_id("save"))
    expect(page.locator('[data-error-for="phone"]')).to_be_visible()
    expect(page.locator("#f_enterprise_name")).to_have_value("小馆面馆")
    page.fill("#f_phone", "13912345678")
    _click(shell, page.get_by_test_id("save"))
    _shot(shell, "form")

    # 4. Materials: waived ones need nothing; upload the rest; minor ones follow later.
    waived = page.locator('tr[data-material]:has([data-state="waived"])')
    expect(waived.first).to_be_visible()
    assert _upload_missing(shell, tmp_path) >= 3

    # 5. Submit once, with the commitment.
    page.get_by_test_id("commitment").check()
    _click(shell, page.get_by_test_id("submit"))
    expect(page.get_by_test_id("app-status")).to_have_attribute("data-status", "submitted")
    tasks = page.get_by_test_id("tasks").locator("tr[data-task]")
    expect(tasks).to_have_count(5)
    app.refresh_from_db()
    departments = {t.department_id for t in app.tasks.all()}
    assert len(departments) == 4
    _shot(shell, "submitted")

    # 6. Market regulation asks for a supplement on the business registration.
    reg = ApprovalTask.objects.get(application=app, implementation__code__endswith="DJ-SCJ-0001")
    _as(shell, "staff_scj")
    shell.goto("/services/console/")
    expect(
        page.locator(f'[data-task="{reg.pk}"], tr:has-text("{app.number}")').first
    ).to_be_visible()
    shell.goto(f"/services/console/tasks/{reg.pk}/")
    _click(shell, page.get_by_test_id("claim"))
    page.fill("#note", "租赁合同缺少出租方签章页，请补充完整合同。")
    page.get_by_test_id("supplement-form").locator('input[name="materials"]').first.check()
    _click(shell, page.get_by_test_id("request-supplement"))
    expect(page.get_by_test_id("supplement-open")).to_be_visible()
    reg.refresh_from_db()
    assert reg.state == TaskState.SUPPLEMENT

    # 7. The applicant sees it, uploads the new file and answers; the clock resumes.
    _as(shell, "enterprise_a")
    shell.goto(f"/services/applications/{app.pk}/")
    expect(page.get_by_test_id("supplement")).to_contain_text("签章页")
    key = reg.supplements.get().materials[0]
    row = page.locator(f'tr[data-material="{key}"]').first
    path = tmp_path / "contract.pdf"
    path.write_bytes(PDF + b"% signed")
    row.locator("input[type=file]").set_input_files(str(path))
    _click(shell, row.locator("button"))
    page.fill("#supp-note", "已补充完整合同")
    _click(shell, page.get_by_test_id("send-supplement"))
    reg.refresh_from_db()
    assert reg.state == TaskState.CLAIMED

    # 8. Every department approves its part (market regulation twice: licence and food permit).
    for task in ApprovalTask.objects.filter(application=app).select_related("department"):
        suffix = task.department.code.removeprefix(PREFIX)
        _as(shell, f"staff_{suffix}")
        shell.goto(f"/services/console/tasks/{task.pk}/")
        if page.get_by_test_id("claim").count():
            _click(shell, page.get_by_test_id("claim"))
        _click(shell, page.get_by_test_id("approve"))
        expect(page.get_by_test_id("task-state")).to_have_attribute("data-state", "approved")
    app.refresh_from_db()
    assert app.status == ApplicationStatus.COMPLETED

    # 9. The applicant sees every department done and opens the business licence.
    _as(shell, "enterprise_a")
    shell.goto(f"/services/applications/{app.pk}/")
    expect(page.get_by_test_id("app-status")).to_have_attribute("data-status", "completed")
    _shot(shell, "completed")
    reg.refresh_from_db()
    licence = Certificate.objects.get(identifier=reg.certificate_id)
    code = reg.implementation.code
    _click(shell, page.get_by_test_id(f"certificate-{code}"))
    expect(page.get_by_test_id("cert-number")).to_have_text(licence.number)

    # 10. Anyone verifies it on the public page.
    shell.log_out()
    shell.goto("/certs/verify/?p=" + quote(licence.payload(), safe=":"))
    expect(page.get_by_test_id("verdict")).to_have_attribute("data-valid", "true")
    _shot(shell, "verified")

    # 11. The applicant rates the service of the business registration.
    _as(shell, "enterprise_a")
    invitation = RatingInvitation.objects.get(service_ref=f"onestop.approvaltask:{reg.pk}")
    shell.goto("/ratings/")
    _click(shell, page.locator(f'[data-invitation="{invitation.pk}"] a'))
    page.locator(".face.level-5").click()
    _click(shell, page.get_by_test_id("rating-form").locator("button[type=submit]"))
    expect(page.locator(".messages li.success")).to_be_visible()
    assert Rating.objects.get(invitation=invitation).level == "5"
    shell.assert_clean()
