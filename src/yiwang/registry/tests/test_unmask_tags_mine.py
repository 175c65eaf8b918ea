"""Unmasking on the person page (audited, refusals too), the care-tag filter on both
databases (restricted to roles that may see tags), and a resident's own entry with who read it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from yiwang.core.models import AuditRecord
from yiwang.registry import actions, selectors
from yiwang.registry.models import Person
from yiwang.registry.tests.test_views import Area, build_area, html, login

PURPOSE = "核实联系电话以便上门"


@pytest.fixture
def area(world) -> Area:
    return build_area(world)


def _unmask(client, person_id: int, field: str, purpose: str = PURPOSE):
    return client.post(
        reverse("registry:person_unmask", args=[person_id]),
        {"field": field, "purpose": purpose},
        HTTP_HX_REQUEST="true",
    )


def _records(**kw) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(event="personal.unmask", **kw).order_by("seq"))


# --- Unmask on the person page ------------------------------------------------------------------
def test_person_page_offers_unmask_only_with_the_capability(client, world, area):
    url = reverse("registry:person", args=[area.person.pk])
    page = html(login(client, world, "operator_a").get(url))
    assert 'data-unmask="id_number"' in page and 'data-unmask="phone"' in page
    page = html(login(client, world, "grid_worker_a").get(url))
    assert "data-unmask" not in page
    assert area.person.id_number not in page


def test_operator_unmasks_the_phone_with_a_purpose_and_it_is_audited(client, world, area):
    resp = _unmask(login(client, world, "operator_a"), area.person.pk, "phone")
    assert resp.status_code == 200
    assert "13900002222" in resp.content.decode()
    (rec,) = _records(subject_id=f"person:{area.person.pk}")
    assert rec.actor == "operator_a" and rec.result == "ok"
    assert rec.fields == ["phone"] and rec.purpose == PURPOSE
    assert "13900002222" not in str(rec.detail)  # the value is never written to the log


def test_unmasking_the_id_number(client, world, area):
    resp = _unmask(login(client, world, "operator_a"), area.person.pk, "id_number")
    assert resp.status_code == 200 and area.person.id_number in resp.content.decode()


def test_without_a_purpose_nothing_is_shown(client, world, area):
    resp = _unmask(login(client, world, "operator_a"), area.person.pk, "phone", purpose=" ")
    assert resp.status_code == 422
    assert "13900002222" not in resp.content.decode()
    assert _records(result="ok") == []


def test_a_field_that_is_not_unmaskable_is_refused(client, world, area):
    resp = _unmask(login(client, world, "operator_a"), area.person.pk, "tags")
    assert resp.status_code == 422


def test_grid_worker_is_refused_and_the_refusal_is_audited(client, world, area):
    resp = _unmask(login(client, world, "grid_worker_a"), area.person.pk, "phone")
    assert resp.status_code == 403
    assert "13900002222" not in resp.content.decode()
    (rec,) = _records(subject_id=f"person:{area.person.pk}")
    assert rec.result == "denied" and rec.actor == "grid_worker_a"
    assert rec.detail["reason"] == "no capability"


def test_out_of_scope_is_404_and_audited(client, world, area):
    resp = _unmask(login(client, world, "operator_b"), area.person.pk, "phone")
    assert resp.status_code == 404
    (rec,) = _records(actor="operator_b")
    assert rec.result == "denied" and rec.subject_id == ""


def test_anonymous_is_sent_to_login(client, area):
    resp = _unmask(client, area.person.pk, "phone")
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


def test_unmask_needs_post(client, world, area):
    login(client, world, "operator_a")
    assert client.get(reverse("registry:person_unmask", args=[area.person.pk])).status_code == 405


def test_api_unmask(client, world, area):
    login(client, world, "operator_a")
    url = f"/api/v1/registry/people/{area.person.pk}/unmask"
    r = client.post(url, {"field": "phone", "purpose": PURPOSE}, content_type="application/json")
    assert r.status_code == 200 and r.json() == {"field": "phone", "value": "13900002222"}
    login(client, world, "grid_worker_a")
    r = client.post(url, {"field": "phone", "purpose": PURPOSE}, content_type="application/json")
    assert r.status_code == 403
    assert [x.result for x in _records()] == ["ok", "denied"]


# --- Care and attention tags ------------------------------------------------------------------
def test_tag_filter_selector_on_this_database(world, area):
    actions.do_upsert_person(
        actor=None,
        data={
            "name": area.neighbour.name,
            "id_number": area.neighbour.id_number,
            "tags": ["disabled", "low_income"],
        },
    )
    op = world.users["operator_a"]
    people = selectors.list_people_for(op)
    assert list(selectors.filter_people_by_tag(op, people, "living_alone_elder")) == [area.person]
    assert list(selectors.filter_people_by_tag(op, people, "low_income")) == [area.neighbour]
    assert list(selectors.filter_people_by_tag(op, people, "key_person")) == []
    # Not a substring match: an element equal to the tag.
    Person.objects.filter(pk=area.far.pk).update(tags=["disabled_x"])
    assert list(selectors.filter_people_by_tag(op, people, "disabled")) == [area.neighbour]


def test_tag_filter_on_the_people_page(client, world, area):
    url = reverse("registry:people")
    page = html(login(client, world, "operator_a").get(url, {"tag": "living_alone_elder"}))
    assert 'data-testid="tag-filter"' in page
    assert f'data-person="{area.person.pk}"' in page
    assert f'data-person="{area.neighbour.pk}"' not in page


def test_roles_that_may_not_see_tags_cannot_filter_by_them(client, world, area):
    login(client, world, "grid_worker_a")
    page = html(client.get(reverse("registry:people")))
    assert 'data-testid="tag-filter"' not in page
    resp = client.get(reverse("registry:people"), {"tag": "living_alone_elder"})
    assert resp.status_code == 302  # refused with a message, back to the unfiltered list
    r = client.get("/api/v1/registry/people?tag=living_alone_elder")
    assert r.status_code == 403


def test_api_tag_filter(client, world, area):
    login(client, world, "operator_a")
    r = client.get("/api/v1/registry/people?tag=living_alone_elder").json()
    assert [p["id"] for p in r["items"]] == [area.person.pk]
    assert client.get("/api/v1/registry/people?tag=nonsense").status_code == 422


# --- A resident's own entry -------------------------------------------------------------------
@pytest.fixture
def resident(world, area):
    user = world.users["resident_a"]
    user.id_number = area.person.id_number
    user.save()
    return user


def test_resident_sees_their_entry_and_who_read_it_and_why(client, world, area, resident):
    login(client, world, "operator_a")
    client.get(reverse("registry:person", args=[area.person.pk]), {"purpose": "入户走访"})
    _unmask(client, area.person.pk, "phone")
    _unmask(login(client, world, "grid_worker_a"), area.person.pk, "id_number")
    page = html(login(client, world, "resident_a").get(reverse("registry:mine")))
    assert area.person.id_number in page and "13900002222" in page  # their own, in clear
    assert "operator_a" in page and "入户走访" in page and PURPOSE in page
    assert "grid_worker_a" in page  # the refused attempt is listed too
    api = client.get("/api/v1/registry/mine").json()
    events = {(a["actor"], a["event"], a["result"]) for a in api["accesses"]}
    assert ("operator_a", "personal.unmask", "ok") in events
    assert ("grid_worker_a", "personal.unmask", "denied") in events
    assert ("operator_a", "personal.read", "ok") in events


def test_someone_elses_reads_do_not_show(client, world, area, resident):
    login(client, world, "operator_a")
    client.get(reverse("registry:person", args=[area.neighbour.pk]), {"purpose": "走访邻居"})
    page = html(login(client, world, "resident_a").get(reverse("registry:mine")))
    assert "走访邻居" not in page
    assert area.neighbour.id_number not in page


def test_resident_without_an_entry(client, world, area):
    page = html(login(client, world, "resident_b").get(reverse("registry:mine")))
    assert 'data-testid="no-entry"' in page
    assert client.get("/api/v1/registry/mine").status_code == 404


def test_my_entry_needs_login(client, db):
    resp = client.get(reverse("registry:mine"))
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]
