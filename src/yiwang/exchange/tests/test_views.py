"""Pages: upload with a report, request and narrow a grant, the log and who read my data."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from yiwang.exchange import actions
from yiwang.exchange.models import Grant

pytestmark = pytest.mark.django_db


def test_upload_page_loads_and_shows_the_report(client, xw):
    client.force_login(xw.users["dept_staff_a"])
    csv = "credit_code,name,capital\n91330106000000007X,甲,1\n91330106000000008X,乙,bad\n"
    r = client.post(
        "/exchange/datasets/ent_reg_a/load/",
        {"file": SimpleUploadedFile("e.csv", csv.encode(), content_type="text/csv")},
    )
    assert r.status_code == 302 and r["Location"].endswith("/versions/2/")
    page = client.get(r["Location"]).content.decode()
    assert "type-error" in page and "capital" in page
    bad = client.post(
        "/exchange/datasets/ent_reg_a/load/",
        {"file": SimpleUploadedFile("e.txt", b"x", content_type="text/plain")},
    )
    assert bad.status_code == 422 and "errorlist" in bad.content.decode()


def test_request_page_shows_field_errors_then_succeeds(client, xw):
    client.force_login(xw.users["dept_staff_b"])
    r = client.post(
        "/exchange/datasets/ent_reg_a/request/",
        {
            "purpose": "",
            "legal_basis": "",
            "valid_from": "2026-01-01",
            "valid_to": "x",
            "daily_quota": "10",
        },
    )
    assert r.status_code == 422
    assert 'id="to-err"' in r.content.decode()
    r = client.post(
        "/exchange/datasets/ent_reg_a/request/",
        {
            "fields": ["name", "capital"],
            "purpose": "政策兑现",
            "legal_basis": "条例",
            "valid_from": "2026-11-30",
            "valid_to": "2027-06-30",
            "daily_quota": "10",
        },
    )
    assert r.status_code == 302
    g = Grant.objects.latest("id")
    client.force_login(xw.users["dept_leader_a"])
    assert f'data-grant="{g.pk}"' in client.get("/exchange/grants/inbox/").content.decode()
    r = client.post(
        f"/exchange/grants/{g.pk}/decide/",
        {"decision": "narrow", "fields": ["name"], "daily_quota": "5", "reason": ""},
    )
    assert r.status_code == 422 and 'id="d-reason-err"' in r.content.decode()
    r = client.post(
        f"/exchange/grants/{g.pk}/decide/",
        {"decision": "narrow", "fields": ["name"], "daily_quota": "5", "reason": "最小必要"},
    )
    assert r.status_code == 302
    g.refresh_from_db()
    assert g.status == "narrowed" and g.fields == ["name"] and g.daily_quota == 5


def test_log_and_my_accesses_pages(client, xw):
    actions.do_exchange(
        caller=actions.Caller.for_client(xw.extra["client_a"], "li.si"),
        dataset_code="ent_reg_a",
        subject=xw.extra["credit_code_a"],
        fields=["name"],
        purpose="企业画像",
        case_ref="APP-77",
    )
    client.force_login(xw.users["dept_leader_a"])
    page = client.get("/exchange/log/").content.decode()
    assert "APP-77" in page and "li.si" in page
    client.force_login(xw.users["enterprise_a"])
    page = client.get("/exchange/me/").content.decode()
    assert "APP-77" in page and "企业画像" in page
    export = client.get("/exchange/me/export.json")
    assert export.json()["datasets"]["ent_reg_a"]["rows"][0]["name"] == "测试企业a"
    client.force_login(xw.users["enterprise_b"])
    assert "APP-77" not in client.get("/exchange/me/").content.decode()


def test_owner_runs_quality_from_the_dataset_page(client, xw):
    client.force_login(xw.users["dept_staff_a"])
    r = client.post("/exchange/datasets/ent_reg_a/quality/")
    assert r.status_code == 302
    page = client.get("/exchange/datasets/ent_reg_a/").content.decode()
    assert 'data-testid="quality"' in page
    client.force_login(xw.users["data_admin_a"])  # not the owner: no quality section
    assert (
        'data-testid="quality"' not in client.get("/exchange/datasets/ent_reg_a/").content.decode()
    )
