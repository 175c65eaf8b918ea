"""People's compact import path (``importing.people``) against the general path: the same
file, imported both ways, leaves the same people, history, counts and report."""

from __future__ import annotations

import pytest
from django.db import connection

from yiwang.accounts.actions import do_add_community
from yiwang.grid import actions as grid_actions
from yiwang.grid.coords import gcj02_to_bd09, wgs84_to_gcj02
from yiwang.grid.models import Grid
from yiwang.grid.tests.factories import tiled_collection
from yiwang.registry.importing import people, runner
from yiwang.registry.models import ChangeRecord, Person
from yiwang.registry.tests.test_import import pid, write_csv


@pytest.fixture
def grids(world):
    comm = do_add_community(actor=None, street=world.divisions["street_a"], seq=1, name="社区1")
    grid_actions.do_import_grids(actor=None, data=tiled_collection([comm.code], cols=2, rows=1))
    return list(Grid.objects.order_by("code"))


FULL = ["姓名", "身份证号", "手机号", "户号", "关注标签", "经度", "纬度", "坐标系"]


def messy_rows(g, far) -> list[list[object]]:
    x, y = g.centroid_lng, g.centroid_lat
    gx, gy = wgs84_to_gcj02([x], [y])
    bx, by = gcj02_to_bd09(gx, gy)
    with_x = next(pid(n) for n in range(2000) if pid(n).endswith("X"))
    bad_check = pid(7)[:-1] + ("0" if pid(7)[-1] != "0" else "1")
    return [
        ["张一", pid(1), "13900000001", "H1", "", x, y, ""],
        [
            "李二",
            " " + with_x.lower() + " ",
            "+86 139 0000 0002",
            "H2",
            "low_income",
            gx[0],
            gy[0],
            "gcj02",
        ],
        ["王三", pid(3), "", "", "独居老人、low_income", bx[0], by[0], "BD09"],
        ["赵四", pid(4), "13900000004", "H" * 50, "", "", "", ""],
        ["坏号", bad_check, "", "", "", x, y, ""],
        ["", pid(8), "", "", "", x, y, ""],
        ["长" * 51, pid(9), "", "", "", x, y, ""],
        ["电话", pid(10), "12345", "", "", x, y, ""],
        ["标签", pid(11), "", "", "foo", x, y, ""],
        ["坐标", pid(12), "", "", "", "abc", "1", ""],
        ["范围", pid(13), "", "", "", 200, 1, ""],
        ["远方", pid(14), "", "", "", far[0], far[1], ""],
        ["系统", pid(15), "", "", "", x, y, "xyz"],
        ["重复", pid(1), "", "", "", x, y, ""],
        ["乱\ufffd码", pid(16), "", "", "", x, y, ""],
        ["短行", pid(17)],
        ["空号", "", "13900000018", "", "", x, y, ""],
        *[[f"批{i}", pid(100 + i), f"1380000{i:04d}", f"H{i}", "", x, y, ""] for i in range(30)],
    ]


def snapshot(report_path: str) -> dict[str, object]:
    ids = dict(Person.objects.values_list("pk", "id_number_index"))
    rows = sorted(
        (
            p.id_number,
            p.name,
            p.phone,
            p.phone_index,
            p.sex,
            p.birth_date,
            p.household_no,
            p.tags,
            p.lng,
            p.lat,
            p.coord_system,
            p.grid_id,
            p.home_id,
            p.source,
        )
        for p in Person.objects.all()
    )
    with connection.cursor() as cur:
        cur.execute(
            "SELECT entity_id, action, actor, source, changes FROM registry_changerecord "
            "WHERE entity_type = 'person'"
        )
        history = sorted(
            (ids[e], a, actor, src, ch if isinstance(ch, str) else repr(ch))
            for e, a, actor, src, ch in cur.fetchall()
        )
    with open(report_path, encoding="utf-8-sig") as fh:
        report = fh.read()
    return {"people": rows, "history": history, "report": report}


def both_ways(tmp_path, monkeypatch, steps) -> list[dict[str, object]]:
    """Run ``steps`` (a list of (file, actor, kwargs)) once with the compact path and once
    without, from an empty table each time; the snapshots after each step."""
    out = []
    for fast in (False, True):
        monkeypatch.setattr(people, "FAST", fast)
        Person.objects.all().delete()
        ChangeRecord.objects.all().delete()
        snaps = []
        for i, (f, actor, kw) in enumerate(steps):
            rp = tmp_path / f"r-{fast}-{i}.csv"
            res = runner.run("person", f, actor=actor, report_path=rp, **kw)
            snaps.append({"counts": res.counts, "rows": res.rows, **snapshot(str(rp))})
        out.append(snaps)
    return out


@pytest.mark.django_db
def test_compact_path_leaves_what_the_general_path_leaves(world, grids, tmp_path, monkeypatch):
    g = grids[0]
    rows = messy_rows(g, (0.5, 0.5))
    f = write_csv(tmp_path / "p.csv", FULL, rows)
    changed = [list(r) for r in rows]
    changed[0][0] = "张改"  # name
    changed[1][2] = "13900009999"  # phone
    changed[3][5:7] = [g.centroid_lng, g.centroid_lat]  # now located
    f2 = write_csv(tmp_path / "p2.csv", FULL, changed)
    admin = world.users["data_admin_a"]
    steps = [
        (f, admin, {}),
        (f, admin, {}),  # re-import: unchanged
        (f2, admin, {"batch_size": 7}),  # updates (the general path takes those batches)
        (f2, None, {"dry_run": True}),
    ]
    general, compact = both_ways(tmp_path, monkeypatch, steps)
    accepted = general[0]["counts"]["accepted"]
    assert accepted >= 30 and general[1]["counts"]["unchanged"] == accepted
    assert general[2]["counts"]["updated"] >= 2
    for a, b in zip(general, compact, strict=True):
        assert a == b


@pytest.mark.django_db
def test_compact_path_batches_and_columns(world, grids, tmp_path, monkeypatch):
    g = grids[0]
    # Fewer columns (no phone, tags or household): defaults and history as the general path.
    rows = [[f"人{i}", pid(200 + i), g.centroid_lng, g.centroid_lat] for i in range(12)]
    rows.append(["重复", pid(200), g.centroid_lng, g.centroid_lat])
    f = write_csv(tmp_path / "p.csv", ["姓名", "身份证号", "经度", "纬度"], rows)
    general, compact = both_ways(tmp_path, monkeypatch, [(f, None, {"batch_size": 5})] * 2)
    assert general[0]["counts"] == {"accepted": 12, "updated": 0, "unchanged": 0, "refused": 1}
    assert general == compact


def test_history_entry_is_json_dumps():
    import json

    for value in ["", "王*明", 'a"b\\c\n', "\u2028", 0, -3, 1.5, 120.123, [], ["a", "b"], None]:
        assert people.encode(value) == json.dumps(value, ensure_ascii=False)
    pairs = [("name", "王*明"), ("lng", 120.1), ("tags", ["low_income"])]
    assert people.entry(pairs) == json.dumps({k: [None, v] for k, v in pairs}, ensure_ascii=False)
