"""The cases API over HTTP: intake, errors, detail with allowed steps, masking, statistics."""

from __future__ import annotations

import csv
import io

import pytest

from yiwang.cases.models import Case
from yiwang.cases.tests.factories import loc, to_state
from yiwang.core.models import AuditRecord

pytestmark = pytest.mark.django_db
J = "application/json"


def _login(client, w, who):
    client.force_login(w.users[who])
    return client


def _body(w, **kw):
    return {
        "category": "C01004",
        "description": "井盖破损",
        "attributes": {"hazard": "yes"},
        **loc(w),
        **kw,
    }


def test_report_through_the_api(client, cw):
    _login(client, cw, "resident_a")
    r = client.post("/api/v1/cases", _body(cw, contact_phone="13912345678"), content_type=J)
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["state"] == "reported" and data["status"] == "open"
    assert data["grid"] == cw.extra["grid_a"].code
    assert data["contact_phone"] == "13912345678"  # the reporter sees their own
    assert data["due_at"]


def test_gcj02_coordinates_are_converted(client, cw):
    from yiwang.grid.coords import wgs84_to_gcj02

    g = cw.extra["grid_a"]
    x, y = wgs84_to_gcj02([g.centroid_lng], [g.centroid_lat])
    _login(client, cw, "resident_a")
    body = _body(cw, lng=float(x[0]), lat=float(y[0]), coord_system="gcj02")
    r = client.post("/api/v1/cases", body, content_type=J)
    assert r.status_code == 201
    assert abs(r.json()["lng"] - g.centroid_lng) < 1e-5
    assert Case.objects.get(pk=r.json()["id"]).coord_system == "gcj02"


def test_bad_input_is_a_field_error_and_nothing_changes(client, cw):
    _login(client, cw, "resident_a")
    before = Case.objects.count()
    r = client.post("/api/v1/cases", _body(cw, lng=100.0, lat=10.0), content_type=J)
    assert r.status_code == 422
    assert r.json()["code"] == "validation_error" and "lat" in r.json()["fields"]
    r = client.post("/api/v1/cases", {"description": "x"}, content_type=J)
    assert r.status_code == 422 and "category" in r.json()["fields"]
    assert Case.objects.count() == before


def test_detail_lists_the_steps_the_actor_may_take(client, cw):
    pk = cw.extra["case_a"].pk
    steps = _login(client, cw, "operator_a").get(f"/api/v1/cases/{pk}").json()["transitions"]
    assert {"accept", "reject"} <= {s["code"] for s in steps}
    steps = _login(client, cw, "resident_a").get(f"/api/v1/cases/{pk}").json()["transitions"]
    assert steps == []


def test_a_step_through_the_api_and_its_errors(client, cw):
    pk = cw.extra["case_a"].pk
    _login(client, cw, "operator_a")
    r = client.post(f"/api/v1/cases/{pk}/transitions", {"transition": "dispatch"}, content_type=J)
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    r = client.post(f"/api/v1/cases/{pk}/transitions", {"transition": "reject"}, content_type=J)
    assert r.status_code == 422 and "note" in r.json()["fields"]
    r = client.post(f"/api/v1/cases/{pk}/transitions", {"transition": "accept"}, content_type=J)
    assert r.status_code == 200 and r.json()["state"] == "registered"
    _login(client, cw, "resident_a")
    r = client.post(f"/api/v1/cases/{pk}/transitions", {"transition": "dispatch"}, content_type=J)
    assert r.status_code == 403
    timeline = client.get(f"/api/v1/cases/{pk}/timeline").json()
    assert [e["transition"] for e in timeline] == ["report", "accept"]
    assert timeline[1]["actor"] == ""  # residents do not see staff usernames


def test_rating_over_http(client, cw):
    case = to_state(cw, cw.extra["case_a"], "closed")
    _login(client, cw, "resident_a")
    r = client.post(
        f"/api/v1/cases/{case.pk}/rating", {"rating": 1, "comment": "差"}, content_type=J
    )
    assert r.status_code == 200 and r.json()["under_review"] is True


def test_contact_is_masked_for_staff_and_anonymous_is_hidden(client, cw):
    _login(client, cw, "resident_a")
    pk = client.post(
        "/api/v1/cases",
        _body(cw, contact_phone="13912345678", contact_name="王小明"),
        content_type=J,
    ).json()["id"]
    anon = client.post(
        "/api/v1/cases", _body(cw, anonymous=True, contact_phone="13900001111"), content_type=J
    ).json()["id"]
    _login(client, cw, "operator_a")
    d = client.get(f"/api/v1/cases/{pk}").json()
    assert d["contact_phone"] == "139****5678" and d["reporter"] == "王*明"
    d = client.get(f"/api/v1/cases/{anon}").json()
    assert d["reporter"] == "匿名" and d["contact_phone"] == ""
    r = client.get(f"/api/v1/cases/{anon}/contact", {"purpose": "回访核实"})
    assert r.json()["phone"] == "13900001111"
    rec = AuditRecord.objects.filter(event="personal.read", object_id=str(anon)).get()
    assert rec.purpose == "回访核实"
    _login(client, cw, "grid_worker_a")
    assert client.get(f"/api/v1/cases/{anon}/contact").status_code == 403


def test_duplicate_suggestion(client, cw):
    g = cw.extra["grid_a"]
    _login(client, cw, "resident_b")  # anyone may ask; only harmless facts come back
    r = client.get(
        "/api/v1/cases/duplicates",
        {"category": "C01004", "lng": g.centroid_lng + 0.0002, "lat": g.centroid_lat},
    )
    assert r.status_code == 200
    [hit] = r.json()
    assert hit["id"] == cw.extra["case_a"].pk and hit["distance_m"] < 50
    assert set(hit) == {"id", "distance_m", "state_name", "created_at", "description"}


def test_statistics_json_and_csv(client, cw):
    _login(client, cw, "operator_a")
    rows = client.get("/api/v1/cases/statistics", {"by": "grid"}).json()
    assert rows[0]["key"] == cw.extra["grid_a"].code and rows[0]["total"] == 1
    r = client.get("/api/v1/cases/statistics.csv", {"by": "category"})
    assert r["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0]["name"] == "井盖破损" and table[0]["total"] == "1"
    assert client.get("/api/v1/cases/statistics", {"by": "colour"}).status_code == 422


def test_messages_for_the_reporter(client, cw):
    to_state(cw, cw.extra["case_a"], "dispatched")
    data = _login(client, cw, "resident_a").get("/api/v1/cases/messages").json()
    assert data["count"] >= 2
