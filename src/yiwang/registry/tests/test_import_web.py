"""The import pages: upload → background job → progress → report; templates; permissions."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import NoReverseMatch, include, path, reverse

from yiwang.accounts.actions import do_add_community
from yiwang.core.ids import make_resident_id
from yiwang.grid import actions as grid_actions
from yiwang.grid.models import Grid
from yiwang.grid.tests.factories import tiled_collection
from yiwang.registry.models import ImportJob, Person

# Until the project's URLconf mounts the import pages, these tests mount them themselves.
urlpatterns = [path("console/imports/", include("yiwang.registry.urls_import"))]


@pytest.fixture(autouse=True)
def import_urls(settings):
    try:
        reverse("registry_import:index")
    except NoReverseMatch:
        from yiwang.config import urls as root

        urlpatterns[1:] = root.urlpatterns
        settings.ROOT_URLCONF = __name__


@pytest.fixture
def grids(world):
    comm = do_add_community(actor=None, street=world.divisions["street_a"], seq=1, name="社区1")
    grid_actions.do_import_grids(actor=None, data=tiled_collection([comm.code], cols=2, rows=1))
    return list(Grid.objects.order_by("code"))


def people_csv(g, n=3, bad=1, encoding="utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["姓名", "身份证号", "手机号", "经度", "纬度"])
    for i in range(n):
        pid = make_resident_id("330106", dt.date(1985, 1, 1) + dt.timedelta(days=i), 11)
        w.writerow([f"李{i}", pid, "", g.centroid_lng, g.centroid_lat])
    for _ in range(bad):
        w.writerow(["坏号", "330106198501010000", "", g.centroid_lng, g.centroid_lat])
    return buf.getvalue().encode(encoding)


def upload(client, data: bytes, name="people.csv", **extra):
    form = {"entity_type": "person", "file": SimpleUploadedFile(name, data), **extra}
    return client.post(reverse("registry_import:index"), form)


@pytest.mark.django_db
def test_upload_runs_the_job_and_the_report_downloads(
    client, world, grids, django_capture_on_commit_callbacks
):
    client.force_login(world.users["data_admin_a"])
    assert client.get(reverse("registry_import:index")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        resp = upload(client, people_csv(grids[0], encoding="gbk"))
    assert resp.status_code == 302
    job = ImportJob.objects.get()
    assert resp["Location"] == reverse("registry_import:job", args=[job.pk])
    assert job.status == ImportJob.Status.DONE and job.encoding == "gb18030"
    assert (job.created_count, job.refused_count) == (3, 1)
    assert Person.objects.count() == 3
    page = client.get(resp["Location"])
    assert page.status_code == 200 and b"registry_import" not in page.content
    partial = client.get(reverse("registry_import:progress", args=[job.pk]))
    assert partial.status_code == 200
    assert b'data-status="done"' in partial.content and b"hx-trigger" not in partial.content
    report = client.get(reverse("registry_import:report", args=[job.pk]))
    assert report.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["row", "key", "status", "field", "reason"]
    assert rows[1][:4] == ["5", "330***********0000", "refused", "id_number"]
    # The uploaded file (personal data in clear) is gone once imported.
    from pathlib import Path

    assert not Path(job.file_path).exists()


@pytest.mark.django_db
def test_running_job_polls_every_second(client, world):
    client.force_login(world.users["data_admin_a"])
    job = ImportJob.objects.create(
        entity_type="person",
        file_name="x.csv",
        file_path="/nonexistent",
        created_by=world.users["data_admin_a"],
        status=ImportJob.Status.RUNNING,
        total_rows=200,
        processed_rows=50,
    )
    partial = client.get(reverse("registry_import:progress", args=[job.pk]))
    assert b'hx-trigger="every 1s"' in partial.content and b'value="25"' in partial.content
    assert client.get(reverse("registry_import:report", args=[job.pk])).status_code == 404


@pytest.mark.django_db
def test_dry_run_from_the_page_writes_nothing(
    client, world, grids, django_capture_on_commit_callbacks
):
    client.force_login(world.users["sysadmin_a"])
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, people_csv(grids[0]), dry_run="1")
    job = ImportJob.objects.get()
    assert job.dry_run and job.created_count == 3 and Person.objects.count() == 0


@pytest.mark.django_db
def test_mapping_from_the_form(client, world, grids, django_capture_on_commit_callbacks):
    client.force_login(world.users["data_admin_a"])
    data = people_csv(grids[0], bad=0).decode().replace("身份证号", "证件号码").encode()
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, data, mapping="证件号码=id_number")
    assert ImportJob.objects.get().created_count == 3


@pytest.mark.django_db
def test_wrong_file_type_is_refused_with_a_message(client, world):
    client.force_login(world.users["data_admin_a"])
    resp = upload(client, b"{}", name="people.json")
    assert resp.status_code == 422 and ImportJob.objects.count() == 0
    assert ".csv" in resp.content.decode()
    resp = upload(client, b"a,b\n", mapping="nonsense")
    assert resp.status_code == 422


@pytest.mark.django_db
def test_templates_download(client, world):
    client.force_login(world.users["data_admin_a"])
    resp = client.get(reverse("registry_import:template", args=["person", "csv"]))
    assert resp.status_code == 200 and resp.content.startswith(b"\xef\xbb\xbf")
    assert "身份证号" in resp.content.decode("utf-8-sig")
    resp = client.get(reverse("registry_import:template", args=["organisation", "xlsx"]))
    assert resp.status_code == 200 and resp.content[:2] == b"PK"
    assert client.get(reverse("registry_import:template", args=["x", "csv"])).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["operator_a", "grid_worker_a", "dept_leader_a", "auditadmin_a"])
def test_others_get_404(client, world, who):
    owner = world.users["data_admin_a"]
    job = ImportJob.objects.create(
        entity_type="person", file_name="x.csv", file_path="/x", created_by=owner
    )
    client.force_login(world.users[who])
    for url in (
        reverse("registry_import:index"),
        reverse("registry_import:job", args=[job.pk]),
        reverse("registry_import:progress", args=[job.pk]),
        reverse("registry_import:report", args=[job.pk]),
        reverse("registry_import:template", args=["person", "csv"]),
    ):
        assert client.get(url).status_code == 404, url
    assert upload(client, b"x").status_code == 404


@pytest.mark.django_db
def test_another_data_admins_job_is_a_404_and_anonymous_must_log_in(client, world):
    job = ImportJob.objects.create(
        entity_type="person",
        file_name="x.csv",
        file_path="/x",
        created_by=world.users["data_admin_a"],
    )
    resp = client.get(reverse("registry_import:job", args=[job.pk]))
    assert resp.status_code == 302 and "login" in resp["Location"]
    client.force_login(world.users["data_admin_b"])
    assert client.get(reverse("registry_import:job", args=[job.pk])).status_code == 404
    client.force_login(world.users["sysadmin_a"])
    assert client.get(reverse("registry_import:job", args=[job.pk])).status_code == 200
