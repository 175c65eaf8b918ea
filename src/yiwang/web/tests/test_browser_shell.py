"""The shell as people use it: real Chromium, real login, HTMX, fonts, CSP.

Run with ``python -m pytest -q src/yiwang/web -m browser``; skipped when /usr/bin/chromium
is absent (see conftest.py).
"""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from playwright.sync_api import expect

from yiwang.web.navigation import items_for
from yiwang.web.tests.expected import CJK_PATTERN, KERNEL_NAV, NAV_BY_ACCOUNT

pytestmark = pytest.mark.browser

# Fonts the style sheet asks for first; the machines that run Yiwang (and CI) have them.
CJK_FONTS = {"Noto Sans CJK SC", "WenQuanYi Micro Hei", "文泉驿微米黑", "文泉驛微米黑"}


def user(username: str):
    from yiwang.accounts.models import User

    return User.objects.get(username=username)


# --- (a) navigation per role ------------------------------------------------------------------
@pytest.mark.parametrize("username", list(NAV_BY_ACCOUNT))
def test_each_demo_role_logs_in_and_sees_its_navigation(shell, username):
    shell.log_in(username)
    expect(shell.page.get_by_test_id("me")).to_have_text(username)

    keys = shell.nav_keys()
    assert keys == [i.key for i in items_for(user(username))]
    # Modules add their own entries; the kernel's must be exactly these, in this order.
    assert [k for k in keys if k in KERNEL_NAV] == NAV_BY_ACCOUNT[username]

    # Every entry leads somewhere the role may go, and the landing page marks its section.
    for link in shell.page.locator("[data-nav]").all():
        response = shell.page.request.get(shell.url + link.get_attribute("href"))
        assert response.ok, f"{username}: {link.get_attribute('data-nav')} -> {response.status}"
    current = shell.page.locator('[data-nav][aria-current="page"]')
    expect(current).to_have_count(1)
    assert current.get_attribute("data-nav") in {"console", "portal"}
    shell.assert_clean()


def test_a_wrong_password_is_refused_in_chinese(shell):
    shell.log_in("leader", password="not-the-password")
    expect(shell.page.locator(".errorlist")).to_have_text("用户名或密码错误。")
    assert shell.nav_keys() == []
    shell.assert_clean()


# --- (b) language switch ----------------------------------------------------------------------
def test_switching_language_changes_the_navigation_and_back(shell):
    shell.log_in("secadmin")
    items = items_for(user("secadmin"))
    with translation.override("zh-hans"):
        zh = [str(i.label) for i in items]
    with translation.override("en"):
        en = [str(i.label) for i in items]
    assert all(re.search(CJK_PATTERN, label) for label in zh)
    assert not any(re.search(CJK_PATTERN, label) for label in en)

    page = shell.page
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert shell.nav_labels() == zh
    expect(page.locator("h1")).to_have_text("工作台")

    with page.expect_navigation():
        page.click("[data-lang=en]")
    assert page.locator("html").get_attribute("lang") == "en"
    assert shell.nav_labels() == en
    expect(page.locator("h1")).to_have_text("Workbench")
    assert page.url == shell.url + "/console/"  # stayed on the same page

    shell.goto("/console/users/")  # the choice sticks across pages
    assert shell.nav_labels() == en

    with page.expect_navigation():
        page.click("[data-lang=zh-hans]")
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert shell.nav_labels() == zh
    assert page.url == shell.url + "/console/users/"
    shell.assert_clean()


# --- (c) Chinese renders with a real CJK font, not boxes --------------------------------------
# Two independent checks, both on what Chromium actually drew:
#
# 1. Which font? The DevTools protocol's CSS.getPlatformFontsForNode names the font files the
#    renderer used for a node's text. Every run of the heading and navigation text must come
#    from one of the CJK fonts our style sheet asks for. A missing font shows up as a fallback
#    family (or as several), so this catches "the stack silently fell through".
# 2. Real glyphs? Each distinct Chinese character is drawn on a canvas in the element's own
#    computed font and its pixels fingerprinted. Missing glyphs ("tofu") are all the same box,
#    or nothing at all, so the test wants every character to leave ink, every fingerprint to
#    differ from the others, and none to equal the font's missing-glyph drawing (taken from an
#    unassigned code point, U+0378). This holds whatever font ends up being used, and needs no
#    screenshots or reference images.
GLYPH_PROBE = """
(selector) => {
  const el = document.querySelector(selector);
  const family = getComputedStyle(el).fontFamily;
  const chars = [...new Set([...el.textContent].filter((c) => /[\\u4e00-\\u9fff]/.test(c)))];
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 64;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const draw = (ch) => {
    ctx.clearRect(0, 0, 64, 64);
    ctx.font = `48px ${family}`;
    ctx.textBaseline = "top";
    ctx.fillStyle = "#000";
    ctx.fillText(ch, 8, 8);
    const alpha = ctx.getImageData(0, 0, 64, 64).data;
    let ink = 0, hash = 0;
    for (let i = 3; i < alpha.length; i += 4) {
      if (alpha[i] > 127) ink++;
      hash = (Math.imul(hash, 31) + alpha[i]) | 0;
    }
    return { ch, ink, hash };
  };
  return { family, glyphs: chars.map(draw), missing: draw("\\u0378") };
}
"""


def platform_fonts(page, selector: str) -> list[dict]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return fonts


def test_chinese_text_renders_with_a_real_cjk_font(shell):
    shell.log_in("auditadmin")
    page = shell.page
    page.evaluate("document.fonts.ready")
    expect(page.locator("h1")).to_have_text("工作台")

    for selector in ["h1", '[data-nav="audit"]', "footer"]:
        fonts = platform_fonts(page, selector)
        assert fonts, selector
        used = {f["familyName"] for f in fonts if f["glyphCount"]}
        assert used <= CJK_FONTS, (
            f"{selector} drawn with {used}; install fonts-noto-cjk or fonts-wqy-microhei"
        )

    for selector in ["h1", '[data-nav="audit"]', ".facts dt"]:
        probe = page.evaluate(GLYPH_PROBE, selector)
        assert probe["family"].startswith('"Noto Sans CJK SC"'), probe["family"]
        glyphs = probe["glyphs"]
        assert glyphs, f"no Chinese text in {selector}"
        assert all(g["ink"] > 40 for g in glyphs), f"blank glyphs in {selector}: {glyphs}"
        hashes = [g["hash"] for g in glyphs]
        assert len(set(hashes)) == len(hashes), f"identical glyphs (boxes?) in {selector}"
        assert probe["missing"]["hash"] not in hashes, f"missing-glyph boxes in {selector}"
    shell.assert_clean()


# --- (d) audit chain verification over HTMX ---------------------------------------------------
def test_audit_admin_verifies_the_chain(shell):
    shell.log_in("auditadmin")
    page = shell.page
    with page.expect_navigation():
        page.click("[data-nav=audit]")
    expect(page.locator("h1")).to_have_text("审计日志")
    expect(page.locator("table tbody tr").first).to_be_visible()
    assert page.evaluate("window.htmx && htmx.version").startswith("2.")

    with page.expect_response("**/console/audit/verify/") as answer:
        page.get_by_test_id("verify-chain").click()
    assert answer.value.status == 200
    ok = page.get_by_test_id("verify-ok")
    expect(ok).to_be_visible()
    expect(ok).to_have_text(re.compile(r"^审计链完整：已校验 \d+ 条记录。$"))
    assert page.url == shell.url + "/console/audit/"  # a fragment swap, not a navigation
    shell.assert_clean()


def test_an_htmx_request_after_the_session_ended_goes_to_the_login_page(shell):
    shell.log_in("auditadmin")
    page = shell.page
    shell.goto("/console/audit/")
    page.context.clear_cookies(name="sessionid")
    with page.expect_navigation(url=re.compile(r"/accounts/login/\?next=%2Fconsole%2Faudit%2F$")):
        page.get_by_test_id("verify-chain").click()
    expect(page.locator("#id_username")).to_be_visible()
    assert page.locator("[data-testid=verify-ok]").count() == 0
    shell.assert_clean()


# --- (e) masked ID number and the audited unmask ----------------------------------------------
def test_leader_sees_a_masked_id_and_reveals_it_with_a_purpose(shell):
    from yiwang.core.models import AuditRecord

    staff = user("staff")
    shell.log_in("leader")
    page = shell.page
    with page.expect_navigation():
        page.click("[data-nav=users]")
    with page.expect_navigation():
        page.click("[data-user=staff]")
    expect(page.locator("h1")).to_have_text("staff")

    masked = page.get_by_test_id("masked-id_number")
    expect(masked).to_have_text(re.compile(r"^\d{3}\*{11}\d{3}[\dX]$"))
    assert masked.inner_text() == staff.id_number[:3] + "*" * 11 + staff.id_number[-4:]
    assert staff.id_number not in page.content()

    form = page.locator("form[data-unmask=id_number]")
    purpose = form.locator("input[name=purpose]")

    # Too short: the browser's own check stops it (minlength=4) ...
    purpose.fill("看")
    form.locator("button").click()
    assert purpose.evaluate("el => el.validity.tooShort")
    # ... and when that is bypassed the server answers 422, shown next to the form, while
    # the masked value stays.
    purpose.evaluate("el => el.removeAttribute('minlength')")
    with page.expect_response("**/unmask/") as answer:
        form.locator("button").click()
    assert answer.value.status == 422
    error = page.get_by_test_id("htmx-error")
    expect(error).to_have_text(re.compile("用途"))
    expect(masked).to_be_visible()

    purpose.fill("核实身份信息")
    with page.expect_response("**/unmask/") as answer:
        form.locator("button").click()
    assert answer.value.status == 200
    expect(page.get_by_test_id("unmasked")).to_have_text(staff.id_number)
    expect(error).to_have_count(0)

    record = AuditRecord.objects.filter(event="personal.unmask").latest("seq")
    assert record.actor_id == user("leader").pk
    assert record.fields == ["id_number"]
    assert record.purpose == "核实身份信息"
    # HTMX 4xx responses log their own console error; CSP must still be clean.
    shell.assert_clean()


# --- small screens and the detector itself ----------------------------------------------------
def test_grid_worker_on_a_phone_gets_no_sideways_scrolling(shell):
    shell.page.set_viewport_size({"width": 375, "height": 740})
    shell.log_in("gridworker")
    page = shell.page
    expect(page.locator("[data-nav=console]")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shell.log_out()
    expect(page.get_by_test_id("me")).to_have_count(0)
    shell.log_in("leader")
    shell.goto("/console/users/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shell.assert_clean()


def test_the_csp_detector_catches_an_inline_script(shell):
    """So that `assert_clean` passing means something: a page that breaks the policy."""
    shell.page.route(
        shell.url + "/csp-probe/",
        lambda route: route.fulfill(
            status=200,
            content_type="text/html",
            headers={"Content-Security-Policy": "script-src 'self'"},
            body="<!doctype html><p>probe</p><script>document.title = 'ran'</script>",
        ),
    )
    shell.goto("/csp-probe/")
    assert shell.page.title() != "ran"
    assert shell.csp_violations, "the inline script was blocked but not reported"


def test_htmx_errors_from_json_and_from_the_network_are_shown_by_the_form(shell):
    """yiwang.js: a JSON error ({"message", "fields"}) shows its message and field messages and
    marks the field; a request that never reaches the server says so."""
    shell.log_in("leader")
    page = shell.page
    shell.goto(f"/console/users/{user('staff').pk}/")
    form = page.locator("form[data-unmask=phone]")
    purpose = form.locator("input[name=purpose]")
    box = page.get_by_test_id("htmx-error")

    page.route(
        "**/unmask/",
        lambda route: route.fulfill(
            status=422,
            content_type="application/json",
            body='{"code": "validation_error", "message": "部分字段填写有误。",'
            ' "fields": {"purpose": ["请说明用途。"]}}',
        ),
    )
    purpose.fill("核实联系方式")
    form.locator("button").click()
    expect(box).to_contain_text("部分字段填写有误。")
    expect(box.locator("li")).to_have_text(["请说明用途。"])
    expect(purpose).to_have_attribute("aria-invalid", "true")

    page.unroute("**/unmask/")
    page.route("**/unmask/", lambda route: route.abort("connectionrefused"))
    form.locator("button").click()
    expect(box).to_have_text("无法连接服务器，请检查网络连接后重试。")
    expect(purpose).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("masked-phone")).to_have_text(re.compile(r"^\d{3}\*{4}\d{4}$"))
    shell.assert_clean()
