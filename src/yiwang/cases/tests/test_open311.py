"""Open311 GeoReport v2 over HTTP, both formats, XML parsed back."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.utils import timezone

from yiwang.cases.models import Case
from yiwang.cases.tests.factories import report, to_state

pytestmark = pytest.mark.django_db
BASE = "/open311/v2"


def xml(resp):
    assert resp["Content-Type"].startswith("text/xml"), resp["Content-Type"]
    assert resp.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(resp.content)  # noqa: S314 - our own response


def _post(client, w, fmt="xml", **fields):
    g = w.extra["grid_a"]
    data = {
        "api_key": w.extra["open311_key"],
        "service_code": "C01004",
        "lat": str(g.centroid_lat),
        "long": str(g.centroid_lng),
        "description": "Manhole cover broken",
        "attribute[hazard]": "yes",
        "email": "someone@example.org",
        "first_name": "Ming",
        "last_name": "Wang",
    }
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"{BASE}/requests.{fmt}", data)


def test_discovery(client, cw):
    root = xml(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery"
    ep = root.find("endpoints/endpoint")
    assert ep.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert {f.text for f in ep.findall("formats/format")} == {"text/xml", "application/json"}
    assert client.get(f"{BASE}/discovery.json").json()["endpoints"][0]["type"] == "production"


def test_services_list_in_both_formats(client, cw):
    root = xml(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services"
    services = {s.findtext("service_code"): s for s in root.findall("service")}
    assert len(services) >= 40
    cover = services["C01004"]
    assert cover.findtext("service_name") == "井盖破损"
    assert cover.findtext("metadata") == "true" and cover.findtext("type") == "realtime"
    data = client.get(f"{BASE}/services.json").json()
    assert {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    } <= set(data[0])


def test_service_definition(client, cw):
    root = xml(client.get(f"{BASE}/services/C01004.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "C01004"
    attrs = root.findall("attributes/attribute")
    hazard = next(a for a in attrs if a.findtext("code") == "hazard")
    assert hazard.findtext("datatype") == "singlevaluelist"
    assert hazard.findtext("required") == "true"
    assert [v.findtext("key") for v in hazard.findall("values/value")] == ["yes", "no"]
    data = client.get(f"{BASE}/services/C01004.json").json()
    assert data["attributes"][0]["variable"] is True
    resp = client.get(f"{BASE}/services/C99999.xml")
    assert resp.status_code == 404
    assert xml(resp).find("error").findtext("code") == "404"


def test_post_request_creates_a_case(client, cw):
    resp = _post(client, cw)
    assert resp.status_code == 200, resp.content
    root = xml(resp)
    assert root.tag == "service_requests"
    rid = root.find("request").findtext("service_request_id")
    case = Case.objects.get(pk=int(rid))
    assert case.channel == "open311" and case.grid == cw.extra["grid_a"]
    assert case.contact_email == "someone@example.org" and case.contact_name == "Wang Ming"
    assert case.reporter is None and case.open311_client is not None
    # and it can be read back
    detail = xml(client.get(f"{BASE}/requests/{rid}.xml")).find("request")
    assert detail.findtext("status") == "open"
    assert detail.findtext("service_code") == "C01004"
    assert detail.findtext("requested_datetime").endswith("+08:00")
    assert "someone" not in client.get(f"{BASE}/requests/{rid}.json").content.decode()


def test_post_request_json(client, cw):
    resp = _post(client, cw, fmt="json")
    assert resp.status_code == 200
    [row] = resp.json()
    assert row["service_request_id"] and "service_notice" in row


@pytest.mark.parametrize(
    ("fields", "status", "needle"),
    [
        ({"api_key": None}, 403, "api_key"),
        ({"api_key": "wrong"}, 403, "api_key"),
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "C99999"}, 400, "service_code"),
        ({"lat": None, "long": None}, 400, "location"),
        ({"lat": "10", "long": "10"}, 400, "lat/long"),
        ({"attribute[hazard]": None}, 400, "attribute[hazard]"),
        ({"description": "x" * 4001}, 400, "description"),
    ],
)
def test_post_request_errors(client, cw, fields, status, needle):
    before = Case.objects.count()
    resp = _post(client, cw, **fields)
    assert resp.status_code == status, resp.content
    err = xml(resp)
    assert err.tag == "errors"
    e = err.find("error")
    assert e.findtext("code") == str(status) and needle in e.findtext("description")
    assert Case.objects.count() == before
    resp = _post(client, cw, fmt="json", **fields)
    assert resp.status_code == status
    assert resp.json()[0]["code"] == status


def test_address_string_alone_is_accepted(client, cw):
    resp = _post(client, cw, lat=None, long=None, address_string="文三路 100 号")
    assert resp.status_code == 200, resp.content


def test_requests_filters_and_status_mapping(client, cw):
    a = cw.extra["case_a"]
    closed = to_state(cw, report(cw, "a"), "closed")
    hotline = report(cw, "a", actor="operator_a", request_type="complaint")
    assert hotline.channel == "12345"
    root = xml(client.get(f"{BASE}/requests.xml"))
    ids = {r.findtext("service_request_id") for r in root.findall("request")}
    assert {str(a.pk), str(closed.pk)} <= ids
    assert str(hotline.pk) not in ids  # 12345 calls are not public
    st = {r.findtext("service_request_id"): r.findtext("status") for r in root.findall("request")}
    assert st[str(closed.pk)] == "closed" and st[str(a.pk)] == "open"
    only_closed = client.get(f"{BASE}/requests.json", {"status": "closed"}).json()
    assert {r["service_request_id"] for r in only_closed} == {str(closed.pk)}
    by_code = client.get(f"{BASE}/requests.json", {"service_code": "E02001"}).json()
    assert by_code == []
    by_id = client.get(
        f"{BASE}/requests.json", {"service_request_id": f"{a.pk},{closed.pk}", "status": "closed"}
    ).json()
    assert len(by_id) == 2  # the spec: ids override the other filters


def test_requests_default_window_is_90_days(client, cw):
    old = cw.extra["case_a"]
    Case.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=91))
    ids = {r["service_request_id"] for r in client.get(f"{BASE}/requests.json").json()}
    assert str(old.pk) not in ids
    start = (timezone.now() - dt.timedelta(days=95)).isoformat()
    ids = {
        r["service_request_id"]
        for r in client.get(f"{BASE}/requests.json", {"start_date": start}).json()
    }
    assert str(old.pk) in ids
    bad = client.get(f"{BASE}/requests.xml", {"start_date": "yesterday"})
    assert bad.status_code == 400 and xml(bad).tag == "errors"
    assert client.get(f"{BASE}/requests.json", {"status": "pending"}).status_code == 400


def test_request_and_token_not_found(client, cw):
    assert client.get(f"{BASE}/requests/999999.xml").status_code == 404
    assert client.get(f"{BASE}/tokens/abc.json").status_code == 404
    case = cw.extra["case_a"]
    root = xml(client.get(f"{BASE}/tokens/{case.token}.xml"))
    assert root.find("request").findtext("service_request_id") == str(case.pk)


def test_unknown_format_is_not_routed(client, cw):
    assert client.get(f"{BASE}/services.csv").status_code == 404
