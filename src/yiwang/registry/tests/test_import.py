"""Bulk import: validation per row, dedupe, encodings, XLSX, dry run, idempotence, history."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from yiwang.accounts.actions import do_add_community
from yiwang.core.ids import make_credit_code, make_resident_id, validate_resident_id
from yiwang.core.models import AuditRecord
from yiwang.grid import actions as grid_actions
from yiwang.grid.models import Grid
from yiwang.grid.tests.factories import tiled_collection
from yiwang.registry.importing import jobs, runner, schema
from yiwang.registry.importing.handlers import check_resident_id
from yiwang.registry.importing.reading import FileError, detect_encoding
from yiwang.registry.models import ChangeRecord, ImportJob, Organisation, Person, Place, Thing

HEADER = ["姓名", "身份证号", "手机号", "经度", "纬度"]


@pytest.fixture
def grids(world):
    comm = do_add_community(actor=None, street=world.divisions["street_a"], seq=1, name="社区1")
    grid_actions.do_import_grids(actor=None, data=tiled_collection([comm.code], cols=2, rows=1))
    return list(Grid.objects.order_by("code"))


def pid(n: int) -> str:
    return make_resident_id("330106", dt.date(1980, 1, 1) + dt.timedelta(days=n), n % 1000)


def write_csv(path: Path, header, rows, encoding="utf-8") -> Path:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def read_report(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["row"] not in ("", "total")]


def read_totals(path: str) -> dict[str, int]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {r["status"]: int(r["reason"]) for r in csv.DictReader(fh) if r["row"] == "total"}


def people_rows(g, n=3, start=0):
    return [
        [f"张{i}", pid(start + i), f"1390000{start + i:04d}", g.centroid_lng, g.centroid_lat]
        for i in range(n)
    ]


def test_fast_id_check_agrees_with_core_validation():
    samples = [pid(i) for i in range(50)] + [
        "",
        "123",
        pid(1)[:-1] + ("0" if pid(1)[-1] != "0" else "1"),
        "33010619801332001X",
        "3301061980010100AX",
        " " + pid(3).lower() + " ",
        "110101190001010000",
    ]
    for raw in samples:
        compact, birth, sex, error = check_resident_id(raw)
        chk = validate_resident_id(raw)
        assert (error == "") == chk.valid, raw
        if chk.valid:
            assert (compact, birth, sex) == (chk.value, chk.birth_date, chk.sex)
        else:
            assert error == chk.error


def test_detect_encoding():
    assert detect_encoding("姓名,身份证号\n".encode()) == "utf-8-sig"
    assert detect_encoding("姓名,身份证号\n".encode("gbk")) == "gb18030"
    assert detect_encoding(b"\xef\xbb\xbfname\n") == "utf-8-sig"


def test_header_matching_and_mapping():
    s = schema.SCHEMAS["person"]
    hm = schema.match_header(s, ["Name", "ID Number*", "备注"])
    assert hm.index == {"name": 0, "id_number": 1} and hm.ignored == ["备注"]
    hm = schema.match_header(s, ["名字", "证件"], {"名字": "name", "证件": "id_number"})
    assert hm.index == {"name": 0, "id_number": 1}
    with pytest.raises(schema.HeaderError):
        schema.match_header(s, ["姓名"])
    assert schema.parse_mapping(["身份证号=id_number", "a=name,b=phone"]) == {
        "身份证号": "id_number",
        "a": "name",
        "b": "phone",
    }


@pytest.mark.django_db
def test_good_and_bad_people_together(world, grids, tmp_path):
    g = grids[0]
    rows = [
        *people_rows(g, 3),
        ["坏号", "330106198001010000", "", g.centroid_lng, g.centroid_lat],  # bad checksum
        ["", pid(10), "", g.centroid_lng, g.centroid_lat],  # no name
        ["重复", pid(0), "", g.centroid_lng, g.centroid_lat],  # duplicate of row 2
        ["远方", pid(11), "", 0.5, 0.5],  # outside the grids
        ["电话", pid(12), "12345", g.centroid_lng, g.centroid_lat],  # bad phone
        ["坐标", pid(13), "", "abc", "1"],  # bad coordinates
    ]
    f = write_csv(tmp_path / "p.csv", HEADER, rows)
    res = runner.run("person", f, actor=world.users["data_admin_a"], report_path=tmp_path / "r.csv")
    assert res.counts == {"accepted": 3, "updated": 0, "unchanged": 0, "refused": 6}
    assert Person.objects.count() == 3
    p = Person.objects.get(
        id_number_index=Person._meta.get_field("id_number_index").compute(pid(0))
    )
    assert p.id_number == pid(0) and p.phone == "13900000000" and p.grid_id == g.pk
    assert p.birth_date == dt.date(1980, 1, 1) and p.name == "张0"
    report = read_report(res.report_path)
    refused = {int(r["row"]): r for r in report if r["status"] == "refused"}
    assert set(refused) == {5, 6, 7, 8, 9, 10}
    assert refused[5]["field"] == "id_number" and refused[5]["reason"]
    assert refused[5]["key"].startswith("330") and "*" in refused[5]["key"]  # masked
    assert refused[6]["field"] == "name"
    assert "2" in refused[7]["reason"] and refused[7]["field"] == "id_number"
    assert refused[8]["field"] == "lat"
    assert refused[9]["field"] == "phone"
    assert refused[10]["field"] == "lng"
    assert ChangeRecord.objects.filter(entity_type="person", action="created").count() == 3
    totals = read_totals(res.report_path)
    assert totals == {"accepted": 3, "updated": 0, "unchanged": 0, "refused": 6, "rows": 9}


@pytest.mark.django_db
def test_reimport_is_idempotent_and_updates_make_history(world, grids, tmp_path):
    g0, g1 = grids
    f = write_csv(tmp_path / "p.csv", HEADER, people_rows(g0, 4))
    first = runner.run("person", f)
    assert first.counts["accepted"] == 4
    again = runner.run("person", f)
    assert again.counts == {"accepted": 0, "updated": 0, "unchanged": 4, "refused": 0}
    assert ChangeRecord.objects.filter(entity_type="person").count() == 4
    rows = people_rows(g0, 4)
    rows[1][2] = "13911112222"  # new phone
    rows[2][3], rows[2][4] = g1.centroid_lng, g1.centroid_lat  # moved
    f2 = write_csv(tmp_path / "p2.csv", HEADER, rows)
    third = runner.run("person", f2, source="import:test")
    assert third.counts == {"accepted": 0, "updated": 2, "unchanged": 2, "refused": 0}
    changed = list(ChangeRecord.objects.filter(action="updated").order_by("pk"))
    assert len(changed) == 2
    assert changed[0].changes["phone"] == ["139****0001", "139****2222"]
    assert changed[0].source == "import:test"
    assert "grid_id" in changed[1].changes and "lng" in changed[1].changes
    moved = Person.objects.get(pk=changed[1].entity_id)
    assert moved.grid_id == g1.pk and moved.phone == "13900000002"
    assert Person.objects.get(pk=changed[0].entity_id).phone == "13911112222"
    report = read_report(third.report_path)
    assert [r["status"] for r in report] == ["updated", "updated"]


@pytest.mark.django_db
def test_dry_run_writes_nothing(world, grids, tmp_path):
    f = write_csv(tmp_path / "p.csv", HEADER, people_rows(grids[0], 3))
    res = runner.run("person", f, dry_run=True)
    assert res.counts["accepted"] == 3
    assert Person.objects.count() == 0 and ChangeRecord.objects.count() == 0


@pytest.mark.django_db
def test_gbk_file_is_detected_and_explicit_encoding_works(world, grids, tmp_path):
    f = write_csv(tmp_path / "gbk.csv", HEADER, people_rows(grids[0], 2), encoding="gbk")
    res = runner.run("person", f)
    assert res.encoding == "gb18030" and res.encoding_detected and res.counts["accepted"] == 2
    assert set(Person.objects.values_list("name", flat=True)) == {"张0", "张1"}
    f2 = write_csv(tmp_path / "gbk2.csv", HEADER, people_rows(grids[0], 2, 5), encoding="gbk")
    res = runner.run("person", f2, encoding="GBK")
    assert res.encoding == "gb18030" and not res.encoding_detected
    assert res.counts["accepted"] == 2


@pytest.mark.django_db
def test_wrong_explicit_encoding_is_reported_per_row(world, grids, tmp_path):
    rows = [["张三", pid(1), "", grids[0].centroid_lng, grids[0].centroid_lat]]
    f = write_csv(tmp_path / "gbk.csv", ["name", "id_number", "phone", "lng", "lat"], rows, "gbk")
    res = runner.run("person", f, encoding="utf-8")
    assert res.counts["refused"] == 1 and Person.objects.count() == 0
    assert "GBK" in read_report(res.report_path)[0]["reason"]


@pytest.mark.django_db
def test_xlsx_import(world, grids, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for r in people_rows(grids[0], 2):
        ws.append(r)
    ws.append(["数字号", 330106198001010000, "", grids[0].centroid_lng, grids[0].centroid_lat])
    f = tmp_path / "p.xlsx"
    wb.save(f)
    res = runner.run("person", f)
    assert res.counts["accepted"] == 2 and res.counts["refused"] == 1


@pytest.mark.django_db
def test_unreadable_files_fail_clearly(tmp_path):
    bad = tmp_path / "x.txt.json"
    bad.write_text("{}")
    with pytest.raises(FileError):
        runner.run("person", bad)
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(FileError):
        runner.run("person", empty)
    nohead = write_csv(tmp_path / "h.csv", ["foo", "bar"], [["1", "2"]])
    with pytest.raises(schema.HeaderError):
        runner.run("person", nohead)


@pytest.mark.django_db
def test_places_with_parents_in_the_same_file(world, grids, tmp_path):
    g = grids[0]
    header = ["地点编码", "类型", "名称", "上级地点编码", "经度", "纬度"]
    rows = [
        ["P1", "compound", "西苑", "", g.centroid_lng, g.centroid_lat],
        ["P1-1", "楼栋", "西苑1幢", "P1", "", ""],  # zh-Hans label, inherits coordinates
        ["P1-1-1", "unit", "1单元", "P1-1", "", ""],
        ["P9-1", "building", "孤楼", "P9", "", ""],  # unknown parent
        ["P2", "castle", "城堡", "", g.centroid_lng, g.centroid_lat],  # unknown kind
    ]
    f = write_csv(tmp_path / "pl.csv", header, rows)
    res = runner.run("place", f, batch_size=2)
    assert res.counts["accepted"] == 3 and res.counts["refused"] == 2
    unit = Place.objects.get(code="P1-1-1")
    assert unit.parent.code == "P1-1" and unit.parent.parent.code == "P1"
    assert unit.grid_id == g.pk and unit.lng == g.centroid_lng
    assert Place.objects.get(code="P1-1").kind == "building"
    # People point at places by code.
    pf = write_csv(
        tmp_path / "p.csv",
        ["name", "id_number", "home"],
        [["住户", pid(1), "P1-1-1"], ["无家", pid(2), "NOPE"]],
    )
    res = runner.run("person", pf)
    assert res.counts["accepted"] == 1 and res.counts["refused"] == 1
    p = Person.objects.get()
    assert p.home_id == unit.pk and p.grid_id == g.pk


@pytest.mark.django_db
def test_places_follow_the_hierarchy(world, grids, tmp_path):
    """compound > building > unit > room (a room may sit in a building); a standalone address
    sits in nothing: a parent of the wrong kind is refused on the parent column, in the same
    file or already stored."""
    g = grids[0]
    header = ["地点编码", "类型", "名称", "上级地点编码", "经度", "纬度"]
    rows = [
        ["H1", "compound", "东苑", "", g.centroid_lng, g.centroid_lat],
        ["H1-1", "building", "东苑1幢", "H1", "", ""],
        ["H1-1-101", "room", "101室", "H1-1", "", ""],  # a room in a building without units
        ["H1-9", "room", "错室", "H1", "", ""],  # a room straight in a compound
        ["H2", "address", "某路1号", "H1", "", ""],  # an address has no parent
        ["H1-1-1", "unit", "1单元", "H1-1-101", "", ""],  # a unit in a room
    ]
    res = runner.run("place", write_csv(tmp_path / "h.csv", header, rows), batch_size=2)
    assert res.counts["accepted"] == 3 and res.counts["refused"] == 3
    refused = {r["row"]: r for r in read_report(res.report_path) if r["status"] == "refused"}
    assert set(refused) == {"5", "6", "7"}
    assert {r["field"] for r in refused.values()} == {"parent"}
    # Against a stored parent, through the API's action too.
    from yiwang.core.errors import ValidationFailed
    from yiwang.registry import actions

    with pytest.raises(ValidationFailed) as exc:
        actions.do_upsert_place(
            actor=None,
            data={
                "code": "H1-8",
                "kind": "unit",
                "name": "8单元",
                "parent_id": Place.objects.get(code="H1").pk,
            },
        )
    assert "parent_id" in exc.value.fields
    ok = actions.do_upsert_place(
        actor=None,
        data={
            "code": "H1-1-2",
            "kind": "unit",
            "name": "2单元",
            "parent_id": Place.objects.get(code="H1-1").pk,
        },
    )
    assert ok.parent.code == "H1-1"


@pytest.mark.django_db
def test_things(world, grids, tmp_path):
    g = grids[0]
    header = ["部件标识码", "名称", "状态", "权属部门编码", "经度", "纬度"]
    rows = [
        ["33010601001000001", "井盖", "normal", "330106-cgj", g.centroid_lng, g.centroid_lat],
        ["33010601001000002", "", "损坏", "", g.centroid_lng, g.centroid_lat],
        ["3301060100100000", "短", "normal", "", g.centroid_lng, g.centroid_lat],
        ["33010601001000003", "无坐标", "normal", "", "", ""],
        ["33010601001000004", "x", "normal", "nope", g.centroid_lng, g.centroid_lat],
    ]
    res = runner.run("thing", write_csv(tmp_path / "t.csv", header, rows))
    assert res.counts["accepted"] == 2 and res.counts["refused"] == 3
    t = Thing.objects.get(part_code="33010601001000002")
    assert t.class_code == "01001" and t.status == "damaged" and t.name == "01001"
    assert Thing.objects.get(part_code="33010601001000001").owner_department is not None


@pytest.mark.django_db
def test_part_class_codes_are_checked_against_a_loaded_code_table(world, grids, tmp_path):
    """No table loaded: the form only. Once the deployment loads its edition of the class
    table (YIWANG_PART_CLASS_TABLE, cjt214), codes not in it are refused — import and API."""
    from yiwang.core import codetables
    from yiwang.core.errors import ValidationFailed
    from yiwang.registry import actions

    g = grids[0]
    header = ["部件标识码", "名称", "经度", "纬度"]
    at = [g.centroid_lng, g.centroid_lat]
    before = [["33010601009000001", "未知类", *at]]
    res = runner.run("thing", write_csv(tmp_path / "t0.csv", header, before))
    assert res.counts["accepted"] == 1  # no table: 01009 has the right form
    codetables.do_import_table(
        actor=None,
        table="cjt214",
        version="2007",
        rows=[
            {"code": "01", "name": "公用设施"},
            {"code": "01001", "name": "上水井盖", "parent": "01"},
        ],
        title="城市市政综合监管信息系统 管理部件和事件分类、编码及数据要求",
    )
    rows = [["33010601001000011", "上水井盖", *at], ["33010601009000012", "未知类", *at]]
    res = runner.run("thing", write_csv(tmp_path / "t1.csv", header, rows))
    assert res.counts["accepted"] == 1 and res.counts["refused"] == 1
    [bad] = [r for r in read_report(res.report_path) if r["status"] == "refused"]
    assert bad["field"] == "class_code" and "01009" in bad["reason"]
    with pytest.raises(ValidationFailed) as exc:
        actions.do_upsert_thing(
            actor=None, data={"part_code": "33010601009000013", "lng": at[0], "lat": at[1]}
        )
    assert "class_code" in exc.value.fields


@pytest.mark.django_db
def test_organisations(world, grids, tmp_path):
    from yiwang.core.codetables import import_industry

    import_industry(actor=None)
    g = grids[0]
    good = make_credit_code("330106", "MA2H00001")
    header = ["统一社会信用代码", "名称", "行业代码", "成立日期", "注册资本", "经度", "纬度"]
    rows = [
        [good, "示例科技有限公司", "I6510", "2019-06-01", "500", g.centroid_lng, g.centroid_lat],
        ["91330106MA2H00001X", "坏码", "I6510", "", "", "", ""],
        [make_credit_code("330106", "MA2H00002"), "坏行业", "Z9999", "", "", "", ""],
        [make_credit_code("330106", "MA2H00003"), "坏日期", "", "2019-13-01", "x", "", ""],
        [good.lower(), "重复", "", "", "", "", ""],
    ]
    res = runner.run("organisation", write_csv(tmp_path / "o.csv", header, rows))
    assert res.counts["accepted"] == 1 and res.counts["refused"] == 4
    org = Organisation.objects.get()
    assert org.credit_code == good and float(org.registered_capital) == 500.0
    report = read_report(res.report_path)
    fields = {(int(r["row"]), r["field"]) for r in report}
    assert {(3, "credit_code"), (4, "industry_code"), (5, "founded_on")} <= fields
    assert (5, "registered_capital") in fields and (6, "credit_code") in fields
    again = runner.run("organisation", write_csv(tmp_path / "o.csv", header, rows[:1]))
    assert again.counts["unchanged"] == 1


@pytest.mark.django_db
def test_job_audits_once_and_keeps_counts(world, grids, tmp_path):
    actor = world.users["data_admin_a"]
    rows = [*people_rows(grids[0], 3), ["坏", "1", "", "", ""]]
    f = write_csv(tmp_path / "p.csv", HEADER, rows)
    before = AuditRecord.objects.count()
    job = jobs.do_create_import_job(
        actor=actor, entity_type="person", file_name="p.csv", file_path=str(f)
    )
    jobs.do_run_import_job(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.refused_count, job.processed_rows) == (3, 1, 4)
    assert job.report_path.endswith(f"imports/{job.pk}-report.csv")
    assert AuditRecord.objects.count() == before + 1
    rec = AuditRecord.objects.order_by("-seq").first()
    assert rec.event == "registry.imported" and rec.detail["accepted"] == 3
    assert rec.actor == actor.username
    assert ChangeRecord.objects.filter(source=f"import:{job.pk}").count() == 3


@pytest.mark.django_db
def test_data_admin_of_another_district_cannot_import_into_this_one(world, grids, tmp_path):
    f = write_csv(tmp_path / "p.csv", HEADER, people_rows(grids[0], 2))
    res = runner.run("person", f, actor=world.users["data_admin_b"])
    assert res.counts["refused"] == 2 and Person.objects.count() == 0


def test_templates():
    data = schema.template_csv("person")
    assert data.startswith(b"\xef\xbb\xbf")
    header = data.decode("utf-8-sig").splitlines()[0].split(",")
    assert header[:2] == ["姓名*", "身份证号*"]
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(schema.template_xlsx("organisation")))
    assert next(wb.worksheets[0].iter_rows(values_only=True))[0] == "统一社会信用代码*"


@pytest.mark.django_db
def test_tags_household_and_gcj02_round_trip(world, grids, tmp_path):
    from yiwang.grid.coords import wgs84_to_gcj02

    g = grids[0]
    gx, gy = wgs84_to_gcj02([g.centroid_lng], [g.centroid_lat])
    header = ["姓名", "身份证号", "户号", "关注标签", "经度", "纬度", "坐标系"]
    rows = [["赵六", pid(1), "H1", "独居老人、low_income", gx[0], gy[0], "gcj02"]]
    res = runner.run("person", write_csv(tmp_path / "p.csv", header, rows))
    assert res.counts["accepted"] == 1, read_report(res.report_path)
    p = Person.objects.get()
    assert p.tags == ["living_alone_elder", "low_income"] and p.household_no == "H1"
    assert abs(p.lng - g.centroid_lng) < 1e-6 and p.coord_system == "gcj02" and p.grid_id == g.pk
    assert runner.run("person", tmp_path / "p.csv").counts["unchanged"] == 1


def test_fast_sealer_matches_the_sealer(settings):
    from yiwang.core.crypto import default_sealer
    from yiwang.registry.importing.sealing import FastSealer

    fast, slow = FastSealer(), default_sealer()
    tokens = {fast.seal("330106198001010011") for _ in range(50)}
    assert len(tokens) == 50  # a fresh nonce every time
    assert {slow.open(t) for t in tokens} == {"330106198001010011"}
    assert fast.seal("x").split("$")[0] == slow.seal("x").split("$")[0]
    for purpose in ("registry.person.id_number", "registry.person.phone"):
        for value in ("330106198001010011", "13900001111", "", "长" * 100):
            assert fast.blind_index(purpose, value) == slow.blind_index(purpose, value)


@pytest.mark.django_db(transaction=True)
def test_worker_processes_give_the_same_result(world, grids, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "PARALLEL_MIN_ROWS", 0)
    rows = [*people_rows(grids[0], 30), ["坏", "1", "", "", ""], people_rows(grids[0], 1)[0]]
    f = write_csv(tmp_path / "p.csv", HEADER, rows)
    res = runner.run("person", f, workers=2, batch_size=7)
    assert res.counts == {"accepted": 30, "updated": 0, "unchanged": 0, "refused": 2}
    refused = {int(r["row"]): r["field"] for r in read_report(res.report_path)}
    assert refused == {32: "id_number", 33: "id_number"}
    p = Person.objects.get(phone_index=Person._meta.get_field("phone_index").compute("13900000005"))
    assert p.id_number == pid(5) and p.name == "张5"
    rec = ChangeRecord.objects.get(entity_id=p.pk)
    assert rec.action == "created" and set(rec.changes) == {
        "name",
        "id_number",
        "phone",
        "sex",
        "birth_date",
        "lng",
        "lat",
        "grid_id",
    }
    assert rec.changes["id_number"] == [None, pid(5)[:3] + "*" * 11 + pid(5)[-4:]]
    assert rec.changes["grid_id"] == [None, grids[0].pk] and rec.changes["name"] == [None, "张*"]
    assert runner.run("person", f, workers=2, batch_size=7).counts["unchanged"] == 30


@pytest.mark.django_db
def test_cli(world, grids, tmp_path, capsys):
    from yiwang.registry import cli

    rows = [[r[0], r[1], r[3], r[4]] for r in people_rows(grids[0], 2)]
    f = write_csv(tmp_path / "p.csv", ["名字", "身份证号", "经度", "纬度"], rows)
    assert cli.main([str(f), "person"], setup=False) == 2  # arguments the wrong way round
    code = cli.main(
        ["people", str(f), "--dry-run", "--map", "名字=name", "--no-progress"], setup=False
    )
    out = capsys.readouterr().out
    assert code == 0 and "2 accepted" in out and Person.objects.count() == 0
    report = tmp_path / "r.csv"
    code = cli.main(["person", str(f), "--map", "名字=name", "--report", str(report)], setup=False)
    assert code == 0 and Person.objects.count() == 2 and report.exists()
    assert read_totals(str(report))["accepted"] == 2
    assert cli.main(["person", str(f), "--no-progress"], setup=False) == 1  # no name column
    assert "姓名" in capsys.readouterr().err
    tpl = tmp_path / "t.xlsx"
    assert cli.main(["org", str(tpl), "--template"], setup=False) == 0 and tpl.exists()


@pytest.mark.django_db
def test_cli_warns_about_rows_without_a_grid_and_skips_the_example(world, grids, tmp_path, capsys):
    from yiwang.registry import cli

    text = schema.template_csv("person").decode("utf-8-sig")
    header, example = list(csv.reader(io.StringIO(text)))
    row = dict.fromkeys(header, "")
    row.update({"姓名*": "张三", "身份证号*": pid(7)})
    f = write_csv(tmp_path / "t.csv", header, [example, [row[h] for h in header]])
    assert cli.main(["person", str(f), "--no-progress"], setup=False) == 0
    out = capsys.readouterr().out
    assert "1 accepted" in out and "1 stored row(s) have no location" in out
    assert "example row" in out and Person.objects.get().name == "张三"


@pytest.mark.django_db
def test_a_key_written_meanwhile_is_found_on_retry(world, grids, tmp_path, monkeypatch):
    # The import sees an empty table and skips lookups; a row written "concurrently" makes
    # the batch fail on the unique blind index, and the retry finds it.
    first = write_csv(tmp_path / "a.csv", HEADER, people_rows(grids[0], 1))
    runner.run("person", first)
    monkeypatch.setattr(type(Person.objects), "exists", lambda self: False)
    f = write_csv(tmp_path / "p.csv", HEADER, people_rows(grids[0], 3))
    res = runner.run("person", f)
    assert res.counts == {"accepted": 2, "updated": 0, "unchanged": 1, "refused": 0}
    assert res.failed_batches == 0 and Person.objects.count() == 3


@pytest.mark.django_db
def test_import_goes_on_when_workers_fail(world, grids, tmp_path, monkeypatch):
    from yiwang.registry.importing import workers

    def broken(rows, index):
        raise OSError("worker gone")

    monkeypatch.setattr(runner, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(workers, "work", broken)
    f = write_csv(tmp_path / "p.csv", HEADER, people_rows(grids[0], 12))
    res = runner.run("person", f, workers=1, batch_size=5)
    assert res.counts["accepted"] == 12 and Person.objects.count() == 12
