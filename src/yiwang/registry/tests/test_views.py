"""Registry pages: scope (a grid worker sees their grid only), masking, audited reads,
blind-index search, tags by capability, relations and the change history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from yiwang.accounts.actions import do_add_community
from yiwang.core.ids import make_credit_code, make_resident_id
from yiwang.core.models import AuditRecord
from yiwang.grid import actions as grid_actions
from yiwang.grid.models import Grid
from yiwang.grid.tests.factories import tiled_collection
from yiwang.registry import actions
from yiwang.registry.models import Organisation

ID_1 = make_resident_id("330106", dt.date(1988, 2, 3), 17)
ID_2 = make_resident_id("330106", dt.date(1990, 1, 1), 20)
ID_3 = make_resident_id("330106", dt.date(1975, 6, 9), 33)


@dataclass
class Area:
    """Street a with two communities of two grids each; grid_worker_a works grid 0."""

    grids: list[Grid]
    communities: list[Any]
    home: Any
    person: Any  # grid 0: the worker's
    neighbour: Any  # grid 1: same community, another grid
    far: Any  # grid 2: the other community
    thing: Any
    org: Any


def _at(grid: Grid) -> dict[str, float]:
    return {"lng": grid.centroid_lng, "lat": grid.centroid_lat}


def build_area(world: Any) -> Area:
    """Objects through the actions, as the API and imports make them."""
    street = world.divisions["street_a"]
    c1 = do_add_community(actor=None, street=street, seq=1, name="东湖社区")
    c2 = do_add_community(actor=None, street=street, seq=2, name="西溪社区")
    grid_actions.do_import_grids(
        actor=None, data=tiled_collection([c1.code, c2.code], cols=2, rows=1)
    )
    grids = list(Grid.objects.order_by("code"))
    grid_actions.do_assign_member(
        actor=None, grid_id=grids[0].pk, user_id=world.users["grid_worker_a"].pk
    )
    home = actions.do_upsert_place(
        actor=None,
        data={"code": "P-1", "name": "一号楼", "kind": "building", "address": "文一路1号"}
        | _at(grids[0]),
    )
    data = {"name": "王小明", "id_number": ID_1, "phone": "13900001111", "home_id": home.pk}
    actions.do_upsert_person(
        actor=None, data=data | {"tags": ["living_alone_elder"]} | _at(grids[0])
    )
    person = actions.do_upsert_person(
        actor=world.users["grid_worker_a"],
        data=data | {"phone": "13900002222"} | _at(grids[0]),
    )
    neighbour = actions.do_upsert_person(
        actor=None,
        data={"name": "李四光", "id_number": ID_2, "phone": "13700003333"} | _at(grids[1]),
    )
    far = actions.do_upsert_person(
        actor=None, data={"name": "赵钱孙", "id_number": ID_3} | _at(grids[2])
    )
    thing = actions.do_upsert_thing(
        actor=None, data={"part_code": "33010601001000001", "name": "上水井盖"} | _at(grids[0])
    )
    org = actions.do_upsert_organisation(
        actor=None,
        data={
            "credit_code": make_credit_code("330106", "MA2H00001"),
            "name": "示例科技有限公司",
            "legal_representative": "李大明",
        }
        | _at(grids[0]),
    )
    Organisation.objects.filter(pk=org.pk).update(place=home)
    return Area(grids, [c1, c2], home, person, neighbour, far, thing, org)


@pytest.fixture
def area(world) -> Area:
    return build_area(world)


def login(client, world, key: str):
    client.force_login(world.users[key])
    return client


def html(resp) -> str:
    assert resp.status_code == 200, resp.status_code
    return resp.content.decode()


# --- Access -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name", ["registry:index", "registry:people", "registry:places", "registry:things"]
)
def test_anonymous_is_sent_to_login(client, db, name):
    resp = client.get(reverse(name))
    assert resp.status_code == 302 and resp["Location"].startswith(reverse("accounts:login"))


def test_anonymous_entity_page_is_sent_to_login(client, area):
    resp = client.get(reverse("registry:person", args=[area.person.pk]))
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


@pytest.mark.parametrize("key", ["resident_a", "auditadmin_a", "sysadmin_a"])
def test_roles_without_registry_view_get_404(client, world, area, key):
    login(client, world, key)
    assert client.get(reverse("registry:people")).status_code == 404
    assert client.get(reverse("registry:person", args=[area.person.pk])).status_code == 404


# --- Scope ------------------------------------------------------------------------------------
def test_grid_worker_lists_only_people_in_their_grid(client, world, area):
    page = html(login(client, world, "grid_worker_a").get(reverse("registry:people")))
    assert f'data-person="{area.person.pk}"' in page
    assert f'data-person="{area.neighbour.pk}"' not in page
    assert f'data-person="{area.far.pk}"' not in page


def test_operator_lists_the_whole_district(client, world, area):
    page = html(login(client, world, "operator_a").get(reverse("registry:people")))
    for p in (area.person, area.neighbour, area.far):
        assert f'data-person="{p.pk}"' in page
    page = html(login(client, world, "operator_b").get(reverse("registry:people")))
    assert "data-person=" not in page


@pytest.mark.parametrize(
    ("name", "attr"),
    [("registry:person", "neighbour"), ("registry:person", "far")],
)
def test_out_of_scope_person_is_404(client, world, area, name, attr):
    login(client, world, "grid_worker_a")
    assert client.get(reverse(name, args=[getattr(area, attr).pk])).status_code == 404


@pytest.mark.parametrize(
    ("name", "attr"),
    [
        ("registry:person", "person"),
        ("registry:place", "home"),
        ("registry:thing", "thing"),
        ("registry:organisation", "org"),
    ],
)
def test_other_district_gets_404_for_every_entity(client, world, area, name, attr):
    login(client, world, "grid_worker_b")
    assert client.get(reverse(name, args=[getattr(area, attr).pk])).status_code == 404
    login(client, world, "operator_b")
    assert client.get(reverse(name, args=[getattr(area, attr).pk])).status_code == 404


def test_grid_filter_narrows_the_list(client, world, area):
    login(client, world, "operator_a")
    page = html(client.get(reverse("registry:people"), {"grid": area.grids[1].code}))
    assert f'data-person="{area.neighbour.pk}"' in page
    assert f'data-person="{area.person.pk}"' not in page


def test_a_grid_outside_scope_filters_to_nothing(client, world, area):
    login(client, world, "grid_worker_a")
    page = html(client.get(reverse("registry:people"), {"grid": area.grids[1].code}))
    assert "data-person=" not in page


# --- Masking ----------------------------------------------------------------------------------
def test_list_masks_name_id_and_phone(client, world, area):
    page = html(login(client, world, "grid_worker_a").get(reverse("registry:people")))
    assert "王*明" in page and "王小明" not in page
    assert f"330***********{ID_1[-4:]}" in page and ID_1 not in page
    assert "139****2222" in page and "13900002222" not in page


def test_person_page_is_masked_and_audited_with_purpose(client, world, area):
    login(client, world, "grid_worker_a")
    before = AuditRecord.objects.filter(event="personal.read").count()
    url = reverse("registry:person", args=[area.person.pk])
    page = html(client.get(url, {"purpose": "入户走访核实"}))
    assert "王*明" in page and "王小明" not in page
    assert f"330***********{ID_1[-4:]}" in page and ID_1 not in page
    assert "139****2222" in page and "13900002222" not in page
    assert "1988-02-03" not in page  # only the year of birth
    reads = AuditRecord.objects.filter(event="personal.read").order_by("seq")
    assert reads.count() == before + 1
    last = reads.last()
    assert last.subject_id == f"person:{area.person.pk}"
    assert last.actor == "grid_worker_a" and last.purpose == "入户走访核实"


def test_legal_representative_is_masked(client, world, area):
    login(client, world, "grid_worker_a")
    page = html(client.get(reverse("registry:organisation", args=[area.org.pk])))
    assert "李*明" in page and "李大明" not in page


def test_tags_only_for_roles_that_may_unmask(client, world, area):
    label = "独居老人"  # zh-Hans is the default language
    worker = html(login(client, world, "grid_worker_a").get(reverse("registry:people")))
    operator = html(login(client, world, "operator_a").get(reverse("registry:people")))
    page = html(client.get(reverse("registry:person", args=[area.person.pk])))
    tag_text = "Elder living alone"
    assert (label in operator or tag_text in operator) and (label in page or tag_text in page)
    assert label not in worker and tag_text not in worker


# --- Search through the blind index -----------------------------------------------------------
def test_search_by_id_number_is_exact_and_audited(client, world, area):
    login(client, world, "operator_a")
    before = AuditRecord.objects.filter(event="personal.search").count()
    page = html(client.get(reverse("registry:people"), {"q": ID_2.lower()}))
    assert f'data-person="{area.neighbour.pk}"' in page
    assert f'data-person="{area.person.pk}"' not in page
    rec = AuditRecord.objects.filter(event="personal.search").order_by("seq").last()
    assert AuditRecord.objects.filter(event="personal.search").count() == before + 1
    assert rec.fields == ["id_number"] and rec.detail["found"] == 1
    assert ID_2 not in str(rec.detail) and ID_2.lower() not in str(rec.detail)


def test_search_by_phone(client, world, area):
    login(client, world, "operator_a")
    page = html(client.get(reverse("registry:people"), {"q": "+86 137-0000-3333"}))
    assert f'data-person="{area.neighbour.pk}"' in page
    assert f'data-person="{area.person.pk}"' not in page


def test_search_does_not_reach_outside_scope(client, world, area):
    login(client, world, "grid_worker_a")
    page = html(client.get(reverse("registry:people"), {"q": ID_2}))
    assert "data-person=" not in page


def test_partial_id_number_finds_nothing(client, world, area):
    login(client, world, "operator_a")
    page = html(client.get(reverse("registry:people"), {"q": ID_1[:10]}))
    assert "data-person=" not in page


# --- Other lists ------------------------------------------------------------------------------
def test_places_things_organisations_lists_and_text_search(client, world, area):
    login(client, world, "grid_worker_a")
    page = html(client.get(reverse("registry:places"), {"q": "一号"}))
    assert f'data-place="{area.home.pk}"' in page
    page = html(client.get(reverse("registry:places"), {"q": "二号"}))
    assert "data-place=" not in page
    page = html(client.get(reverse("registry:things"), {"q": "井盖"}))
    assert f'data-thing="{area.thing.pk}"' in page
    page = html(client.get(reverse("registry:things"), {"status": "damaged"}))
    assert "data-thing=" not in page
    page = html(client.get(reverse("registry:organisations"), {"q": area.org.credit_code}))
    assert f'data-org="{area.org.pk}"' in page
    page = html(client.get(reverse("registry:organisations"), {"q": "示例"}))
    assert f'data-org="{area.org.pk}"' in page


def test_index_counts_what_is_in_scope(client, world, area):
    page = html(login(client, world, "grid_worker_a").get(reverse("registry:index")))
    assert 'data-section="people"' in page
    assert reverse("registry:people") in page


def test_lists_paginate(client, world, area):
    for i in range(55):
        actions.do_upsert_thing(
            actor=None,
            data={"part_code": f"33010601001{i + 2:06d}", "name": "路灯"} | _at(area.grids[0]),
        )
    login(client, world, "grid_worker_a")
    first = html(client.get(reverse("registry:things")))
    second = html(client.get(reverse("registry:things"), {"page": 2}))
    assert first.count("data-thing=") == 50 and second.count("data-thing=") == 6
    assert 'rel="next"' in first


# --- Entity pages: relations and history ------------------------------------------------------
def test_person_page_links_home_and_grid_and_shows_masked_history(client, world, area):
    login(client, world, "grid_worker_a")
    page = html(client.get(reverse("registry:person", args=[area.person.pk])))
    assert reverse("registry:place", args=[area.home.pk]) in page
    assert reverse("grid:profile", args=[area.grids[0].pk]) in page
    assert 'data-testid="timeline"' in page
    # The update changed the phone: before/after as recorded, masked.
    assert "139****1111" in page and "13900001111" not in page
    assert "grid_worker_a" in page  # who changed it


def test_place_page_lists_residents_masked_and_organisations(client, world, area):
    login(client, world, "grid_worker_a")
    page = html(client.get(reverse("registry:place", args=[area.home.pk])))
    assert reverse("registry:person", args=[area.person.pk]) in page
    assert "王*明" in page and "王小明" not in page
    assert reverse("registry:organisation", args=[area.org.pk]) in page


def test_organisation_page_links_its_place(client, world, area):
    login(client, world, "grid_worker_a")
    page = html(client.get(reverse("registry:organisation", args=[area.org.pk])))
    assert reverse("registry:place", args=[area.home.pk]) in page
    assert area.org.credit_code in page


def test_thing_page_shows_history(client, world, area):
    login(client, world, "grid_worker_a")
    page = html(client.get(reverse("registry:thing", args=[area.thing.pk])))
    assert area.thing.part_code in page and 'data-testid="timeline"' in page


def test_english_pages_render(client, world, area):
    login(client, world, "grid_worker_a")
    client.cookies["django_language"] = "en"  # pages are zh-Hans first; English is chosen
    page = html(client.get(reverse("registry:person", args=[area.person.pk])))
    assert "ID number" in page


def test_a_home_that_is_a_room_shows_as_its_building(client, world, area):
    room = actions.do_upsert_place(
        actor=None,
        data={"code": "P-1-101", "name": "一号楼101室", "kind": "room", "parent_id": area.home.pk}
        | _at(area.grids[0]),
    )
    actions.do_upsert_person(
        actor=None,
        data={"name": "王小明", "id_number": ID_1, "home_id": room.pk} | _at(area.grids[0]),
    )
    login(client, world, "grid_worker_a")
    for url in (
        reverse("registry:people"),
        reverse("registry:person", args=[area.person.pk]),
    ):
        page = html(client.get(url))
        assert "一号楼 ****" in page and "101室" not in page
