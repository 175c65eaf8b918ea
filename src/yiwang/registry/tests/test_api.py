from __future__ import annotations

import pytest

from yiwang.core import testing


@pytest.fixture
def w(world):
    return testing.build_scope_world(world)


@pytest.mark.django_db
def test_people_are_masked_and_searchable_by_id_number(client, w):
    person = w.extra["person_a"]
    client.force_login(w.users["operator_a"])
    page = client.get("/api/v1/registry/people").json()
    assert page["count"] == 1
    item = page["items"][0]
    assert item["id_number"] == person.id_number[:3] + "*" * 11 + person.id_number[-4:]
    assert item["name"] == "赵*"
    assert item["tags"] == []  # operators may unmask, so they see tags
    found = client.get(f"/api/v1/registry/people?id_number={person.id_number}").json()
    assert found["count"] == 1
    assert client.get("/api/v1/registry/people?id_number=11010519491231002X").json()["count"] == 0


@pytest.mark.django_db
def test_grid_worker_does_not_see_tags(client, w):
    client.force_login(w.users["grid_worker_a"])
    item = client.get("/api/v1/registry/people").json()["items"][0]
    assert item["tags"] is None


@pytest.mark.django_db
def test_resident_sees_own_record_and_who_read_it(client, w):
    person = w.extra["person_a"]
    client.force_login(w.users["operator_a"])
    client.get(f"/api/v1/registry/people/{person.pk}?purpose=入户走访核实")
    client.force_login(w.users["resident_a"])
    mine = client.get("/api/v1/registry/mine").json()
    assert mine["person"]["id_number"] == person.id_number  # their own data, in clear
    reads = [a for a in mine["accesses"] if a["actor"] == "operator_a"]
    assert reads and reads[0]["purpose"] == "入户走访核实" and "id_number" in reads[0]["fields"]


@pytest.mark.django_db
def test_create_person_with_bad_fields_is_422_with_fields(client, w):
    client.force_login(w.users["grid_worker_a"])
    r = client.post(
        "/api/v1/registry/people",
        {"name": "", "id_number": "123", "lng": 0, "lat": 0},
        content_type="application/json",
    )
    assert r.status_code == 422
    assert {"name", "id_number"} <= set(r.json()["fields"])


@pytest.mark.django_db
def test_grid_geojson_carries_only_my_grids(client, w):
    client.force_login(w.users["grid_worker_a"])
    fc = client.get("/api/v1/grid/grids.geojson").json()
    assert fc["type"] == "FeatureCollection"
    assert [f["properties"]["code"] for f in fc["features"]] == [w.extra["grid_a"].code]


@pytest.mark.django_db
def test_timeline_shows_masked_changes(client, w):
    person = w.extra["person_a"]
    client.force_login(w.users["grid_worker_a"])
    r = client.post(
        "/api/v1/registry/people",
        {
            "name": "赵六",
            "id_number": person.id_number,
            "phone": "13755556666",
            "lng": w.extra["grid_a"].centroid_lng,
            "lat": w.extra["grid_a"].centroid_lat,
        },
        content_type="application/json",
    )
    assert r.status_code == 200
    tl = client.get(f"/api/v1/registry/people/{person.pk}/timeline").json()["items"]
    assert tl[0]["action"] == "updated" and tl[0]["changes"]["phone"][1] == "137****6666"
    assert tl[-1]["action"] == "created"
