"""Bulk import as a data administrator does it: real Chromium, real login, choose "people",
upload a CSV with good and bad rows, watch the job finish, download the report and find every
refused row in it with its reason, ID numbers masked.

Run with ``python -m pytest -q src/yiwang/registry/tests/test_browser_import.py``; skipped
when /usr/bin/chromium is absent. Set ``YIWANG_SCREENSHOTS=<dir>`` to keep screenshots.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from dataclasses import dataclass
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

MASKED_ID = re.compile(r"^\d{3}\*{11}[\dX]{4}$")


@pytest.fixture
def site(live_server, transactional_db):
    from yiwang.accounts.actions import do_add_community
    from yiwang.accounts.tests.factories import build_world
    from yiwang.grid import actions as grid_actions
    from yiwang.grid.models import Grid
    from yiwang.grid.tests.factories import tiled_collection

    world = build_world()
    street = world.divisions["street_a"]
    comm = do_add_community(actor=None, street=street, seq=1, name="东湖社区")
    grid_actions.do_import_grids(actor=None, data=tiled_collection([comm.code], cols=2, rows=1))
    return live_server, world, list(Grid.objects.order_by("code"))


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


def resident_id(i: int) -> str:
    from yiwang.core.ids import make_resident_id

    return make_resident_id("330106", dt.date(1985, 1, 1) + dt.timedelta(days=i), 11)


@dataclass
class Expected:
    accepted: int
    refused: dict[int, tuple[str, str]]  # file row → (field, the row's ID number)
    ids: set[str]


def write_people(path: Path, grids) -> Expected:
    """Four good rows and four bad ones; returns what the test expects of them."""
    g0, g1 = grids[0], grids[1]
    at0 = [g0.centroid_lng, g0.centroid_lat]
    at1 = [g1.centroid_lng, g1.centroid_lat]
    bad_id = "330106198501010000"  # wrong check digit
    rows = [
        # line 1 is the header, so the first data row is row 2
        ["李一", resident_id(0), "13900001111", *at0],  # 2 good
        ["李二", resident_id(1), "", *at1],  # 3 good
        ["坏号", bad_id, "", *at0],  # 4 invalid ID number
        ["李重", resident_id(0), "", *at0],  # 5 duplicate of row 2
        ["远方", resident_id(2), "", 121.50, 31.20],  # 6 outside the grids (Shanghai)
        ["", resident_id(3), "", *at0],  # 7 missing name
        ["李三", resident_id(4), "", *at1],  # 8 good
        ["李四", resident_id(5), "", *at0],  # 9 good
    ]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["姓名", "身份证号", "手机号", "经度", "纬度"])
        w.writerows(rows)
    return Expected(
        accepted=4,
        refused={
            4: ("id_number", bad_id),
            5: ("id_number", resident_id(0)),
            6: ("lat", resident_id(2)),
            7: ("name", resident_id(3)),
        },
        ids={str(r[1]) for r in rows},
    )


def test_data_admin_imports_bad_rows_and_downloads_the_report(shell, site, tmp_path):
    from django.utils import translation

    from yiwang.accounts.tests.factories import PASSWORD
    from yiwang.core.masking import mask_id_number
    from yiwang.registry.models import ImportJob, Person

    _server, _world, grids = site
    people_before = Person.objects.count()
    source = tmp_path / "居民.csv"
    expected = write_people(source, grids)

    shell.log_in("data_admin_a", PASSWORD)
    shell.goto("/console/imports/")
    form = shell.page.get_by_test_id("import-form")
    expect(form).to_be_visible()
    form.locator("#entity_type").select_option("person")
    form.locator("#file").set_input_files(str(source))
    snap(shell, "import-form")
    with shell.page.expect_navigation(url=re.compile(r"/console/imports/\d+/$")):
        form.locator("button[type=submit]").click()

    # The job page; its progress partial polls until the job is done.
    progress = shell.page.locator("#import-progress")
    expect(progress).to_have_attribute("data-status", "done", timeout=30_000)
    refused = expected.refused
    expect(progress.locator('[data-count="accepted"]')).to_have_text(str(expected.accepted))
    expect(progress.locator('[data-count="refused"]')).to_have_text(str(len(refused)))
    expect(progress.locator('[data-count="updated"]')).to_have_text("0")
    expect(progress.locator('[data-count="unchanged"]')).to_have_text("0")
    expect(progress.locator("progress")).to_have_attribute("value", "100")
    snap(shell, "import-done")

    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.refused_count) == (4, 4)
    assert Person.objects.count() == people_before + expected.accepted

    # The report: every refused row with its field and reason; ID numbers masked.
    link = progress.get_by_test_id("report")
    expect(link).to_be_visible()
    with shell.page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == f"import-{job.pk}-report.csv"
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    for id_number in expected.ids:
        assert id_number not in text, "an ID number in clear in the report"
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["row", "key", "status", "field", "reason"]
    found = {int(r[0]): r for r in lines[1:] if r and r[0].isdigit()}
    assert set(found) == set(refused), found
    for row, (fld, id_number) in refused.items():
        _row, key, status, field, reason = found[row]
        assert (status, field) == ("refused", fld), found[row]
        assert key == mask_id_number(id_number) and MASKED_ID.match(key), key
        assert reason.strip(), found[row]
    with translation.override("zh-hans"):
        assert found[5][4] == (
            translation.gettext("Duplicate of row %(row)d (same %(field)s).")
            % {"row": 2, "field": "身份证号"}
        )
        assert found[6][4] == translation.gettext("The location is outside the territory's grids.")
        assert found[7][4] == translation.gettext("A name is required.")
    totals = {r[2]: r[4] for r in lines[1:] if r and r[0] == "total"}
    assert totals["accepted"] == "4" and totals["refused"] == "4" and totals["rows"] == "8"

    shell.assert_clean()
    assert shell.console_errors == [], shell.console_errors
