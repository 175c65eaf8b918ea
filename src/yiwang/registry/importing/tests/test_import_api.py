"""The bulk import API (upload → job → poll → report; list; templates; types), with the
import's warnings about rows left in no grid, organisations taking their place's location,
and the templates' example row skipped."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from yiwang.accounts.actions import do_add_community
from yiwang.core.ids import make_credit_code, make_resident_id
from yiwang.core.models import AuditRecord
from yiwang.grid import actions as grid_actions
from yiwang.grid.models import Grid
from yiwang.grid.tests.factories import tiled_collection
from yiwang.registry.importing import people, runner, schema
from yiwang.registry.importing.runner import no_grid_warning
from yiwang.registry.models import ImportJob, Organisation, Person, Place

URL = "/api/v1/registry/imports"
HEADER = ["姓名", "身份证号", "手机号", "经度", "纬度"]


@pytest.fixture
def grids(world):
    comm = do_add_community(actor=None, street=world.divisions["street_a"], seq=1, name="社区1")
    grid_actions.do_import_grids(actor=None, data=tiled_collection([comm.code], cols=2, rows=1))
    return list(Grid.objects.order_by("code"))


def pid(n: int) -> str:
    return make_resident_id("330106", dt.date(1980, 1, 1) + dt.timedelta(days=n), n % 1000)


def csv_bytes(header, rows, encoding="utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def people_csv(g, n=3, bad=1) -> bytes:
    rows = [[f"李{i}", pid(i), "", g.centroid_lng, g.centroid_lat] for i in range(n)]
    rows += [["坏号", "330106198501010000", "", g.centroid_lng, g.centroid_lat]] * bad
    return csv_bytes(HEADER, rows)


def post(client, data: bytes, name="people.csv", headers=None, **form):
    body = {"entity_type": "person", "file": SimpleUploadedFile(name, data), **form}
    return client.post(URL, body, headers=headers or {})


def report_rows(resp) -> list[list[str]]:
    raw = b"".join(resp.streaming_content) if resp.streaming else resp.content
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


@pytest.fixture
def admin(client, world):
    client.force_login(world.users["data_admin_a"])
    return client


# --- Upload, poll, report ---------------------------------------------------------------------
@pytest.mark.django_db
def test_upload_poll_and_report(admin, world, grids, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        resp = post(admin, people_csv(grids[0]))
    assert resp.status_code == 202, resp.content
    body = resp.json()
    assert body["entity_type"] == "person" and body["status"] == "pending"
    job_id = body["id"]
    got = admin.get(f"{URL}/{job_id}").json()
    assert got["status"] == "done" and got["error"] == ""
    assert got["counts"] == {"accepted": 3, "updated": 0, "unchanged": 0, "refused": 1}
    assert got["progress"] == {"rows": 4, "estimated": 4, "percent": 100}
    assert got["created_by"] == "data_admin_a" and got["no_grid"] == 0 and got["skipped"] == 0
    assert got["report_url"] == f"{URL}/{job_id}/report.csv"
    rep = admin.get(got["report_url"])
    assert rep.status_code == 200 and rep["Content-Type"].startswith("text/csv")
    rows = report_rows(rep)
    assert rows[0] == ["row", "key", "status", "field", "reason"]
    assert rows[1][:4] == ["5", "330***********0000", "refused", "id_number"]
    assert Person.objects.count() == 3
    # Audited like the page: one record for the import, by the uploader.
    rec = AuditRecord.objects.get(event="registry.imported", object_id=str(job_id))
    assert rec.actor == "data_admin_a" and rec.detail["accepted"] == 3
    # The uploaded file (personal data in clear) is gone.
    assert not Path(ImportJob.objects.get(pk=job_id).file_path).exists()


@pytest.mark.django_db
def test_idempotency_key_gives_the_same_job(
    admin, world, grids, django_capture_on_commit_callbacks
):
    data = people_csv(grids[0], bad=0)
    with django_capture_on_commit_callbacks(execute=True):
        first = post(admin, data, headers={"Idempotency-Key": "import-1"})
    # A retry carries the same body; the test client's multipart boundary is fixed.
    with django_capture_on_commit_callbacks(execute=True):
        again = post(admin, data, headers={"Idempotency-Key": "import-1"})
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert ImportJob.objects.count() == 1 and Person.objects.count() == 3
    other = post(admin, people_csv(grids[0], n=2, bad=0), headers={"Idempotency-Key": "import-1"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


@pytest.mark.django_db
def test_token_upload_with_options(client, world, grids, django_capture_on_commit_callbacks):
    from yiwang.accounts.actions import do_create_api_token

    _, raw = do_create_api_token(actor=world.users["data_admin_a"], name="import")
    data = people_csv(grids[0], bad=0).decode().replace("身份证号", "证件号码").encode("gbk")
    with django_capture_on_commit_callbacks(execute=True):
        resp = post(
            client,
            data,
            headers={"Authorization": f"Bearer {raw}"},
            entity_type="人口",
            encoding="gbk",
            mapping='{"证件号码": "id_number"}',
            dry_run="true",
        )
    assert resp.status_code == 202, resp.content
    job = ImportJob.objects.get()
    assert job.entity_type == "person" and job.dry_run and job.encoding == "gbk"
    assert job.mapping == {"证件号码": "id_number"}
    assert job.status == ImportJob.Status.DONE and job.created_count == 3
    assert Person.objects.count() == 0  # a dry run


# --- Field-level errors -----------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "name", "form", "field"),
    [
        (b"a,b\n1,2\n", "p.csv", {"entity_type": "animals"}, "entity_type"),
        (b"not a workbook", "p.xlsx", {}, "file"),
        (b"{}", "p.json", {}, "file"),
        (b"", "p.csv", {}, "file"),
        ("姓名,手机号\n张三,13900000000\n".encode(), "p.csv", {}, "file"),  # no ID column
        ("姓名,证件\n张三,1\n".encode(), "p.csv", {"mapping": "证件=idnr"}, "mapping"),
        ("姓名,证件\n张三,1\n".encode(), "p.csv", {"mapping": "nonsense"}, "mapping"),
        ("姓名,证件\n张三,1\n".encode(), "p.csv", {"mapping": '{"证件": 3}'}, "mapping"),
        (
            "姓名,证件,身份证号\n张三,1,2\n".encode(),
            "p.csv",
            {"mapping": "证件=id_number"},
            "mapping",
        ),
        ("姓名,身份证号\n张三,1\n".encode(), "p.csv", {"encoding": "klingon"}, "encoding"),
    ],
)
def test_upload_errors_are_field_level_and_start_nothing(admin, data, name, form, field):
    from django.conf import settings

    uploads = Path(settings.DATA_DIR) / "imports"
    before = set(uploads.glob("upload-*"))  # other tests' jobs that never ran keep theirs
    resp = post(admin, data, name=name, **form)
    assert resp.status_code == 422, resp.content
    body = resp.json()
    assert body["code"] == "validation_error" and field in body["fields"], body
    assert ImportJob.objects.count() == 0
    assert set(uploads.glob("upload-*")) == before  # the refused file was not kept


@pytest.mark.django_db
def test_uploads_have_the_import_limit_not_the_api_body_limit(
    admin, world, grids, settings, django_capture_on_commit_callbacks
):
    """Other API bodies stop at ``YIWANG_MAX_BODY_BYTES``; an import upload at its own limit
    (``settings.API_UPLOAD_LIMITS``), idempotent retries included."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000  # spooled to a temporary file, as large ones
    rows = [[f"李{i}", pid(i), "", grids[0].centroid_lng, grids[0].centroid_lat] for i in range(60)]
    data = csv_bytes(HEADER, rows)
    assert len(data) > 3000
    with django_capture_on_commit_callbacks(execute=True):
        first = post(admin, data, headers={"Idempotency-Key": "big"})
        again = post(admin, data, headers={"Idempotency-Key": "big"})
    assert first.status_code == again.status_code == 202, first.content
    assert again.json()["id"] == first.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert Person.objects.count() == 60
    settings.API_UPLOAD_LIMITS = {URL: 1000}
    resp = post(admin, data)
    assert resp.status_code == 413 and resp.json()["code"] == "body_too_large"
    assert ImportJob.objects.count() == 1


@pytest.mark.django_db
def test_missing_form_fields_are_named(admin):
    resp = admin.post(URL, {"entity_type": "person"})
    assert resp.status_code == 422 and "file" in resp.json()["fields"]
    resp = admin.post(URL, {"file": SimpleUploadedFile("p.csv", b"a\n")})
    assert resp.status_code == 422 and "entity_type" in resp.json()["fields"]


# --- Permissions and scope --------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("who", ["operator_a", "grid_worker_a", "dept_leader_a", "auditadmin_a"])
def test_others_get_404_everywhere(client, world, who):
    job = ImportJob.objects.create(
        entity_type="person", file_name="x.csv", file_path="/x", created_by=world.users[who]
    )
    client.force_login(world.users[who])
    for url in (
        URL,
        f"{URL}/types",
        f"{URL}/templates/person.csv",
        f"{URL}/{job.pk}",
        f"{URL}/{job.pk}/report.csv",
    ):
        assert client.get(url).status_code == 404, url
    assert post(client, b"x").status_code == 404
    assert ImportJob.objects.count() == 1


@pytest.mark.django_db
def test_jobs_are_their_creators_and_the_sysadmins(client, world):
    mine = ImportJob.objects.create(
        entity_type="person",
        file_name="a.csv",
        file_path="/a",
        created_by=world.users["data_admin_a"],
    )
    theirs = ImportJob.objects.create(
        entity_type="place",
        file_name="b.csv",
        file_path="/b",
        created_by=world.users["data_admin_b"],
        status=ImportJob.Status.DONE,
    )
    client.force_login(world.users["data_admin_a"])
    listed = client.get(URL).json()
    assert [j["id"] for j in listed["items"]] == [mine.pk] and listed["count"] == 1
    assert client.get(f"{URL}/{theirs.pk}").status_code == 404
    assert client.get(f"{URL}?status=pending").json()["count"] == 1
    assert client.get(f"{URL}?entity_type=places").json()["count"] == 0
    assert "status" in client.get(f"{URL}?status=sleeping").json()["fields"]
    client.force_login(world.users["sysadmin_a"])
    assert client.get(URL).json()["count"] == 2
    assert client.get(f"{URL}/{theirs.pk}").json()["file_name"] == "b.csv"


@pytest.mark.django_db
def test_report_of_a_running_job_is_a_409(admin, world):
    job = ImportJob.objects.create(
        entity_type="person",
        file_name="x.csv",
        file_path="/x",
        created_by=world.users["data_admin_a"],
        status=ImportJob.Status.RUNNING,
        total_rows=200,
        processed_rows=50,
    )
    got = admin.get(f"{URL}/{job.pk}").json()
    assert got["progress"] == {"rows": 50, "estimated": 200, "percent": 25}
    assert got["report_url"] is None and got["no_grid"] is None
    resp = admin.get(f"{URL}/{job.pk}/report.csv")
    assert resp.status_code == 409 and resp.json()["code"] == "report_not_ready"


# --- Templates and types ----------------------------------------------------------------------
@pytest.mark.django_db
def test_templates_and_types(admin):
    resp = admin.get(f"{URL}/templates/person.csv")
    assert resp.status_code == 200 and resp.content.startswith(b"\xef\xbb\xbf")
    assert resp["Content-Disposition"] == 'attachment; filename="person-template.csv"'
    resp = admin.get(f"{URL}/templates/organisations.xlsx")
    assert resp.status_code == 200 and resp.content[:2] == b"PK"
    bad = admin.get(f"{URL}/templates/animals.pdf").json()
    assert set(bad["fields"]) == {"entity_type", "fmt"}
    types = admin.get(f"{URL}/types").json()
    assert [t["entity_type"] for t in types] == ["person", "place", "thing", "organisation"]
    person = types[0]
    assert person["key"] == "id_number"
    assert {"field": "id_number", "required": True}.items() <= person["columns"][1].items()
    assert person["templates"]["xlsx"] == f"{URL}/templates/person.xlsx"


@pytest.mark.django_db
def test_openapi_documents_every_import_operation(admin):
    spec = admin.get("/api/v1/openapi.json").json()
    ops = [
        (path, m, op)
        for path, methods in spec["paths"].items()
        if path.startswith(URL)
        for m, op in methods.items()
    ]
    assert len(ops) == 6
    for _path, _m, op in ops:
        assert op.get("summary") and op.get("description")


# --- The template's example row ---------------------------------------------------------------
def _template_rows(entity_type: str) -> list[list[str]]:
    text = schema.template_csv(entity_type).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.django_db
def test_example_row_of_an_unedited_template_is_skipped(world, grids, tmp_path):
    header, example = _template_rows("person")
    assert example[0].startswith(schema.EXAMPLE_MARK)
    g = grids[0]
    cols = schema.SCHEMAS["person"].fields
    real = dict.fromkeys(cols, "")
    real.update(name="张三", id_number=pid(1), lng=str(g.centroid_lng), lat=str(g.centroid_lat))
    f = tmp_path / "filled.csv"
    f.write_bytes(csv_bytes(header, [example, [real[c] for c in cols]]))
    res = runner.run("person", f)
    assert res.counts == {"accepted": 1, "updated": 0, "unchanged": 0, "refused": 0}
    assert res.skipped == 1 and res.rows == 1
    assert list(Person.objects.values_list("name", flat=True)) == ["张三"]
    with open(res.report_path, encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.DictReader(fh))
    skipped = [r for r in lines if r["status"] == "skipped"]
    assert skipped[0]["row"] == "2" and skipped[0]["key"] == "000***********0173"
    assert {r["status"]: r["reason"] for r in lines if r["row"] == "total"}["skipped"] == "1"


@pytest.mark.django_db
def test_an_edited_example_row_is_imported(world, grids, tmp_path):
    header, example = _template_rows("place")
    edited = list(example)
    edited[0] = "P-1"  # the code overwritten: a row of data now
    edited[header.index("经度")], edited[header.index("纬度")] = (
        str(grids[0].centroid_lng),
        str(grids[0].centroid_lat),
    )
    f = tmp_path / "places.csv"
    f.write_bytes(csv_bytes(header, [edited]))
    res = runner.run("place", f)
    assert res.counts["accepted"] == 1 and res.skipped == 0


@pytest.mark.django_db
@pytest.mark.parametrize("entity_type", ["person", "place", "thing", "organisation"])
def test_xlsx_template_left_as_it_is_imports_nothing(world, grids, tmp_path, entity_type):
    from openpyxl import load_workbook

    data = schema.template_xlsx(entity_type)
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    assert ws.cell(row=2, column=1).comment is not None
    assert ws.cell(row=2, column=1).font.i  # the example row is set in grey italics
    f = tmp_path / f"{entity_type}.xlsx"
    f.write_bytes(data)
    res = runner.run(entity_type, f)
    assert res.rows == 0 and res.skipped == 1
    assert not any(res.counts.values())


def test_template_examples_are_unmistakable_and_outside_the_demo():
    from yiwang.registry.demo import COMMUNITY_H, COMMUNITY_W, ORIGIN

    for t in schema.ENTITY_TYPES:
        s = schema.SCHEMAS[t]
        key = s.column(s.key).example
        assert key.startswith(("000000", schema.EXAMPLE_MARK, "91000000")), key
        assert s.column("name").example.startswith(schema.EXAMPLE_MARK)
        lng, lat = float(s.column("lng").example), float(s.column("lat").example)
        inside = (
            ORIGIN[0] <= lng <= ORIGIN[0] + 4 * COMMUNITY_W
            and ORIGIN[1] - 3 * COMMUNITY_H <= lat <= ORIGIN[1]
        )
        assert not inside


# --- Locations: organisations inherit; rows left in no grid are reported ----------------------
@pytest.mark.django_db
def test_organisation_takes_its_places_location_and_grid(world, grids, tmp_path):
    g = grids[0]
    f = tmp_path / "places.csv"
    f.write_bytes(
        csv_bytes(
            ["地点编码", "名称", "经度", "纬度"], [["P-1", "楼", g.centroid_lng, g.centroid_lat]]
        )
    )
    runner.run("place", f)
    code = make_credit_code("330106", "MA2H00001")
    f = tmp_path / "orgs.csv"
    f.write_bytes(csv_bytes(["统一社会信用代码", "名称", "地点编码"], [[code, "某公司", "P-1"]]))
    res = runner.run("organisation", f)
    assert res.counts["accepted"] == 1 and res.no_grid == 0
    org = Organisation.objects.get()
    place = Place.objects.get(code="P-1")
    assert (org.lng, org.lat, org.grid_id) == (place.lng, place.lat, g.pk)
    assert org.coord_system == "wgs84"


def _report(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.django_db
@pytest.mark.parametrize("fast", [True, False])
def test_people_without_a_location_are_accepted_with_a_warning(
    world, grids, tmp_path, monkeypatch, fast
):
    monkeypatch.setattr(people, "FAST", fast)
    g = grids[0]
    rows = [
        ["有坐标", pid(1), "", g.centroid_lng, g.centroid_lat],
        ["无坐标", pid(2), "", "", ""],
        ["坏号", "1", "", "", ""],
    ]
    f = tmp_path / "p.csv"
    f.write_bytes(csv_bytes(HEADER, rows))
    res = runner.run("person", f)
    assert res.counts["accepted"] == 2 and res.counts["refused"] == 1 and res.no_grid == 1
    lines = _report(res.report_path)
    body = [(r["row"], r["status"], r["field"]) for r in lines if r["row"] not in ("", "total")]
    assert body == [("3", "accepted", "grid"), ("4", "refused", "id_number")]
    assert next(r for r in lines if r["row"] == "3")["reason"] == no_grid_warning()
    totals = {r["status"]: r["reason"] for r in lines if r["row"] == "total"}
    assert totals["no_grid"] == "1" and totals["accepted"] == "2"
    # Re-imported unchanged: no new warning (nothing was written).
    again = runner.run("person", f)
    assert again.counts["unchanged"] == 2 and again.no_grid == 0


@pytest.mark.django_db
def test_updated_row_left_without_grid_carries_the_warning(world, grids, tmp_path):
    f = tmp_path / "p.csv"
    f.write_bytes(csv_bytes(HEADER, [["无坐标", pid(2), "", "", ""]]))
    runner.run("person", f)
    f.write_bytes(csv_bytes(HEADER, [["改名", pid(2), "", "", ""]]))
    res = runner.run("person", f)
    assert res.counts["updated"] == 1 and res.no_grid == 1
    line = next(r for r in _report(res.report_path) if r["row"] == "2")
    assert (line["status"], line["field"], line["reason"]) == (
        "updated",
        "name",
        no_grid_warning(),
    )


@pytest.mark.django_db
def test_home_and_parent_without_location_warn_too(world, grids, tmp_path):
    f = tmp_path / "places.csv"
    f.write_bytes(
        csv_bytes(
            ["地点编码", "名称", "上级地点编码"], [["P-1", "无坐标楼", ""], ["P-2", "室", "P-1"]]
        )
    )
    res = runner.run("place", f)
    assert res.counts["accepted"] == 2 and res.no_grid == 2
    f = tmp_path / "p.csv"
    f.write_bytes(csv_bytes(["姓名", "身份证号", "住所编码"], [["张三", pid(3), "P-2"]]))
    res = runner.run("person", f)
    assert res.no_grid == 1
    assert [r["field"] for r in _report(res.report_path) if r["row"] == "2"] == ["grid"]


@pytest.mark.django_db
def test_without_any_grid_one_note_instead_of_a_line_per_row(world, tmp_path):
    f = tmp_path / "p.csv"
    f.write_bytes(csv_bytes(HEADER, [["张三", pid(1), "", "", ""], ["李四", pid(2), "", "", ""]]))
    res = runner.run("person", f)
    assert res.counts["accepted"] == 2 and res.no_grid == 2
    lines = _report(res.report_path)
    assert not [r for r in lines if r["row"] not in ("", "total")]
    assert [r["status"] for r in lines if r["row"] == ""] == ["no grids"]


@pytest.mark.django_db
def test_job_detail_counts_rows_without_grid(
    admin, world, grids, django_capture_on_commit_callbacks
):
    data = csv_bytes(HEADER, [["无坐标", pid(2), "", "", ""]])
    with django_capture_on_commit_callbacks(execute=True):
        job_id = post(admin, data).json()["id"]
    got = admin.get(f"{URL}/{job_id}").json()
    assert got["counts"]["accepted"] == 1 and got["no_grid"] == 1
    page = admin.get(f"/console/imports/{job_id}/progress/")
    assert b'data-testid="no-grid"' in page.content
    rec = AuditRecord.objects.get(event="registry.imported", object_id=str(job_id))
    assert rec.detail["no_grid"] == 1
