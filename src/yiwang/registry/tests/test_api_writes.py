"""Registry API writes: limited to the caller's area, partial updates, care tags only from
those who may see them, employment, an organisation's place, and audited searches."""

from __future__ import annotations

from typing import Any

import pytest

from yiwang.core import testing
from yiwang.core.ids import make_credit_code
from yiwang.core.models import AuditRecord
from yiwang.registry import actions
from yiwang.registry.models import ChangeRecord, Employment, Organisation, Person, Place, Thing

API = "/api/v1/registry"
NEW_CREDIT_CODE = make_credit_code("330106", "MA2H00077")


@pytest.fixture
def w(world):
    return testing.build_scope_world(world)


def _post(client, w, who: str, path: str, body: dict[str, Any]):
    client.force_login(w.users[who])
    return client.post(f"{API}/{path}", body, content_type="application/json")


def _at(w, key: str) -> dict[str, float]:
    g = w.extra[key]
    return {"lng": g.centroid_lng, "lat": g.centroid_lat}


def _care(w) -> Person:
    """person_a with a care tag, a household number and a phone, set by the system."""
    return actions.do_upsert_person(
        actor=None,
        data={
            "id_number": w.extra["person_a"].id_number,
            "tags": ["living_alone_elder"],
            "household_no": "H-001",
        },
    )


# --- 1. Writes stay in the caller's area -------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("who", ["grid_worker_b", "data_admin_b", "dept_staff_b", "operator_b"])
def test_a_person_elsewhere_is_not_found_and_untouched(client, w, who):
    person = w.extra["person_a"]
    before = ChangeRecord.objects.filter(entity_type="person", entity_id=person.pk).count()
    r = _post(
        client, w, who, "people", {"id_number": person.id_number, "name": "钱七", "phone": None}
    )
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert "赵" not in r.content.decode() and str(person.pk) not in r.json()["message"]
    person.refresh_from_db()
    assert person.name == "赵六" and person.phone == "13700000000"
    assert ChangeRecord.objects.filter(entity_type="person", entity_id=person.pk).count() == before
    (rec,) = AuditRecord.objects.filter(event="registry.person_updated", result="denied")
    assert rec.actor == who and rec.object_id == str(person.pk)
    assert rec.detail["reason"] == "not in scope"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("places", lambda w: {"code": "P-a", "name": "改名"}),
        ("things", lambda w: {"part_code": w.extra["thing_a"].part_code, "status": "damaged"}),
        (
            "organisations",
            lambda w: {"credit_code": w.extra["org_a"].credit_code, "name": "改名"},
        ),
    ],
)
def test_other_entities_elsewhere_are_not_found(client, w, path, body):
    r = _post(client, w, "grid_worker_b", path, body(w))
    assert r.status_code == 404
    assert Place.objects.get(code="P-a").name == "楼a"
    assert Thing.objects.get(pk=w.extra["thing_a"].pk).status == "normal"
    assert Organisation.objects.get(pk=w.extra["org_a"].pk).name == "企业a"


@pytest.mark.django_db
def test_a_new_person_in_a_grid_outside_my_area_is_a_field_error(client, w):
    body = {"id_number": "11010519491231002X", "name": "钱七"}
    for who, grid in (("grid_worker_a", "grid_b"), ("grid_worker_a", "grid_a2")):
        r = _post(client, w, who, "people", body | _at(w, grid))
        assert r.status_code == 422 and set(r.json()["fields"]) == {"lat"}, (who, grid)
    assert not Person.objects.filter(name="钱七").exists()
    # a data admin of district a may place them in any grid of the district
    r = _post(client, w, "data_admin_a", "people", body | _at(w, "grid_a2"))
    assert r.status_code == 200 and r.json()["grid_code"] == w.extra["grid_a2"].code


@pytest.mark.django_db
def test_moving_a_person_out_of_my_area_is_refused(client, w):
    person = w.extra["person_a"]
    for grid in ("grid_a2", "grid_b"):
        r = _post(
            client, w, "grid_worker_a", "people", {"id_number": person.id_number} | _at(w, grid)
        )
        assert r.status_code == 422 and "lat" in r.json()["fields"]
    person.refresh_from_db()
    assert person.grid_id == w.extra["grid_a"].pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("places", lambda w: {"code": "P-new", "name": "新楼"} | _at(w, "grid_b")),
        ("things", lambda w: {"part_code": "33010601002000009"} | _at(w, "grid_b")),
        (
            "organisations",
            lambda w: {"credit_code": NEW_CREDIT_CODE, "name": "x"} | _at(w, "grid_b"),
        ),
    ],
)
def test_new_entities_outside_my_area_are_field_errors(client, w, path, body):
    r = _post(client, w, "data_admin_a", path, body(w))
    assert r.status_code == 422 and "lat" in r.json()["fields"]


@pytest.mark.django_db
def test_links_to_places_outside_my_area_are_unknown(client, w):
    place_b = w.extra["place_b"]
    person = w.extra["person_a"]
    r = _post(
        client, w, "grid_worker_a", "people", {"id_number": person.id_number, "home_id": place_b.pk}
    )
    assert r.status_code == 422 and set(r.json()["fields"]) == {"home_id"}
    r = _post(client, w, "grid_worker_a", "places", {"code": "P-a", "parent_id": place_b.pk})
    assert r.status_code == 422 and set(r.json()["fields"]) == {"parent_id"}
    r = _post(
        client,
        w,
        "grid_worker_a",
        "organisations",
        {"credit_code": w.extra["org_a"].credit_code, "place_code": "P-b"},
    )
    assert r.status_code == 422 and set(r.json()["fields"]) == {"place_code"}


@pytest.mark.django_db
def test_roles_that_may_not_write_are_forbidden(client, w):
    r = _post(client, w, "resident_a", "people", {"id_number": "11010519491231002X", "name": "x"})
    assert r.status_code == 403


# --- 2. Partial updates; care tags only from those who may see them ----------------------------
@pytest.mark.django_db
def test_an_update_changes_only_the_fields_sent(client, w):
    person = _care(w)
    r = _post(
        client,
        w,
        "grid_worker_a",
        "people",
        {"id_number": person.id_number, "name": "赵七"} | _at(w, "grid_a"),
    )
    assert r.status_code == 200, r.content
    person.refresh_from_db()
    assert person.name == "赵七"
    assert person.phone == "13700000000"
    assert person.tags == ["living_alone_elder"]
    assert person.household_no == "H-001"
    assert person.home_id == w.extra["place_a"].pk
    (last,) = ChangeRecord.objects.filter(entity_type="person", entity_id=person.pk)[:1]
    assert set(last.changes) == {"name"}


@pytest.mark.django_db
def test_an_explicit_null_or_empty_value_clears(client, w):
    person = _care(w)
    r = _post(
        client,
        w,
        "grid_worker_a",
        "people",
        {"id_number": person.id_number, "phone": None, "household_no": "", "home_id": None},
    )
    assert r.status_code == 200, r.content
    person.refresh_from_db()
    assert person.phone == "" and person.household_no == "" and person.home_id is None
    assert person.tags == ["living_alone_elder"] and person.name == "赵六"


@pytest.mark.django_db
def test_a_new_person_needs_a_name(client, w):
    r = _post(
        client, w, "grid_worker_a", "people", {"id_number": "11010519491231002X"} | _at(w, "grid_a")
    )
    assert r.status_code == 422 and set(r.json()["fields"]) == {"name"}


@pytest.mark.django_db
@pytest.mark.parametrize("tags", [[], ["living_alone_elder"], None])
def test_callers_who_may_not_see_tags_may_not_send_them(client, w, tags):
    person = _care(w)
    for who in ("grid_worker_a", "data_admin_a"):
        r = _post(client, w, who, "people", {"id_number": person.id_number, "tags": tags})
        assert r.status_code == 422 and set(r.json()["fields"]) == {"tags"}
    person.refresh_from_db()
    assert person.tags == ["living_alone_elder"]


@pytest.mark.django_db
def test_callers_who_may_see_tags_may_change_them(client, w):
    person = _care(w)
    r = _post(
        client, w, "operator_a", "people", {"id_number": person.id_number, "tags": ["disabled"]}
    )
    assert r.status_code == 200 and r.json()["tags"] == ["disabled"]
    r = _post(client, w, "operator_a", "people", {"id_number": person.id_number, "tags": None})
    assert r.status_code == 200 and r.json()["tags"] == []


@pytest.mark.django_db
def test_partial_updates_of_places_things_and_organisations(client, w):
    actions.do_upsert_place(actor=None, data={"code": "P-a", "address": "文一路1号"})
    actions.do_upsert_organisation(
        actor=None,
        data={
            "credit_code": w.extra["org_a"].credit_code,
            "legal_representative": "李四",
            "industry_code": "",
            "registered_capital": "500",
        },
    )
    r = _post(client, w, "grid_worker_a", "places", {"code": "P-a", "name": "一号楼"})
    assert r.status_code == 200, r.content
    place = Place.objects.get(code="P-a")
    assert (place.name, place.address, place.kind) == ("一号楼", "文一路1号", "building")
    part = w.extra["thing_a"].part_code
    r = _post(client, w, "grid_worker_a", "things", {"part_code": part, "status": "damaged"})
    assert r.status_code == 200, r.content
    thing = Thing.objects.get(part_code=part)
    assert (thing.status, thing.name) == ("damaged", "井盖") and thing.lng is not None
    code = w.extra["org_a"].credit_code
    r = _post(
        client, w, "grid_worker_a", "organisations", {"credit_code": code, "status": "suspended"}
    )
    assert r.status_code == 200, r.content
    org = Organisation.objects.get(credit_code=code)
    assert (org.status, org.name, org.legal_representative) == ("suspended", "企业a", "李四")
    assert float(org.registered_capital) == 500.0


@pytest.mark.django_db
def test_a_new_part_needs_coordinates(client, w):
    r = _post(client, w, "grid_worker_a", "things", {"part_code": "33010601002000009"})
    assert r.status_code == 422 and set(r.json()["fields"]) == {"lat"}


# --- An organisation's place -----------------------------------------------------------------
@pytest.mark.django_db
def test_an_organisation_is_placed_by_place_code_and_unplaced(client, w):
    code = w.extra["org_a"].credit_code
    r = _post(
        client, w, "grid_worker_a", "organisations", {"credit_code": code, "place_code": "P-a"}
    )
    assert r.status_code == 200 and r.json()["place_id"] == w.extra["place_a"].pk
    tl = ChangeRecord.objects.filter(entity_type="organisation", entity_id=w.extra["org_a"].pk)
    assert "place_id" in tl.first().changes
    r = _post(client, w, "grid_worker_a", "organisations", {"credit_code": code, "place_code": ""})
    assert r.status_code == 200 and r.json()["place_id"] is None
    r = _post(
        client, w, "grid_worker_a", "organisations", {"credit_code": code, "place_code": "P-x"}
    )
    assert r.status_code == 422 and "place_code" in r.json()["fields"]


@pytest.mark.django_db
def test_a_new_organisation_takes_its_places_location(client, w):
    body = {"credit_code": NEW_CREDIT_CODE, "name": "新店", "place_code": "P-a"}
    r = _post(client, w, "grid_worker_a", "organisations", body)
    assert r.status_code == 200, r.content
    assert r.json()["grid_code"] == w.extra["grid_a"].code


# --- 4. Employment ----------------------------------------------------------------------------
@pytest.mark.django_db
def test_employment_is_added_and_ended_with_history_and_audit(client, w):
    person, org = w.extra["person_a"], w.extra["org_a"]
    body = {"person_id": person.pk, "organisation_id": org.pk, "since": "2024-03-01"}
    r = _post(client, w, "grid_worker_a", "employments", body)
    assert r.status_code == 200, r.content
    emp = Employment.objects.get(pk=r.json()["id"])
    assert (emp.person_id, emp.organisation_id, str(emp.since)) == (person.pk, org.pk, "2024-03-01")
    p_tl = client.get(f"{API}/people/{person.pk}/timeline").json()["items"]
    assert p_tl[0]["changes"]["employer"] == [None, "企业a"]
    assert p_tl[0]["changes"]["since"] == [None, "2024-03-01"]
    o_tl = client.get(f"{API}/organisations/{org.pk}/timeline").json()["items"]
    assert o_tl[0]["changes"]["employee"] == [None, f"赵* #{person.pk}"]
    rec = AuditRecord.objects.filter(event="registry.employment_added").get()
    assert rec.subject_id == f"person:{person.pk}" and rec.actor == "grid_worker_a"
    # again: idempotent, only the date changes
    r = _post(client, w, "grid_worker_a", "employments", body | {"since": "2024-04-01"})
    assert r.status_code == 200 and r.json()["id"] == emp.pk and r.json()["since"] == "2024-04-01"
    assert Employment.objects.count() == 1
    # ended
    client.force_login(w.users["grid_worker_b"])
    assert client.delete(f"{API}/employments/{emp.pk}").status_code == 404
    client.force_login(w.users["grid_worker_a"])
    assert client.delete(f"{API}/employments/{emp.pk}").status_code == 204
    assert not Employment.objects.exists()
    p_tl = client.get(f"{API}/people/{person.pk}/timeline").json()["items"]
    assert p_tl[0]["changes"]["employer"] == ["企业a", None]
    assert AuditRecord.objects.filter(
        event="registry.employment_ended", subject_id=f"person:{person.pk}"
    ).exists()
    assert client.delete(f"{API}/employments/{emp.pk}").status_code == 404


@pytest.mark.django_db
def test_employment_needs_both_ends_in_my_area(client, w):
    cases = [
        ("grid_worker_a", "person_a", "org_b"),
        ("grid_worker_a", "person_b", "org_a"),
        ("grid_worker_b", "person_a", "org_a"),
    ]
    for who, p, o in cases:
        body = {"person_id": w.extra[p].pk, "organisation_id": w.extra[o].pk}
        assert _post(client, w, who, "employments", body).status_code == 404
    body = {"person_id": 999_999, "organisation_id": w.extra["org_a"].pk}
    assert _post(client, w, "grid_worker_a", "employments", body).status_code == 404
    assert not Employment.objects.exists()
    refusals = AuditRecord.objects.filter(event="registry.employment_added", result="denied")
    assert refusals.count() == 3
    body = {"person_id": w.extra["person_a"].pk, "organisation_id": w.extra["org_a"].pk}
    assert _post(client, w, "resident_a", "employments", body).status_code == 403


# --- 3. Searches and lists of people are audited ----------------------------------------------
def _searches(**kw) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(event="personal.search", **kw).order_by("seq"))


@pytest.mark.django_db
def test_an_api_search_by_id_number_names_the_person_found(client, w):
    person = w.extra["person_a"]
    client.force_login(w.users["operator_a"])
    r = client.get(f"{API}/people", {"id_number": person.id_number, "purpose": "核实身份信息"})
    assert r.json()["count"] == 1
    (rec,) = _searches()
    assert rec.subject_id == f"person:{person.pk}" and rec.purpose == "核实身份信息"
    assert rec.fields == ["id_number"] and rec.detail["found"] == 1
    assert person.id_number not in str(rec.detail)
    client.force_login(w.users["resident_a"])
    mine = client.get(f"{API}/mine").json()["accesses"]
    assert any(a["event"] == "personal.search" and a["actor"] == "operator_a" for a in mine)


@pytest.mark.django_db
def test_an_api_search_by_phone_names_everyone_found(client, w):
    other = actions.do_upsert_person(
        actor=None,
        data={"name": "孙八", "id_number": "11010519491231002X", "phone": "13700000000"}
        | _at(w, "grid_a"),
    )
    client.force_login(w.users["operator_a"])
    assert client.get(f"{API}/people", {"phone": "13700000000"}).json()["count"] == 2
    recs = _searches()
    assert {r.subject_id for r in recs} == {
        f"person:{w.extra['person_a'].pk}",
        f"person:{other.pk}",
    }
    assert all(r.purpose == "registry search" and r.detail["by"] == "phone" for r in recs)


@pytest.mark.django_db
def test_a_search_that_finds_nobody_is_audited_too(client, w):
    client.force_login(w.users["grid_worker_b"])
    person = w.extra["person_a"]  # out of scope: not found
    assert client.get(f"{API}/people", {"id_number": person.id_number}).json()["count"] == 0
    (rec,) = _searches()
    assert rec.subject_id == "" and rec.detail["found"] == 0


@pytest.mark.django_db
def test_each_page_of_a_plain_list_is_one_audit_record(client, w):
    client.force_login(w.users["operator_a"])
    r = client.get(f"{API}/people", {"page_size": 1}).json()
    (rec,) = AuditRecord.objects.filter(event="personal.list")
    assert rec.actor == "operator_a" and rec.detail["count"] == r["count"] == 1
    assert rec.detail["ids"] == [w.extra["person_a"].pk] and rec.detail["page"] == 1


@pytest.mark.django_db
def test_a_web_search_shows_on_the_persons_own_record(client, w):
    person = w.extra["person_a"]
    client.force_login(w.users["operator_a"])
    assert client.get("/console/registry/people/", {"q": person.id_number}).status_code == 200
    (rec,) = _searches()
    assert rec.subject_id == f"person:{person.pk}"
    client.force_login(w.users["resident_a"])
    page = client.get("/console/registry/mine/").content.decode()
    assert "operator_a" in page
    assert client.get("/console/registry/people/").status_code in {302, 404}  # residents: no list
    client.force_login(w.users["operator_a"])
    client.get("/console/registry/people/")
    assert AuditRecord.objects.filter(event="personal.list", actor="operator_a").count() == 1
