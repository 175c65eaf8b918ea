"""The policies API end to end: officer drafts, checker publishes, the enterprise sees it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yiwang.core.models import AuditRecord
from yiwang.policies.models import PolicyDelivery
from yiwang.policies.tests import factories as f

pytestmark = pytest.mark.django_db
P = "/api/v1/policies"


def _as(client, w, name):
    client.logout()
    client.force_login(w.users[name])
    return client


def _post(client, url, body, method="post"):
    return getattr(client, method)(url, body, content_type="application/json")


def test_officer_checker_enterprise_flow(client, pw, django_capture_on_commit_callbacks):
    w = pw
    org = w.extra["pol_org_a"]
    doc = w.extra["pol_doc_a"]
    body = {
        "document_id": doc.pk,
        "code": "api-flow",
        "title": "研发投入补助",
        "benefit_type": "subsidy",
        "department_id": w.departments["bureau_a"].pk,
        "rule": f.rule(revenue=700),
        "closes_on": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
    }
    r = _post(_as(client, w, "dept_staff_a"), f"{P}/items", body)
    assert r.status_code == 201, r.content
    item_id = r.json()["id"]
    assert r.json()["status"] == "draft" and len(r.json()["atoms"]) == 3

    r = _post(client, f"{P}/preview", {"rule": f.rule(revenue=700)})
    assert r.status_code == 200 and r.json()["counts"]["pass"] == 1

    assert _post(client, f"{P}/items/{item_id}/submit", {}).status_code == 200
    r = _post(client, f"{P}/items/{item_id}/approve", {})
    assert r.status_code == 403  # the maker is no checker

    _as(client, w, "dept_leader_a")
    with django_capture_on_commit_callbacks(execute=True):
        r = _post(client, f"{P}/items/{item_id}/approve", {"note": "同意"})
    assert r.status_code == 200 and r.json()["status"] == "published"

    r = client.get(f"{P}/items/{item_id}/matches")
    assert r.status_code == 200
    data = r.json()
    assert data["summary"]["counts"]["pass"] == 1
    assert data["summary"]["by_street"][0]["code"] == "330106001"
    assert [x["organisation_id"] for x in data["items"]] == [org.pk]

    _as(client, w, "enterprise_a")
    inbox = client.get(f"{P}/me/inbox").json()["items"]
    mine = [d for d in inbox if d["item"] == item_id]
    assert len(mine) == 1 and mine[0]["verdict"] == "pass" and mine[0]["read_at"] is None
    r = _post(client, f"{P}/me/inbox/{mine[0]['id']}/read", {})
    assert r.status_code == 200 and r.json()["read_at"]
    assert client.get(f"{P}/me/inbox", {"unread": True}).json()["count"] == len(inbox) - 1

    matches = client.get(f"{P}/me/matches").json()
    this = next(m for m in matches if m["item"] == item_id)
    assert this["outcome"] == "eligible" and this["amount"] == 8.0 and this["reasons"]


def test_item_detail_versions_and_diff(client, pw):
    w = pw
    item = w.extra["pol_item_a"]
    _as(client, w, "dept_staff_a")
    r = _post(client, f"{P}/items/{item.pk}/rule", {"rule": f.rule(revenue=900)}, "put")
    assert r.status_code == 200 and r.json()["number"] == 2
    assert [m["id"] for m in r.json()["diff"]["modified"]] == ["revenue"]
    detail = client.get(f"{P}/items/{item.pk}").json()
    assert [v["number"] for v in detail["versions"]] == [1, 2]
    client.logout()
    public = client.get(f"{P}/items/{item.pk}").json()
    assert [v["number"] for v in public["versions"]] == [1]  # the draft is staff-only
    assert client.get(f"{P}/items/{item.pk}/versions/2").status_code == 404


def test_bad_rule_field_errors(client, pw):
    w = pw
    _as(client, w, "dept_staff_a")
    r = _post(
        client,
        f"{P}/items/{w.extra['pol_draft_a'].pk}/rule",
        {"rule": {"when": {"all": [{"id": "x", "expr": "revenu@FY-1 >= 1万元"}]}}},
        "put",
    )
    assert r.status_code == 422
    msg = r.json()["fields"]["rule"][0]
    assert msg.startswith("条件 x, 事实项 revenu:") and "not in the catalog" in msg
    r = _post(client, f"{P}/preview", {"rule": {"when": {"any": []}}})
    assert r.status_code == 422 and "rule" in r.json()["fields"]


def test_library_filters(client, pw):
    w = pw
    r = client.get(f"{P}/items")
    codes = {i["code"] for i in r.json()["items"]}
    assert w.extra["pol_item_a"].code in codes and w.extra["pol_draft_a"].code not in codes
    r = client.get(f"{P}/items", {"department": w.departments["bureau_b"].pk})
    assert {i["code"] for i in r.json()["items"]} == {w.extra["pol_item_b"].code}
    assert client.get(f"{P}/items", {"benefit_type": "loan_interest"}).json()["count"] == 0
    assert client.get(f"{P}/items", {"industry": "I65"}).json()["count"] == 0
    assert client.get(f"{P}/items", {"industry": "C39"}).json()["count"] == 2
    assert client.get(f"{P}/items", {"region": "330108"}).json()["count"] == 1
    assert client.get(f"{P}/items", {"open_now": True}).json()["count"] == 2
    assert client.get(f"{P}/items", {"q": "营收奖励a"}).json()["count"] == 1
    assert client.get(f"{P}/documents").json()["count"] == 2


def test_enterprise_profile_declare_and_correct(client, pw):
    w = pw
    _as(client, w, "enterprise_a")
    prof = client.get(f"{P}/me/profile").json()
    kinds = {x["name"]: x["source_kind"] for x in prof["facts"]}
    assert kinds["industry"] == "registry" and kinds["revenue"] == "dataset"
    r = _post(client, f"{P}/me/facts", {"name": "employees", "value": 30})
    assert r.status_code == 201 and r.json()["source_kind"] == "self_declared"
    r = _post(client, f"{P}/me/facts", {"name": "employees", "value": "many"})
    assert r.status_code == 422 and "value" in r.json()["fields"]
    r = _post(client, f"{P}/me/facts", {"name": "industry", "value": "C2710"})
    assert r.status_code == 422 and "name" in r.json()["fields"]
    r = _post(client, f"{P}/me/corrections", {"name": "industry", "value": "C2710"})
    assert r.status_code == 422 and "reason" in r.json()["fields"]
    r = client.put(f"{P}/me/preference", {"push": False}, content_type="application/json")
    assert r.json() == {"push": False, "email": True, "sms": False}


def test_staff_profile_read_needs_purpose_and_is_audited(client, pw):
    w = pw
    org = w.extra["pol_org_a"]
    _as(client, w, "dept_staff_a")
    r = client.get(f"{P}/enterprises/{org.pk}/profile")
    assert r.status_code == 422 and "purpose" in r.json()["fields"]
    r = client.get(f"{P}/enterprises/{org.pk}/profile", {"purpose": "核实研发补助申报"})
    assert r.status_code == 200
    rec = AuditRecord.objects.filter(event="policies.profile_read").latest("seq")
    assert rec.purpose == "核实研发补助申报" and rec.subject_id == f"organisation:{org.pk}"
    _as(client, w, "grid_worker_a")  # no policies.matches
    assert client.get(f"{P}/enterprises/{org.pk}/profile", {"purpose": "x"}).status_code == 403


def test_correction_decision_updates_profile(client, pw):
    w = pw
    c = w.extra["pol_correction_a"]
    _as(client, w, "dept_staff_a")
    assert [x["id"] for x in client.get(f"{P}/corrections").json()["items"]] == [c.pk]
    r = _post(client, f"{P}/corrections/{c.pk}/decide", {"accept": False})
    assert r.status_code == 422 and "note" in r.json()["fields"]
    r = _post(client, f"{P}/corrections/{c.pk}/decide", {"accept": True})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    _as(client, w, "enterprise_a")
    prof = client.get(f"{P}/me/profile").json()
    industry = next(x for x in prof["facts"] if x["name"] == "industry")
    assert industry["value"] == "C3912" and industry["source_kind"] == "dataset"


def test_calculator_anonymous(client, pw):
    r = _post(
        client,
        f"{P}/calculate",
        {
            "facts": {
                "registered_district": "330106",
                "industry": "C3911",
                f"revenue@FY{timezone.localdate().year - 1}": 800,
            }
        },
    )
    assert r.status_code == 200
    outcomes = {m["code"]: m["outcome"] for m in r.json()}
    assert outcomes[pw.extra["pol_item_a"].code] == "eligible"
    assert outcomes[pw.extra["pol_item_b"].code] == "not_eligible"
    r = _post(client, f"{P}/calculate", {"facts": {"employees": "many", "bogus": 1}})
    assert r.status_code == 422 and set(r.json()["fields"]) == {"facts.employees", "facts.bogus"}


def test_delivery_is_once_per_item_in_world(pw):
    item, org = pw.extra["pol_item_a"], pw.extra["pol_org_a"]
    assert PolicyDelivery.objects.filter(item=item, organisation=org).count() == 1


def test_attachment_upload(client, pw, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    doc = pw.extra["pol_doc_a"]
    _as(client, pw, "dept_staff_a")
    url = f"{P}/documents/{doc.pk}/attachments"
    r = client.post(url, {"file": SimpleUploadedFile("申报指南.pdf", b"%PDF-1.4 test")})
    assert r.status_code == 201, r.content
    assert r.json()["size"] == 13 and len(r.json()["sha256"]) == 64
    r = client.post(url, {"file": SimpleUploadedFile("run.exe", b"MZ")})
    assert r.status_code == 422 and "file" in r.json()["fields"]
    detail = client.get(f"{P}/documents/{doc.pk}").json()
    assert [a["name"] for a in detail["attachments"]] == ["申报指南.pdf"]
