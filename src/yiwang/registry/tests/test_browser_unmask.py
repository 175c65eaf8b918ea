"""Unmasking on a person's page in a real browser: an operator states a purpose and the
phone number appears in place (HTMX); without a purpose the browser asks for one and nothing
is shown; the resident then finds the viewing, with its purpose, on their own entry.

Run with ``python -m pytest -q src/yiwang/registry/tests/test_browser_unmask.py``; skipped
when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from yiwang.registry.tests.test_browser_grid import shell, site, snap  # noqa: F401
from yiwang.web.tests.conftest import CHROMIUM, NO_CHROMIUM, Shell

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)]


def test_operator_unmasks_a_phone_and_the_resident_sees_why(shell: Shell, site):  # noqa: F811
    from yiwang.accounts.tests.factories import PASSWORD

    _server, world, area = site
    resident = world.users["resident_a"]
    resident.id_number = area.person.id_number
    resident.save()

    shell.log_in("operator_a", PASSWORD)
    shell.goto(f"/console/registry/people/{area.person.pk}/")
    field = shell.page.locator("#pf-phone")
    expect(field.get_by_test_id("masked-phone")).to_have_text("139****2222")
    form = field.locator("form[data-unmask=phone]")
    form.locator("button").click()  # no purpose: the browser refuses to send
    expect(field.get_by_test_id("masked-phone")).to_have_text("139****2222")
    form.locator("input[name=purpose]").fill("核实联系电话以便上门")
    form.locator("button").click()
    expect(field.get_by_test_id("unmasked")).to_have_text("13900002222")
    snap(shell, "unmasked")
    shell.assert_clean()

    shell.page.context.clear_cookies()
    shell.log_in("resident_a", PASSWORD)
    shell.goto("/console/registry/mine/")
    accesses = shell.page.get_by_test_id("my-accesses")
    expect(accesses).to_contain_text("operator_a")
    expect(accesses).to_contain_text("核实联系电话以便上门")
    snap(shell, "mine")
    shell.assert_clean()
