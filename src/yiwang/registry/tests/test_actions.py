from __future__ import annotations

import datetime as dt

import pytest

from yiwang.accounts.actions import do_add_community
from yiwang.core.errors import ValidationFailed
from yiwang.core.ids import make_credit_code, make_resident_id
from yiwang.core.models import AuditRecord
from yiwang.grid import actions as grid_actions
from yiwang.grid.coords import wgs84_to_gcj02
from yiwang.grid.models import Grid
from yiwang.grid.tests.factories import rect, tiled_collection
from yiwang.registry import actions, selectors
from yiwang.registry.models import ChangeRecord, Person


@pytest.fixture
def grids(world):
    comm = do_add_community(actor=None, street=world.divisions["street_a"], seq=1, name="社区1")
    grid_actions.do_import_grids(actor=None, data=tiled_collection([comm.code], cols=2, rows=1))
    return list(Grid.objects.order_by("code"))


def _person(grid, **extra):
    return {
        "name": "王小明",
        "id_number": make_resident_id("330106", dt.date(1988, 2, 3), 17),
        "phone": "13900001111",
        "lng": grid.centroid_lng,
        "lat": grid.centroid_lat,
        **extra,
    }


@pytest.mark.django_db
def test_person_is_upserted_by_id_number_with_history(world, grids):
    actor = world.users["data_admin_a"]
    p = actions.do_upsert_person(actor=actor, data=_person(grids[0]))
    assert p.grid_id == grids[0].pk and p.sex == "M" and p.birth_date == dt.date(1988, 2, 3)
    again = actions.do_upsert_person(actor=actor, data=_person(grids[1], phone="13900002222"))
    assert again.pk == p.pk and Person.objects.count() == 1
    assert again.grid_id == grids[1].pk
    history = list(ChangeRecord.objects.filter(entity_type="person", entity_id=p.pk).order_by("pk"))
    assert [h.action for h in history] == ["created", "updated"]
    assert history[1].changes["phone"] == ["139****1111", "139****2222"]  # masked before/after
    assert "grid_id" in history[1].changes


@pytest.mark.django_db
def test_gcj02_input_is_stored_as_wgs84(world, grids):
    g = grids[0]
    gx, gy = wgs84_to_gcj02([g.centroid_lng], [g.centroid_lat])
    p = actions.do_upsert_person(
        actor=None, data=_person(g, lng=float(gx[0]), lat=float(gy[0]), coord_system="gcj02")
    )
    assert abs(p.lng - g.centroid_lng) < 1e-6 and p.coord_system == "gcj02"


@pytest.mark.django_db
def test_bad_input_is_field_level_and_writes_nothing(world, grids):
    before = AuditRecord.objects.count()
    with pytest.raises(ValidationFailed) as err:
        actions.do_upsert_person(
            actor=None, data=_person(grids[0], id_number="123", phone="12", tags=["x"])
        )
    assert {"id_number", "phone", "tags"} <= set(err.value.fields)
    with pytest.raises(ValidationFailed) as err:
        actions.do_upsert_person(actor=None, data=_person(grids[0], lng=0.0, lat=0.0))
    assert "lat" in err.value.fields  # outside the territory
    assert Person.objects.count() == 0 and AuditRecord.objects.count() == before


@pytest.mark.django_db
def test_scoping_grid_worker_sees_only_their_grid(world, grids):
    actions.do_upsert_person(actor=None, data=_person(grids[0]))
    actions.do_upsert_person(
        actor=None,
        data=_person(grids[1], id_number=make_resident_id("330106", dt.date(1990, 1, 1), 20)),
    )
    worker = world.users["grid_worker_a"]
    grid_actions.do_assign_member(actor=None, grid_id=grids[0].pk, user_id=worker.pk)
    assert selectors.list_people_for(worker).count() == 1
    assert selectors.list_people_for(world.users["operator_a"]).count() == 2
    assert selectors.list_people_for(world.users["operator_b"]).count() == 0
    assert selectors.list_people_for(world.users["resident_a"]).count() == 0


@pytest.mark.django_db
def test_reassign_after_grids_move(world, grids):
    p = actions.do_upsert_person(actor=None, data=_person(grids[0]))
    # Move grid 0 far away: the person now falls in no grid.
    g0 = grids[0]
    grid_actions.do_import_grids(
        actor=None,
        data={
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"code": g0.code},
                    "geometry": rect(121, 31, 121.01, 31.01),
                }
            ],
        },
    )
    moved = actions.reassign_all(actor=world.users["data_admin_a"])
    assert moved == {"person": 1, "place": 0, "thing": 0, "organisation": 0}
    p.refresh_from_db()
    assert p.grid_id is None
    (entry,) = ChangeRecord.objects.filter(entity_type="person", entity_id=p.pk, action="moved")
    assert entry.source == "reassign" and entry.actor == "data_admin_a"
    assert entry.changes == {"grid_id": [g0.pk, None]}
    # nothing moves twice: a second run writes no history
    assert actions.reassign_all()["person"] == 0
    assert ChangeRecord.objects.filter(action="moved").count() == 1


@pytest.mark.django_db
def test_those_who_change_grids_see_how_many_rows_moved(world, grids, client):
    from yiwang.registry.models import Reassignment

    actions.do_upsert_person(actor=None, data=_person(grids[0]))
    g0 = grids[0]
    feature = {"type": "Feature", "properties": {"code": g0.code}}
    grid_actions.do_import_grids(
        actor=None,
        data={
            "type": "FeatureCollection",
            "features": [feature | {"geometry": rect(121, 31, 121.01, 31.01)}],
        },
    )
    actions.reassign_all()  # as the job after a grid import: no actor
    run = Reassignment.objects.get()
    assert run.moved == {"person": 1, "place": 0, "thing": 0, "organisation": 0}
    assert run.actor is None and run.started_at <= run.finished_at and run.total == 1
    client.force_login(world.users["data_admin_a"])
    page = client.get("/console/registry/").content.decode()
    assert 'data-testid="reassignments"' in page and "<td>1</td>" in page
    client.force_login(world.users["grid_worker_a"])  # does not change grids: not shown
    assert 'data-testid="reassignments"' not in client.get("/console/registry/").content.decode()


@pytest.mark.django_db
def test_reassign_history_for_every_kind_of_entity(world, grids):
    g0, g1 = grids
    at0 = {"lng": g0.centroid_lng, "lat": g0.centroid_lat}
    place = actions.do_upsert_place(actor=None, data={"code": "P-1", "name": "楼", **at0})
    thing = actions.do_upsert_thing(actor=None, data={"part_code": "33010601001000001", **at0})
    org = actions.do_upsert_organisation(
        actor=None,
        data={"credit_code": make_credit_code("330106", "MA2H00001"), "name": "店", **at0},
    )
    person = actions.do_upsert_person(actor=None, data=_person(g0))
    # Grid 0 and grid 1 swap their shapes: everything in grid 0 now falls in grid 1.
    grid_actions.do_import_grids(
        actor=None,
        data={
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": {"code": g.code}, "geometry": geom}
                for g, geom in ((g0, g1.geometry), (g1, g0.geometry))
            ],
        },
    )
    moved = actions.reassign_all(chunk=1)
    assert moved == {"person": 1, "place": 1, "thing": 1, "organisation": 1}
    for kind, obj in (
        ("person", person),
        ("place", place),
        ("thing", thing),
        ("organisation", org),
    ):
        (entry,) = ChangeRecord.objects.filter(entity_type=kind, entity_id=obj.pk, action="moved")
        assert entry.changes == {"grid_id": [g0.pk, g1.pk]} and entry.source == "reassign"


@pytest.mark.django_db
def test_thing_and_organisation(world, grids):
    g = grids[0]
    t = actions.do_upsert_thing(
        actor=None,
        data={
            "part_code": "33010601001000001",
            "name": "上水井盖",
            "lng": g.centroid_lng,
            "lat": g.centroid_lat,
        },
    )
    assert t.class_code == "01001" and t.grid_id == g.pk
    with pytest.raises(ValidationFailed) as err:
        actions.do_upsert_thing(
            actor=None, data={"part_code": "3301060100100000", "lng": 1, "lat": 1}
        )
    assert "part_code" in err.value.fields
    from yiwang.core.codetables import import_industry

    import_industry(actor=None)
    org = actions.do_upsert_organisation(
        actor=None,
        data={
            "credit_code": make_credit_code("330106", "MA2H00001"),
            "name": "示例科技有限公司",
            "industry_code": "I6510",
            "founded_on": "2019-06-01",
            "registered_capital": "500",
            "legal_representative": "李四",
            "lng": g.centroid_lng,
            "lat": g.centroid_lat,
        },
    )
    assert org.grid_id == g.pk and float(org.registered_capital) == 500.0
    with pytest.raises(ValidationFailed) as err:
        actions.do_upsert_organisation(
            actor=None,
            data={"credit_code": "91330106MA2H00001X", "name": "x", "industry_code": "Z9999"},
        )
    assert {"credit_code", "industry_code"} <= set(err.value.fields)
