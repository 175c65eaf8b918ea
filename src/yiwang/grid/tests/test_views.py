"""Grid pages: the drill-down map and its GeoJSON, the grid profile; scoped by role."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from yiwang.registry.tests.test_views import Area, build_area


@pytest.fixture
def area(world) -> Area:
    return build_area(world)


def login(client, world, key: str):
    client.force_login(world.users[key])
    return client


def geojson(client, **params):
    resp = client.get(reverse("grid:map_data"), params)
    assert resp.status_code == 200, resp.status_code
    assert resp["Content-Type"].startswith("application/json")
    data = resp.json()
    assert data["type"] == "FeatureCollection"
    return data


def props(data) -> dict[str, dict]:
    return {f["properties"]["code"]: f["properties"] for f in data["features"]}


# --- Access -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["grid:map", "grid:map_data"])
def test_anonymous_is_sent_to_login(client, db, name):
    resp = client.get(reverse(name))
    assert resp.status_code == 302 and resp["Location"].startswith(reverse("accounts:login"))


def test_anonymous_profile_is_sent_to_login(client, area):
    resp = client.get(reverse("grid:profile", args=[area.grids[0].pk]))
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]


@pytest.mark.parametrize("key", ["resident_a", "auditadmin_a"])
def test_roles_without_registry_view_get_404(client, world, area, key):
    login(client, world, key)
    assert client.get(reverse("grid:map")).status_code == 404
    assert client.get(reverse("grid:map_data")).status_code == 404
    assert client.get(reverse("grid:profile", args=[area.grids[0].pk])).status_code == 404


# --- GeoJSON drill-down -----------------------------------------------------------------------
def test_top_level_is_streets_with_summed_counts(client, world, area):
    data = geojson(login(client, world, "operator_a"))
    assert data["level"] == "street"
    street = world.divisions["street_a"]
    p = props(data)
    assert list(p) == [street.code]
    assert p[street.code]["name"] == street.name
    assert p[street.code]["grids"] == 4
    assert p[street.code]["people"] == 3 and p[street.code]["things"] == 1
    assert p[street.code]["url"] == reverse("grid:map") + f"?street={street.code}"
    # Four squares side by side merge into one polygon.
    assert data["features"][0]["geometry"]["type"] == "Polygon"


def test_street_drills_to_communities(client, world, area):
    street = world.divisions["street_a"].code
    data = geojson(login(client, world, "operator_a"), street=street)
    assert data["level"] == "community"
    p = props(data)
    c1, c2 = (c.code for c in area.communities)
    assert list(p) == [c1, c2]
    assert p[c1]["name"] == "东湖社区" and p[c1]["people"] == 2 and p[c2]["people"] == 1
    assert p[c1]["url"].endswith(f"?community={c1}")


def test_community_drills_to_grids_linking_their_profiles(client, world, area):
    c1 = area.communities[0].code
    data = geojson(login(client, world, "operator_a"), community=c1)
    assert data["level"] == "grid"
    p = props(data)
    g0, g1 = area.grids[0], area.grids[1]
    assert list(p) == [g0.code, g1.code]
    assert p[g0.code]["people"] == 1 and p[g0.code]["places"] == 1
    assert p[g0.code]["organisations"] == 1
    assert p[g0.code]["url"] == reverse("grid:profile", args=[g0.pk])
    assert data["features"][0]["geometry"] == g0.geometry


def test_level_grid_returns_the_grids_themselves(client, world, area):
    data = geojson(login(client, world, "operator_a"), level="grid")
    assert data["level"] == "grid" and len(data["features"]) == 4


def test_grid_worker_sees_only_their_grid_at_every_level(client, world, area):
    login(client, world, "grid_worker_a")
    top = geojson(client)
    assert top["features"][0]["properties"]["grids"] == 1
    assert top["features"][0]["properties"]["people"] == 1  # not the neighbour's
    street = world.divisions["street_a"].code
    assert list(props(geojson(client, street=street))) == [area.communities[0].code]
    assert list(props(geojson(client, community=area.communities[0].code))) == [area.grids[0].code]
    # The other community has no grid of theirs: not disclosed.
    resp = client.get(reverse("grid:map_data"), {"community": area.communities[1].code})
    assert resp.status_code == 404


@pytest.mark.parametrize(
    "params",
    [{"street": "33010600100"}, {"street": "abc"}, {"community": "3301060010019"}],
)
def test_malformed_drill_is_404(client, world, area, params):
    login(client, world, "operator_a")
    assert client.get(reverse("grid:map_data"), params).status_code == 404
    assert client.get(reverse("grid:map"), params).status_code == 404


def test_other_district_cannot_drill_into_this_one(client, world, area):
    login(client, world, "operator_b")
    street = world.divisions["street_a"].code
    assert client.get(reverse("grid:map"), {"street": street}).status_code == 404
    assert geojson(client)["features"] == []


# --- Map page ---------------------------------------------------------------------------------
def test_map_page_passes_urls_by_data_attributes_and_has_a_table(client, world, area):
    login(client, world, "operator_a")
    street = world.divisions["street_a"]
    resp = client.get(reverse("grid:map"), {"street": street.code, "metric": "things"})
    page = resp.content.decode()
    assert resp.status_code == 200
    assert f'data-geojson-url="{reverse("grid:map_data")}?street={street.code}"' in page
    assert 'data-metric="things"' in page
    assert "grid/map.js" in page and "vendor/echarts/echarts.min.js" in page
    assert "<script>" not in page  # CSP: no inline script
    # Breadcrumb back up to the whole area, and one table row per community.
    assert f'href="{reverse("grid:map")}"' in page and street.name in page
    for c in area.communities:
        assert f'data-unit="{c.code}"' in page


def test_unknown_metric_falls_back_to_people(client, world, area):
    page = login(client, world, "operator_a").get(reverse("grid:map"), {"metric": "x"})
    assert 'data-metric="people"' in page.content.decode()


# --- Profile ----------------------------------------------------------------------------------
def test_profile_shows_counts_members_and_list_links(client, world, area):
    g = area.grids[0]
    login(client, world, "grid_worker_a")
    resp = client.get(reverse("grid:profile", args=[g.pk]))
    page = resp.content.decode()
    assert resp.status_code == 200
    for key, n in (("people", 1), ("places", 1), ("things", 1), ("organisations", 1)):
        assert re.search(
            rf'data-count="{key}">.*?<span class="stat-value">{n}</span>', page, flags=re.S
        )
        assert f"{reverse(f'registry:{key}')}?grid={g.code}" in page
    assert 'data-count="cases"' in page  # 事, registered by the cases app
    assert "grid_worker_a" in page
    name = world.users["grid_worker_a"].display_name
    assert name not in page and name[0] + "*" in page  # member names masked
    assert area.communities[0].name in page  # breadcrumb


def test_neighbour_grid_profile_is_404_for_a_grid_worker(client, world, area):
    login(client, world, "grid_worker_a")
    assert client.get(reverse("grid:profile", args=[area.grids[1].pk])).status_code == 404
    login(client, world, "operator_a")
    assert client.get(reverse("grid:profile", args=[area.grids[1].pk])).status_code == 200
