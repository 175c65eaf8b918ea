"""The exchange API over HTTP: client credentials, refusals, quota, loads, DCAT."""

from __future__ import annotations

import base64
import io

import openpyxl
import pytest

from yiwang.exchange.models import ExchangeLog

pytestmark = pytest.mark.django_db

Q = "/api/v1/exchange/query/ent_reg_a"


def _q(client, xw, body=None, credential=None, **headers):
    body = body or {
        "subject": xw.extra["credit_code_a"],
        "fields": ["name", "legal_rep"],
        "purpose": "企业画像",
        "case": "APP-42",
    }
    auth = credential if credential is not None else xw.extra["credential_a"]
    return client.post(
        Q, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {auth}", **headers
    )


def test_client_credential_gets_granted_fields_masked_and_is_logged(client, xw):
    r = _q(client, xw, HTTP_X_YIWANG_USER="zhang.san")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["records"] == [{"name": "测试企业a", "legal_rep": "王*明"}]
    log = ExchangeLog.objects.get(pk=body["log_id"])
    assert log.client == xw.extra["client_a"] and log.user == "zhang.san"
    assert log.case_ref == "APP-42" and log.response_hash == body["response_hash"]


def test_bad_credential_is_401_and_every_such_refusal_is_logged(client, xw):
    from yiwang.core.models import AuditRecord

    r = _q(client, xw, credential="ywc_000000000000_wrong")
    assert r.status_code == 401
    log = ExchangeLog.objects.order_by("-id").first()
    assert (log.status_code, log.result, log.reason) == (401, "denied", "unknown credential")
    assert log.service == "ent_reg_a" and log.dataset.code == "ent_reg_a"
    rec = AuditRecord.objects.filter(event="exchange.call").order_by("-seq").first()
    assert rec.result == "denied" and rec.detail["reason"] == "unknown credential"
    client_id = xw.extra["client_a"].client_id
    assert _q(client, xw, credential=f"ywc_{client_id}_wrong").status_code == 401
    log = ExchangeLog.objects.order_by("-id").first()
    assert log.reason == "wrong secret" and log.client == xw.extra["client_a"]
    r = client.post(Q, {}, content_type="application/json")
    assert r.status_code == 401
    assert ExchangeLog.objects.order_by("-id").first().reason == "no credential"


def test_refusals_over_http(client, xw):
    base = {"subject": xw.extra["credit_code_a"], "purpose": "画像", "case": "A-1"}
    r = _q(client, xw, {**base, "fields": ["legal_rep_id"]})
    assert r.status_code == 403 and r.json()["code"] == "exchange_denied"
    r = _q(client, xw, {**base, "fields": ["name"], "purpose": ""})
    assert r.status_code == 422 and "purpose" in r.json()["fields"]
    r = _q(client, xw, {**base, "fields": ["name"], "subject": "91330106000000000X"})
    assert r.status_code == 404
    r = client.post(
        "/api/v1/exchange/query/nope",
        {**base, "fields": ["name"]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {xw.extra['credential_a']}",
    )
    assert r.status_code == 404
    assert ExchangeLog.objects.exclude(result="ok").count() == 4


def test_quota_is_429(client, xw):
    g = xw.extra["grant_a"]
    type(g).objects.filter(pk=g.pk).update(daily_quota=1)
    assert _q(client, xw).status_code == 200
    r = _q(client, xw)
    assert r.status_code == 429 and r.json()["code"] == "too_many_requests"


def test_revoked_client_is_401(client, xw):
    c = xw.extra["client_a"]
    type(c).objects.filter(pk=c.pk).update(revoked_at="2026-01-01T00:00:00Z")
    assert _q(client, xw).status_code == 401


def test_grant_flow_over_http(client, xw):
    client.force_login(xw.users["dept_staff_b"])
    r = client.post(
        "/api/v1/exchange/grants",
        {
            "dataset": "ent_reg_a",
            "fields": ["name", "capital", "founded"],
            "purpose": "政策兑现",
            "legal_basis": "条例",
            "valid_from": "2026-01-01",
            "valid_to": "2099-12-31",
            "daily_quota": 50,
        },
        content_type="application/json",
    )
    assert r.status_code == 422 and "valid_to" in r.json()["fields"]  # over three years
    r = client.post(
        "/api/v1/exchange/grants",
        {
            "dataset": "ent_reg_a",
            "fields": ["name", "capital", "founded"],
            "purpose": "政策兑现",
            "legal_basis": "条例",
            "valid_from": "2026-01-01",
            "valid_to": "2027-12-31",
            "daily_quota": 50,
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    gid = r.json()["id"]
    client.force_login(xw.users["dept_leader_a"])
    r = client.post(
        f"/api/v1/exchange/grants/{gid}/decision",
        {"decision": "narrow", "reason": "最小必要", "fields": ["name"], "daily_quota": 10},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["status"] == "narrowed"
    client.force_login(xw.users["dept_staff_b"])
    body = {"subject": xw.extra["credit_code_a"], "purpose": "政策兑现", "case": "P-1"}
    ok = client.post(Q, {**body, "fields": ["name"]}, content_type="application/json")
    assert ok.status_code == 200
    no = client.post(Q, {**body, "fields": ["capital"]}, content_type="application/json")
    assert no.status_code == 403
    client.force_login(xw.users["dept_leader_a"])
    logs = client.get("/api/v1/exchange/logs?side=owned").json()
    assert {i["result"] for i in logs["items"]} >= {"ok", "denied"}


def test_loads_over_http_csv_xlsx_and_report(client, xw):
    client.force_login(xw.users["dept_staff_a"])
    url = "/api/v1/exchange/datasets/ent_reg_a/loads"
    csv = "capital,name,credit_code,colour\n1,甲,91330106000000007X,红\nx,,91330106000000008X,蓝\n"
    r = client.post(url, {"format": "csv", "content": csv}, content_type="application/json")
    assert r.status_code == 201
    v = r.json()
    assert v["rows_accepted"] == 1 and v["rows_rejected"] == 1
    assert {e["field"] for e in v["errors"] if e["row"] == 3} == {"name", "capital"}
    missing = {e["field"] for e in v["errors"] if e["type"] == "missing-label"}
    assert missing == {"legal_rep", "legal_rep_id", "founded"}  # header-level, reported
    assert [e["field"] for e in v["errors"] if e["type"] == "extra-label"] == ["colour"]
    no_key = client.post(
        url, {"format": "csv", "content": "name\n甲\n"}, content_type="application/json"
    )
    assert no_key.status_code == 422 and "credit_code" in no_key.json()["fields"]["file"][0]
    wb = openpyxl.Workbook()
    wb.active.append(["credit_code", "name"])
    wb.active.append(["91330106000000006X", "乙"])
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post(
        url,
        {"format": "xlsx", "content": base64.b64encode(buf.getvalue()).decode()},
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["inserted"] == 1
    assert client.get("/api/v1/exchange/datasets/ent_reg_a/versions").json()["count"] == 3


def test_dcat_export(client, xw):
    client.force_login(xw.users["data_admin_a"])
    cat = client.get("/api/v1/exchange/catalog.jsonld").json()
    ids = {d["dct:identifier"] for d in cat["dcat:dataset"]}
    assert {"ent_reg_a", "subsidy_a"} <= ids
    ent = next(d for d in cat["dcat:dataset"] if d["dct:identifier"] == "ent_reg_a")
    assert ent["dct:accrualPeriodicity"].endswith("DAILY")


def test_me_accesses_and_export(client, xw):
    _q(client, xw)
    client.force_login(xw.users["enterprise_a"])
    items = client.get("/api/v1/exchange/me/accesses").json()["items"]
    assert len(items) == 1 and items[0]["case_ref"] == "APP-42"
    assert items[0]["fields"] == ["name", "legal_rep"]
    data = client.get("/api/v1/exchange/me/data").json()
    assert data["datasets"]["ent_reg_a"]["rows"][0]["legal_rep"] == "王小明"
    client.force_login(xw.users["enterprise_b"])
    assert client.get("/api/v1/exchange/me/accesses").json()["items"] == []
