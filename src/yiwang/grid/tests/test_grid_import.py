from __future__ import annotations

import copy

import numpy as np
import pytest

from yiwang.accounts.actions import do_add_community
from yiwang.grid import actions
from yiwang.grid.coords import (
    bd09_to_gcj02,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    to_wgs84,
    wgs84_to_gcj02,
)
from yiwang.grid.models import Grid
from yiwang.grid.selectors import grid_index
from yiwang.grid.tests.factories import rect, tiled_collection


@pytest.fixture
def communities(world):
    street = world.divisions["street_a"]
    return [do_add_community(actor=None, street=street, seq=i, name=f"社区{i}") for i in (1, 2)]


@pytest.mark.django_db
def test_import_numbers_west_to_east_north_to_south(world, communities):
    data = tiled_collection([communities[0].code], cols=3, rows=2)
    # Shuffle the features: numbering must not depend on file order.
    data["features"].reverse()
    report = actions.do_import_grids(actor=world.users["data_admin_a"], data=data)
    assert report.created == 6 and report.refused == 0 and report.numbered == 6
    grids = list(Grid.objects.order_by("code"))
    assert [g.code[-3:] for g in grids] == ["001", "002", "003", "004", "005", "006"]
    # 001..003 are the northern row, west to east.
    assert grids[0].centroid_lat > grids[3].centroid_lat
    assert grids[0].centroid_lng < grids[1].centroid_lng < grids[2].centroid_lng
    assert all(len(g.code) == 15 and g.code.startswith(communities[0].code) for g in grids)


@pytest.mark.django_db
def test_invalid_and_self_intersecting_polygons_are_refused_with_location(world, communities):
    data = tiled_collection([communities[0].code], cols=2, rows=1)
    bow_tie = {
        "type": "Polygon",
        "coordinates": [
            [[120.0, 30.0], [120.01, 30.01], [120.01, 30.0], [120.0, 30.01], [120.0, 30.0]]
        ],
    }
    data["features"].append(
        {"type": "Feature", "properties": {"community": communities[0].code}, "geometry": bow_tie}
    )
    data["features"].append(
        {
            "type": "Feature",
            "properties": {"community": communities[0].code},
            "geometry": {"type": "Point", "coordinates": [120, 30]},
        }
    )
    data["features"].append(
        {
            "type": "Feature",
            "properties": {"community": "999999999999"},
            "geometry": rect(121, 30, 121.01, 30.01),
        }
    )
    report = actions.do_import_grids(actor=None, data=data)
    kinds = {p.kind for p in report.problems}
    assert report.created == 2 and report.refused == 3
    assert {"self_intersection", "not_polygon", "missing_property"} <= kinds
    si = next(p for p in report.problems if p.kind == "self_intersection")
    assert si.location is not None and si.features == [2]


@pytest.mark.django_db
def test_overlaps_and_gaps_are_reported_with_area(world, communities):
    c = communities[0].code
    feats = [
        {
            "type": "Feature",
            "properties": {"community": c},
            "geometry": rect(120.0, 30.0, 120.01, 30.01),
        },
        {
            "type": "Feature",
            "properties": {"community": c},
            "geometry": rect(120.009, 30.0, 120.02, 30.01),
        },
        # a ring of four around a hole
        {
            "type": "Feature",
            "properties": {"community": c},
            "geometry": rect(120.0, 30.02, 120.03, 30.025),
        },
        {
            "type": "Feature",
            "properties": {"community": c},
            "geometry": rect(120.0, 30.035, 120.03, 30.04),
        },
        {
            "type": "Feature",
            "properties": {"community": c},
            "geometry": rect(120.0, 30.025, 120.005, 30.035),
        },
        {
            "type": "Feature",
            "properties": {"community": c},
            "geometry": rect(120.025, 30.025, 120.03, 30.035),
        },
    ]
    report = actions.do_import_grids(
        actor=None, data={"type": "FeatureCollection", "features": feats}, dry_run=True
    )
    overlap = [p for p in report.problems if p.kind == "overlap"]
    gap = [p for p in report.problems if p.kind == "gap"]
    assert overlap and overlap[0].area_m2 > 1000 and overlap[0].features == [0, 1]
    assert gap and gap[0].area_m2 > 1000 and gap[0].location is not None
    assert Grid.objects.count() == 0  # dry run writes nothing


@pytest.mark.django_db
def test_broken_geojson_is_a_report_not_a_crash(world):
    report = actions.do_import_grids(actor=None, data={"type": "Feature"})
    assert report.features == 0 and report.problems[0].kind == "invalid"


@pytest.mark.django_db
def test_reimport_by_code_updates_and_bumps_version(world, communities):
    data = tiled_collection([communities[0].code], with_codes=True)
    actions.do_import_grids(actor=None, data=data)
    moved = copy.deepcopy(data)
    moved["features"][0]["geometry"] = rect(120.2, 30.3, 120.21, 30.31)
    report = actions.do_import_grids(actor=None, data=moved)
    assert report.updated == 4 and report.created == 0
    assert Grid.objects.get(code=data["features"][0]["properties"]["code"]).version == 2


@pytest.mark.django_db
def test_residents_cannot_import_grids(world):
    from yiwang.core.errors import Forbidden

    with pytest.raises(Forbidden):
        actions.do_import_grids(
            actor=world.users["resident_a"], data={"type": "FeatureCollection", "features": []}
        )


@pytest.mark.django_db
def test_grid_index_assigns_points_and_outside_is_minus_one(world, communities):
    actions.do_import_grids(
        actor=None, data=tiled_collection([communities[0].code], cols=2, rows=1)
    )
    idx = grid_index()
    west, east = Grid.objects.order_by("code")
    got = idx.assign(
        [west.centroid_lng, east.centroid_lng, 0.0, np.nan],
        [west.centroid_lat, east.centroid_lat, 0.0, 1.0],
    )
    assert got.tolist() == [west.pk, east.pk, -1, -1]


def test_coordinate_conversions_round_trip():
    lng, lat = np.array([120.15, 116.397]), np.array([30.27, 39.909])
    gx, gy = wgs84_to_gcj02(lng, lat)
    assert np.all(np.abs(gx - lng) > 1e-4)  # the offset is real (hundreds of metres)
    wx, wy = gcj02_to_wgs84(gx, gy)
    assert np.allclose(wx, lng, atol=1e-7) and np.allclose(wy, lat, atol=1e-7)
    bx, by = gcj02_to_bd09(gx, gy)
    assert np.allclose(bd09_to_gcj02(bx, by), (gx, gy), atol=1e-5)
    ox, oy = to_wgs84(bx, by, "bd09")
    assert np.allclose(ox, lng, atol=1e-5) and np.allclose(oy, lat, atol=1e-5)
    # Outside China GCJ-02 is WGS84.
    assert wgs84_to_gcj02([2.35], [48.85])[0][0] == 2.35
