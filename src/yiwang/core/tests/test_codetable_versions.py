"""Central code tables: versions with validity periods, imports with row reports, diffs,
the API, the CLI and the pages."""

from __future__ import annotations

import datetime as dt

import pytest

from yiwang.core import codetables
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditRecord, CodeTableVersion

pytestmark = pytest.mark.django_db

D = dt.date


def test_shipped_tables_load_once_and_answer_by_reference():
    first = codetables.load_shipped()
    assert first["gbt2261.1"] == 4 and first["gbt3304"] == 58
    assert set(codetables.load_shipped().values()) == {0}
    ver, codes = codetables.members("GB/T 2261.1")
    assert ver.version == "2003" and codes == {"0", "1", "2", "9"}
    assert codetables.members("gbt2261.1@2003")[1] == codes
    assert "56" in codetables.members("GB/T 3304-1991")[1]
    assert codetables.parse_ref("GB/T 4754-2017") == ("gbt4754", "2017")
    assert codetables.display("gbt2261.1") == "GB/T 2261.1"


def test_a_new_version_closes_the_previous_one_and_each_day_has_its_version():
    codetables.do_import_table(
        actor=None,
        table="yw-size",
        version="2011",
        rows=[{"code": "L", "name": "大型"}, {"code": "M", "name": "中型"}],
        valid_from=D(2011, 6, 18),
    )
    report = codetables.do_import_table(
        actor=None,
        table="yw-size",
        version="2017",
        rows=[
            {"code": "L", "name": "大型企业"},
            {"code": "S", "name": "小型"},
            {"code": "XS", "name": "微型", "parent": "S"},
        ],
        valid_from=D(2018, 1, 1),
    )
    assert report.created and report.closed == "2011"
    assert report.diff == {"added": 2, "removed": 1, "renamed": 1}
    old = CodeTableVersion.objects.get(table="yw-size", version="2011")
    assert old.valid_to == D(2018, 1, 1)
    assert codetables.members("yw-size", on=D(2017, 12, 31))[0].version == "2011"
    assert codetables.members("yw-size", on=D(2018, 1, 1))[0].version == "2017"
    with pytest.raises(NotFound, match="2010-01-01"):
        codetables.members("yw-size", on=D(2010, 1, 1))
    d = codetables.diff("yw-size", "2011", "2017")
    assert [v.code for v in d.added] == ["S", "XS"] and [v.code for v in d.removed] == ["M"]
    assert [(a.name, b.name) for a, b in d.renamed] == [("大型", "大型企业")]
    rec = AuditRecord.objects.filter(event="codetable.imported").order_by("-seq").first()
    assert rec.detail["closed"] == "2011" and rec.detail["added"] == 2


def test_bad_rows_are_refused_with_reasons_and_good_rows_kept():
    csv_text = "code,name,parent\n1,一,\n,空,\n1,重复,\nA B,空格,\n2,二,9\n3,三,1\n"
    report = codetables.do_import_table(
        actor=None, table="yw-bad", version="1", content="\ufeff" + csv_text
    )
    assert report.created and report.accepted == 2
    assert [(r["row"], r["code"]) for r in report.refused] == [
        (3, ""),
        (4, "1"),
        (5, "A B"),
        (6, "2"),
    ]
    assert " 9 " in report.refused[-1]["reason"]  # names the missing parent code
    assert codetables.members("yw-bad")[1] == {"1", "3"}


def test_dry_run_saves_nothing_and_reimport_is_idempotent_or_a_conflict():
    rows = [{"code": "1", "name": "一"}]
    dry = codetables.do_import_table(actor=None, table="yw-t", version="1", rows=rows, dry_run=True)
    assert dry.accepted == 1 and not dry.created
    assert not CodeTableVersion.objects.filter(table="yw-t").exists()
    assert codetables.do_import_table(actor=None, table="yw-t", version="1", rows=rows).created
    again = codetables.do_import_table(actor=None, table="yw-t", version="1", rows=rows)
    assert not again.created and again.accepted == 1
    with pytest.raises(Conflict):
        codetables.do_import_table(
            actor=None, table="yw-t", version="1", rows=[{"code": "1", "name": "壹"}]
        )


def test_input_problems_are_named_by_field():
    with pytest.raises(ValidationFailed) as exc:
        codetables.do_import_table(actor=None, table="X Y!", version="", rows=[])
    assert {"table", "version"} <= set(exc.value.fields)
    with pytest.raises(ValidationFailed) as exc:
        codetables.do_import_table(actor=None, table="gbt2260", version="2024", rows=[])
    assert "table" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        codetables.do_import_table(actor=None, table="yw", version="1", content="a,b\n1,2\n")
    assert "content" in exc.value.fields


def test_industry_versions_go_through_the_same_door():
    codetables.import_industry(actor=None)
    report = codetables.do_import_table(
        actor=None,
        table="GB/T 4754",
        version="test",
        rows=[
            {"code": "A", "name": "农、林、牧、渔业", "level": "section"},
            {"code": "A01", "name": "农业", "level": "division", "parent": "A"},
            {"code": "Q9X", "name": "坏", "level": "class"},
        ],
        valid_from=D(2030, 1, 1),
    )
    assert report.created and report.accepted == 2 and len(report.refused) == 1
    assert report.closed == "2017"
    assert codetables.members("GB/T 4754", on=D(2030, 1, 2))[1] == {"A", "A01"}
    assert len(codetables.members("GB/T 4754", on=D(2029, 1, 1))[1]) > 1000


def test_only_a_data_administrator_manages(world):
    with pytest.raises(Forbidden):
        codetables.do_import_table(
            actor=world.users["dept_leader_a"], table="yw", version="1", rows=[]
        )
    codetables.load_shipped()
    ver = codetables.do_set_validity(
        actor=world.users["data_admin_a"],
        table="gbt2261.1",
        version="2003",
        valid_from=None,
        valid_to=D(2040, 1, 1),
    )
    assert ver.valid_to == D(2040, 1, 1)
    with pytest.raises(NotFound):
        codetables.members("gbt2261.1", on=D(2041, 1, 1))


def test_api_import_read_and_diff(client, world):
    client.force_login(world.users["data_admin_a"])
    body = {
        "version": "1",
        "valid_from": "2020-01-01",
        "rows": [
            {"code": "01", "name": "甲"},
            {"code": "02", "name": "乙"},
            {"code": "", "name": "x"},
        ],
    }
    r = client.post("/api/v1/codetables/yw-api/versions", body, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["accepted"] == 2 and r.json()["refused"][0]["row"] == 4
    body2 = {"version": "2", "valid_from": "2024-01-01", "content": "code,name\n01,甲\n03,丙\n"}
    r = client.post("/api/v1/codetables/yw-api/versions", body2, content_type="application/json")
    assert r.status_code == 201 and r.json()["closed"] == "1"
    client.force_login(world.users["dept_staff_a"])
    tables = {t["table"]: t for t in client.get("/api/v1/codetables").json()}
    assert tables["yw-api"]["current"] == "2" and len(tables["yw-api"]["versions"]) == 2
    r = client.get("/api/v1/codetables/yw-api/values", {"on": "2021-05-01"})
    assert [v["code"] for v in r.json()["items"]] == ["01", "02"]
    r = client.get("/api/v1/codetables/yw-api/diff", {"old": "1", "new": "2"})
    assert [v["code"] for v in r.json()["added"]] == ["03"]
    assert client.get("/api/v1/codetables/yw-api/values", {"version": "9"}).status_code == 404
    r = client.post("/api/v1/codetables/yw-api/versions", body2, content_type="application/json")
    assert r.status_code == 403


def test_cli_import_reports_refused_rows_and_exits_1(tmp_path, capsys):
    from yiwang.cli import main

    f = tmp_path / "t.csv"
    f.write_text("code,name\n1,一\n1,二\n", encoding="gbk")
    assert (
        main(["codetable", "import", "yw-cli", str(f), "--version", "1", "--encoding", "gbk"]) == 1
    )
    out = capsys.readouterr()
    assert '"accepted": 1' in out.out and "row 3" in out.err
    assert main(["codetable", "show", "yw-cli"]) == 0
    assert "1\t一" in capsys.readouterr().out


def test_pages_list_show_import_and_diff(client, world):
    codetables.load_shipped()
    client.force_login(world.users["data_admin_a"])
    r = client.get("/exchange/codetables/")
    assert r.status_code == 200 and "GB/T 3304" in r.content.decode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("sex.csv", "code,name\n0,未知\n1,男\n2,女\n".encode())
    r = client.post(
        "/exchange/codetables/import/",
        {"table": "gbt2261.1", "version": "2030", "valid_from": "2030-01-01", "file": upload},
    )
    page = r.content.decode()
    assert r.status_code == 200 and "3" in page
    r = client.get("/exchange/codetables/gbt2261.1/", {"old": "2003", "new": "2030"})
    page = r.content.decode()
    assert "未说明的性别" in page and 'class="removed"' in page and 'class="renamed"' in page
