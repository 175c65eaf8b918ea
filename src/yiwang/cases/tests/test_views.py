"""Case pages: scope (404 outside, login redirect for the anonymous), a step taken through its
form, field errors shown by the form that failed, intake pages and the resident's rating."""

from __future__ import annotations

import pytest

from yiwang.cases.models import Case
from yiwang.cases.tests.factories import loc, report, to_state

pytestmark = pytest.mark.django_db


def login(client, w, name):
    client.force_login(w.users[name])
    return client


def test_anonymous_is_sent_to_login(client, cw):
    resp = client.get(f"/console/cases/{cw.extra['case_a'].pk}/")
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


def test_case_outside_scope_is_404(client, cw):
    login(client, cw, "operator_b")
    assert client.get(f"/console/cases/{cw.extra['case_a'].pk}/").status_code == 404
    resp = client.post(
        f"/console/cases/{cw.extra['case_a'].pk}/transition/", {"transition": "accept"}
    )
    assert resp.status_code == 404
    assert Case.objects.get(pk=cw.extra["case_a"].pk).state_id == "reported"


def test_list_shows_only_scoped_cases_and_filters(client, cw):
    login(client, cw, "operator_a")
    resp = client.get("/console/cases/")
    body = resp.content.decode()
    assert resp.status_code == 200
    assert f'data-case="{cw.extra["case_a"].pk}"' in body
    assert f'data-case="{cw.extra["case_b"].pk}"' not in body
    resp = client.get("/console/cases/", {"state": "closed"})
    assert f'data-case="{cw.extra["case_a"].pk}"' not in resp.content.decode()
    resp = client.get("/console/cases/", {"category": "C01004", "channel": "portal"})
    assert f'data-case="{cw.extra["case_a"].pk}"' in resp.content.decode()


def test_detail_masks_the_reporter_and_offers_the_allowed_steps(client, cw):
    case = report(cw, contact_name="张三丰", contact_phone="13812345678")
    login(client, cw, "operator_a")
    body = client.get(f"/console/cases/{case.pk}/").content.decode()
    assert "13812345678" not in body and "张三丰" not in body
    assert "138****5678" in body
    assert 'data-step="accept"' in body and 'data-step="reject"' in body
    assert 'data-step="start"' not in body


def test_a_step_through_the_form(client, cw):
    case = cw.extra["case_a"]
    login(client, cw, "operator_a")
    resp = client.post(f"/console/cases/{case.pk}/transition/", {"transition": "accept"})
    assert resp.status_code == 302 and resp["Location"].endswith(f"/console/cases/{case.pk}/")
    resp = client.post(
        f"/console/cases/{case.pk}/transition/", {"transition": "dispatch", "note": "按路由派遣"}
    )
    assert resp.status_code == 302
    case.refresh_from_db()
    assert case.state_id == "dispatched"
    body = client.get(f"/console/cases/{case.pk}/").content.decode()
    assert 'data-transition="dispatch"' in body and "按路由派遣" in body


def test_missing_reason_is_shown_by_the_form(client, cw):
    case = cw.extra["case_a"]
    login(client, cw, "operator_a")
    resp = client.post(f"/console/cases/{case.pk}/transition/", {"transition": "reject"})
    assert resp.status_code == 422
    body = resp.content.decode()
    assert 'id="note-reject-err"' in body
    assert 'aria-invalid="true" aria-describedby="note-reject-err"' in body
    case.refresh_from_db()
    assert case.state_id == "reported"


def test_a_step_not_allowed_now_is_a_message(client, cw):
    case = cw.extra["case_a"]
    login(client, cw, "operator_a")
    resp = client.post(
        f"/console/cases/{case.pk}/transition/", {"transition": "verify_pass"}, follow=True
    )
    assert resp.status_code == 200
    assert resp.redirect_chain[-1][0].endswith(f"/console/cases/{case.pk}/")
    case.refresh_from_db()
    assert case.state_id == "reported"


def test_a_bad_number_is_a_field_error(client, cw):
    case = to_state(cw, cw.extra["case_a"], "handling")
    login(client, cw, "dept_staff_a")
    resp = client.post(
        f"/console/cases/{case.pk}/transition/",
        {"transition": "request_extension", "hours": "lots", "note": "材料未到"},
    )
    assert resp.status_code == 422
    assert 'id="hours-request_extension-err"' in resp.content.decode()


def test_statistics_page_has_rates_chart_data_and_csv_link(client, cw):
    to_state(cw, cw.extra["case_a"], "closed")
    login(client, cw, "operator_a")
    resp = client.get("/console/cases/statistics/", {"by": "grid"})
    body = resp.content.decode()
    assert resp.status_code == 200
    assert 'id="stats-data"' in body and "cases/stats.js" in body
    assert "/api/v1/cases/statistics.csv?by=grid" in body
    assert 'data-col="resolution_rate">100%' in body
    assert "<script>" not in body  # CSP: no inline script (json_script is a data block)


def _form(w, side="a", **extra):
    p = loc(w, side)
    return {
        "category": "C01004",
        "description": "人行道井盖松动",
        "lng": str(p["lng"]),
        "lat": str(p["lat"]),
        "attr-C01004-hazard": "yes",
        **extra,
    }


def test_resident_reports_anonymously_and_sees_it(client, cw):
    login(client, cw, "resident_a")
    resp = client.post(
        "/console/cases/report/", _form(cw, anonymous="1", contact_phone="13900001111")
    )
    assert resp.status_code == 302
    case = Case.objects.latest("pk")
    assert case.channel == "portal" and case.anonymous and case.reporter == cw.users["resident_a"]
    assert case.attributes == {"hazard": "yes"}
    assert resp["Location"].endswith(f"/console/cases/mine/{case.pk}/")
    body = client.get(resp["Location"]).content.decode()
    assert 'data-milestone="reported" data-status="done"' in body
    # the handlers see 匿名 and no phone
    login(client, cw, "operator_a")
    body = client.get(f"/console/cases/{case.pk}/").content.decode()
    assert "匿名" in body and "1111" not in body


def test_report_errors_keep_the_input(client, cw):
    login(client, cw, "resident_a")
    n = Case.objects.count()
    resp = client.post(
        "/console/cases/report/",
        {"category": "C01004", "description": "", "lng": "abc", "lat": "30", "address": "文三路"},
    )
    assert resp.status_code == 422
    body = resp.content.decode()
    assert 'id="lat-err"' in body and "文三路" in body
    resp = client.post("/console/cases/report/", _form(cw, **{"attr-C01004-hazard": ""}))
    assert resp.status_code == 422
    assert 'data-testid="attr-error"' in resp.content.decode()
    resp = client.post("/console/cases/report/", _form(cw, lng="100.0", lat="20.0"))
    assert resp.status_code == 422 and 'id="lat-err"' in resp.content.decode()
    assert Case.objects.count() == n


def test_patrol_and_hotline_pages_use_their_channels(client, cw):
    login(client, cw, "grid_worker_a")
    assert client.get("/console/cases/hotline/").status_code == 404
    resp = client.post("/console/cases/patrol/", _form(cw))
    assert resp.status_code == 302
    assert Case.objects.latest("pk").channel == "patrol"

    login(client, cw, "operator_a")
    resp = client.post("/console/cases/hotline/", _form(cw, description="来电：井盖缺失"))
    assert resp.status_code == 422
    assert 'id="rt-err"' in resp.content.decode()
    resp = client.post(
        "/console/cases/hotline/",
        _form(cw, request_type="complaint", priority="emergency", contact_phone="13700002222"),
    )
    assert resp.status_code == 302
    case = Case.objects.latest("pk")
    assert (case.channel, case.request_type, case.priority) == ("12345", "complaint", "emergency")


def test_territory_for_residents_is_community_outlines_not_grids(client, cw):
    from shapely.geometry import shape

    from yiwang.grid.models import Grid

    login(client, cw, "resident_a")
    resp = client.get("/console/cases/report/territory.geojson")
    data = resp.json()
    body = resp.content.decode()
    communities = {cw.divisions["community_a"].code, cw.divisions["community_b"].code}
    assert {f["properties"]["code"] for f in data["features"]} == communities
    assert all(set(f["properties"]) == {"code", "name"} for f in data["features"])
    for g in Grid.objects.all():
        assert g.code not in body and g.name not in body  # no grid codes, names or cuts
    # Each community's outline covers its grids: the union, not one of them.
    a = next(
        f for f in data["features"] if f["properties"]["code"] in cw.divisions["community_a"].code
    )
    outline = shape(a["geometry"])
    for g in Grid.objects.filter(community=cw.divisions["community_a"]):
        assert outline.buffer(1e-9).covers(shape(g.geometry))
    assert outline.geom_type == "Polygon"


def test_territory_for_a_grid_worker_is_their_grids(client, cw):
    login(client, cw, "grid_worker_a")
    data = client.get("/console/cases/report/territory.geojson").json()
    assert [f["properties"] for f in data["features"]] == [
        {"code": cw.extra["grid_a"].code, "name": cw.extra["grid_a"].name}
    ]


def test_resident_rates_a_closed_case(client, cw):
    case = to_state(cw, cw.extra["case_a"], "closed")
    login(client, cw, "resident_a")
    body = client.get(f"/console/cases/mine/{case.pk}/").content.decode()
    assert 'data-testid="rate-form"' in body
    resp = client.post(f"/console/cases/mine/{case.pk}/rate/", {"rating": "9"})
    assert resp.status_code == 422 and 'id="rating-err"' in resp.content.decode()
    resp = client.post(f"/console/cases/mine/{case.pk}/rate/", {"rating": "5", "comment": "很快"})
    assert resp.status_code == 302
    case.refresh_from_db()
    assert (case.state_id, case.rating, case.rating_comment) == ("rated", 5, "很快")
    body = client.get(f"/console/cases/mine/{case.pk}/").content.decode()
    assert 'data-testid="rate-form"' not in body and 'data-testid="my-rating"' in body


def test_another_residents_case_is_404(client, cw):
    login(client, cw, "resident_b")
    assert client.get(f"/console/cases/mine/{cw.extra['case_a'].pk}/").status_code == 404
    assert client.get("/console/cases/").status_code == 404
