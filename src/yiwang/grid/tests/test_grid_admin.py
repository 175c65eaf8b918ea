"""Grid administration in scope: imports only under the actor's territory, overlaps and gaps
against the grids already stored, assigning and removing members, the file upload endpoint and
the CLI."""

from __future__ import annotations

import io
import json
import time
from contextlib import redirect_stderr, redirect_stdout

import pytest
import shapely
from django.test import override_settings

from yiwang.accounts.actions import do_add_community
from yiwang.accounts.models import DivisionLevel
from yiwang.accounts.tests.factories import DivisionFactory
from yiwang.core.audit import AuditRecord
from yiwang.core.errors import NotFound, ValidationFailed
from yiwang.grid import actions
from yiwang.grid import geometry as geo
from yiwang.grid.models import Grid, GridMember
from yiwang.grid.selectors import grid_ids_for
from yiwang.grid.tests.factories import rect
from yiwang.grid.tests.scope_cases import build_grids

IMPORT = "/api/v1/grid/grids/import"
IMPORT_FILE = "/api/v1/grid/grids/import/file"


@pytest.fixture
def gw(world):
    """The world with two grids per district (``grid_a``/``grid_a2``; worker a in grid_a)."""
    build_grids(world)
    return world


def feature(geometry, **props):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def fc(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def shape_of(grid: Grid):
    return shapely.geometry.shape(grid.geometry)


# --- 1. Imports only in the actor's territory ------------------------------------------------
def test_data_admin_of_another_district_cannot_overwrite_a_grid(client, gw):
    grid = gw.extra["grid_a"]
    before = (grid.name, grid.geometry, grid.version)
    client.force_login(gw.users["data_admin_b"])
    body = {"data": fc(feature(rect(120.5, 30.5, 120.51, 30.51), code=grid.code, name="taken"))}
    resp = client.post(IMPORT, body, content_type="application/json")
    assert resp.status_code == 200, resp.content
    report = resp.json()
    assert report["created"] == 0 and report["updated"] == 0 and report["refused"] == 1
    (problem,) = report["problems"]
    assert problem["kind"] == "outside_scope"
    assert problem["features"] == [0] and problem["field"] == "code"
    grid.refresh_from_db()
    assert (grid.name, grid.geometry, grid.version) == before


def test_rows_outside_the_territory_are_refused_per_feature_the_rest_imported(gw):
    ca, cb = gw.divisions["community_a"], gw.divisions["community_b"]
    data = fc(
        feature(rect(120.1, 30.2, 120.105, 30.205), community=ca.code, name="mine"),
        feature(rect(120.2, 30.2, 120.205, 30.205), community=cb.code, name="theirs"),
    )
    report = actions.do_import_grids(actor=gw.users["data_admin_a"], data=data)
    assert report.created == 1 and report.refused == 1
    (problem,) = [p for p in report.problems if p.kind == "outside_scope"]
    assert problem.features == [1] and problem.field == "community"
    assert Grid.objects.filter(name="mine", community=ca).exists()
    assert not Grid.objects.filter(name="theirs").exists()


def test_the_system_administrator_imports_anywhere(gw):
    cb = gw.divisions["community_b"]
    data = fc(feature(rect(120.2, 30.2, 120.205, 30.205), community=cb.code))
    report = actions.do_import_grids(actor=gw.users["sysadmin_a"], data=data)
    assert report.created == 1 and report.refused == 0


# --- 2. Overlaps and gaps against the stored grids -------------------------------------------
def test_a_polygon_identical_to_a_stored_grid_is_reported(gw):
    grid = gw.extra["grid_a"]
    data = fc(feature(grid.geometry, community=grid.community.code))
    report = actions.do_import_grids(actor=gw.users["data_admin_a"], data=data, dry_run=True)
    overlaps = [p for p in report.problems if p.kind == "overlap"]
    assert len(overlaps) == 1
    assert overlaps[0].features == [0] and overlaps[0].grids == [grid.code]
    assert overlaps[0].area_m2 == pytest.approx(grid.area_m2, rel=0.01)
    x, y = overlaps[0].location
    assert shape_of(grid).contains(shapely.Point(x, y))


def test_replacing_a_grid_by_its_code_is_not_an_overlap_with_itself(gw):
    grid = gw.extra["grid_a"]
    data = fc(feature(grid.geometry, code=grid.code, name="same"))
    report = actions.do_import_grids(actor=gw.users["data_admin_a"], data=data)
    assert report.updated == 1
    assert [p for p in report.problems if p.kind == "overlap"] == []


def test_overlap_with_a_grid_outside_the_territory_does_not_name_it(gw):
    ca, gb = gw.divisions["community_a"], gw.extra["grid_b"]
    data = fc(feature(gb.geometry, community=ca.code))
    report = actions.do_import_grids(actor=gw.users["data_admin_a"], data=data, dry_run=True)
    (overlap,) = [p for p in report.problems if p.kind == "overlap"]
    assert overlap.grids == [] and gb.code not in overlap.message


def test_a_hole_between_new_and_stored_grids_is_a_gap(world):
    street = world.divisions["street_a"]
    comm = do_add_community(actor=None, street=street, seq=7, name="环")
    # Three sides of a ring stored, the fourth imported: the hole appears only together.
    stored = fc(
        feature(rect(120.0, 30.02, 120.03, 30.025), community=comm.code),
        feature(rect(120.0, 30.025, 120.005, 30.035), community=comm.code),
        feature(rect(120.025, 30.025, 120.03, 30.035), community=comm.code),
    )
    first = actions.do_import_grids(actor=None, data=stored)
    assert first.created == 3 and not [p for p in first.problems if p.kind == "gap"]
    report = actions.do_import_grids(
        actor=world.users["data_admin_a"],
        data=fc(feature(rect(120.0, 30.035, 120.03, 30.04), community=comm.code)),
        dry_run=True,
    )
    (gap,) = [p for p in report.problems if p.kind == "gap"]
    assert gap.area_m2 == pytest.approx(geo.area_m2(shapely.box(120.005, 30.025, 120.025, 30.035)))
    assert shapely.box(120.005, 30.025, 120.025, 30.035).contains(shapely.Point(*gap.location))


def test_overlaps_with_ten_thousand_stored_grids_are_vectorised():
    size = 0.001
    stored = [
        shapely.box(120 + c * size, 30 + r * size, 120 + (c + 1) * size, 30 + (r + 1) * size)
        for r in range(100)
        for c in range(100)
    ]
    labels = [f"g{i}" for i in range(len(stored))]
    # 1,000 new grids (ten rows) shifted by half a cell: each overlaps four stored ones, but
    # the one at the east end of each row only two.
    new = [shapely.affinity.translate(g, size / 2, size / 2) for g in stored[:1000]]
    started = time.perf_counter()
    problems = geo.overlaps_stored(new, list(range(len(new))), stored, labels)
    elapsed = time.perf_counter() - started
    assert len(problems) == 990 * 4 + 10 * 2
    assert elapsed < 5.0, elapsed  # ~0.1 s here; a per-pair Python loop is far slower


# --- 3. Members -------------------------------------------------------------------------------
def test_data_admin_cannot_assign_another_districts_worker(client, gw):
    client.force_login(gw.users["data_admin_a"])
    url = f"/api/v1/grid/grids/{gw.extra['grid_a2'].pk}/members"
    resp = client.post(
        url,
        {"user_id": gw.users["grid_worker_b"].pk, "role": "leader"},
        content_type="application/json",
    )
    assert resp.status_code == 422 and "user_id" in resp.json()["fields"]
    assert (
        not GridMember.objects.filter(user=gw.users["grid_worker_b"])
        .exclude(grid=gw.extra["grid_b"])
        .exists()
    )


def test_the_workers_own_division_must_cover_the_grid(gw):
    county = gw.divisions["county_a"]
    other_street = DivisionFactory(
        code=f"{county.code}009",
        prefix=f"{county.code}009",
        level=DivisionLevel.STREET,
        parent=county,
        name="别的街道",
    )
    comm = do_add_community(actor=None, street=other_street, seq=1, name="别的社区")
    actions.do_import_grids(
        actor=None, data=fc(feature(rect(120.3, 30.3, 120.31, 30.31), community=comm.code))
    )
    grid = Grid.objects.get(community=comm)
    with pytest.raises(ValidationFailed) as exc:
        actions.do_assign_member(
            actor=gw.users["data_admin_a"], grid_id=grid.pk, user_id=gw.users["grid_worker_a"].pk
        )
    assert "user_id" in exc.value.fields


def test_system_admin_can_assign_members(client, gw):
    client.force_login(gw.users["sysadmin_a"])
    grid = gw.extra["grid_a2"]
    resp = client.post(
        f"/api/v1/grid/grids/{grid.pk}/members",
        {"user_id": gw.users["grid_worker_a"].pk, "role": "leader"},
        content_type="application/json",
    )
    assert resp.status_code == 200, resp.content
    assert resp.json() == {
        "grid": grid.code,
        "user_id": gw.users["grid_worker_a"].pk,
        "role": "leader",
    }


def test_removing_a_member_takes_the_grid_out_of_their_scope(client, gw):
    worker, grid = gw.users["grid_worker_a"], gw.extra["grid_a"]
    assert grid_ids_for(worker) == [grid.pk]
    client.force_login(gw.users["data_admin_a"])
    resp = client.delete(f"/api/v1/grid/grids/{grid.pk}/members/{worker.pk}")
    assert resp.status_code == 204, resp.content
    assert grid_ids_for(worker) == []
    rec = AuditRecord.objects.filter(event="grid.member_removed").latest("pk")
    assert rec.detail["grid"] == grid.code and rec.detail["user_id"] == worker.pk
    # Again: no longer a member.
    resp = client.delete(f"/api/v1/grid/grids/{grid.pk}/members/{worker.pk}")
    assert resp.status_code == 404


def test_another_district_cannot_remove_members(gw):
    with pytest.raises(NotFound):
        actions.do_remove_member(
            actor=gw.users["data_admin_b"],
            grid_id=gw.extra["grid_a"].pk,
            user_id=gw.users["grid_worker_a"].pk,
        )
    assert GridMember.objects.filter(grid=gw.extra["grid_a"]).exists()


def test_a_moved_worker_loses_the_old_grid(client, gw):
    worker, old, new = gw.users["grid_worker_a"], gw.extra["grid_a"], gw.extra["grid_a2"]
    client.force_login(gw.users["data_admin_a"])
    resp = client.post(
        f"/api/v1/grid/grids/{new.pk}/members",
        {"user_id": worker.pk, "move": True},
        content_type="application/json",
    )
    assert resp.status_code == 200, resp.content
    assert grid_ids_for(worker) == [new.pk]
    client.force_login(worker)
    assert client.get(f"/api/v1/grid/grids/{old.pk}").status_code == 404
    assert client.get(f"/api/v1/grid/grids/{new.pk}").status_code == 200


# --- 4. File upload and CLI -------------------------------------------------------------------
def _upload(client, data, **form):
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = {"file": SimpleUploadedFile("g.geojson", json.dumps(data).encode())} | form
    return client.post(IMPORT_FILE, body)


def test_file_upload_imports_with_a_property_mapping(client, gw):
    ca = gw.divisions["community_a"]
    client.force_login(gw.users["data_admin_a"])
    data = fc(feature(rect(120.1, 30.2, 120.105, 30.205), 社区=ca.code, 名称="上传"))
    resp = _upload(client, data, community_property="社区", name_property="名称", dry_run="true")
    assert resp.status_code == 200, resp.content
    assert resp.json()["dry_run"] is True and resp.json()["created"] == 1
    assert not Grid.objects.filter(name="上传").exists()
    resp = _upload(client, data, community_property="社区", name_property="名称")
    assert resp.json()["created"] == 1 and Grid.objects.filter(name="上传").exists()


def test_file_upload_over_its_limit_is_413(client, gw):
    client.force_login(gw.users["data_admin_a"])
    data = fc(*[feature(rect(120.1, 30.2, 120.105, 30.205), community="x")] * 50)
    with override_settings(GRID_IMPORT_MAX_BYTES=1000):
        resp = _upload(client, data)
    assert resp.status_code == 413 and resp.json()["code"] == "body_too_large"


def test_file_upload_needs_a_file_and_json(client, gw):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(gw.users["data_admin_a"])
    resp = client.post(IMPORT_FILE, {"dry_run": "true"})
    assert resp.status_code == 422 and "file" in resp.json()["fields"]
    resp = client.post(IMPORT_FILE, {"file": SimpleUploadedFile("g.geojson", b"{nope")})
    assert resp.status_code == 422 and "file" in resp.json()["fields"]


def _cli(*argv):
    from yiwang.cli import build_parser

    args = build_parser().parse_args(["grids", "import", *argv])
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = args.func(args, setup=False)
    return rc, out.getvalue(), err.getvalue()


def test_cli_imports_with_mapping_dry_run_and_user(gw, tmp_path):
    ca, cb = gw.divisions["community_a"], gw.divisions["community_b"]
    path = tmp_path / "grids.geojson"
    path.write_text(
        json.dumps(
            fc(
                feature(rect(120.1, 30.2, 120.105, 30.205), comm=ca.code, title="甲"),
                feature(rect(120.2, 30.2, 120.205, 30.205), comm=cb.code, title="乙"),
            ),
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    common = [str(path), "--mapping", "community=comm,name=title", "--user", "data_admin_a"]
    rc, out, _err = _cli(*common, "--dry-run")
    assert rc == 1  # one feature refused
    assert "1 created" in out and "1 refused" in out and "outside_scope" in out
    assert not Grid.objects.filter(name__in=["甲", "乙"]).exists()
    rc, out, _err = _cli(*common, "--json")
    assert json.loads(out)["created"] == 1
    assert Grid.objects.filter(name="甲").exists() and not Grid.objects.filter(name="乙").exists()


def test_cli_usage_errors(gw, tmp_path):
    rc, _out, err = _cli(str(tmp_path / "missing.geojson"))
    assert rc == 2 and "no such file" in err
    path = tmp_path / "g.geojson"
    path.write_text(json.dumps(fc()), encoding="utf-8")
    assert _cli(str(path), "--mapping", "colour=x")[0] == 2
    assert _cli(str(path), "--user", "nobody")[0] == 2
    rc, _out, err = _cli(str(path), "--user", "resident_a")
    assert rc == 2 and err


# --- The import page (outside /api/: files larger than the API's body limit) -----------------
def test_import_page_reports_and_imports(client, gw):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    ca, cb = gw.divisions["community_a"], gw.divisions["community_b"]
    data = fc(
        feature(rect(120.1, 30.2, 120.105, 30.205), c=ca.code, n="页面"),
        feature(rect(120.2, 30.2, 120.205, 30.205), c=cb.code),
    )
    client.force_login(gw.users["data_admin_a"])
    url = reverse("grid:import")
    assert client.get(url).status_code == 200

    def post(**form):
        f = SimpleUploadedFile("g.geojson", json.dumps(data).encode())
        body = {"file": f, "community_property": "c", "name_property": "n"} | form
        return client.post(url, body)

    resp = post(dry_run="1")
    page = resp.content.decode()
    assert resp.status_code == 200 and 'data-problem="outside_scope"' in page
    assert not Grid.objects.filter(name="页面").exists()
    resp = post()
    assert resp.status_code == 200 and Grid.objects.filter(name="页面").exists()
    assert 'data-testid="grid-import-link"' in client.get(reverse("grid:map")).content.decode()


def test_import_page_refuses_what_is_too_large_and_other_roles(client, gw):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    url = reverse("grid:import")
    client.force_login(gw.users["data_admin_a"])
    big = SimpleUploadedFile("g.geojson", b" " * 200_000)
    with override_settings(GRID_IMPORT_MAX_BYTES=1000):
        resp = client.post(url, {"file": big})
    assert resp.status_code == 413
    resp = client.post(url, {"file": SimpleUploadedFile("g.geojson", b"{nope")})
    assert resp.status_code == 422
    client.force_login(gw.users["operator_a"])
    assert client.get(url).status_code == 404
    assert 'data-testid="grid-import-link"' not in client.get(reverse("grid:map")).content.decode()
