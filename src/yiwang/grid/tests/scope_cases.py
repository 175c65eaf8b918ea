"""Scope cases for the grid API, and the grids every scope test world gets."""

from __future__ import annotations

from typing import Any

from yiwang.core.testing import EndpointCase, Probe, register, register_world_builder


@register_world_builder
def build_grids(w: Any) -> None:
    from yiwang.accounts.actions import do_add_community
    from yiwang.grid import actions
    from yiwang.grid.models import Grid
    from yiwang.grid.tests.factories import tiled_collection

    for side, origin in (("a", (120.10, 30.30)), ("b", (120.20, 30.30))):
        comm = do_add_community(
            actor=None, street=w.divisions[f"street_{side}"], seq=1, name=f"社区{side}"
        )
        w.divisions[f"community_{side}"] = comm
        actions.do_import_grids(
            actor=None, data=tiled_collection([comm.code], cols=2, rows=1, origin=origin)
        )
        grids = list(Grid.objects.filter(community=comm).order_by("code"))
        w.extra[f"grid_{side}"] = grids[0]
        w.extra[f"grid_{side}2"] = grids[1]
        actions.do_assign_member(
            actor=None, grid_id=grids[0].pk, user_id=w.users[f"grid_worker_{side}"].pk
        )


def _g(w: Any, key: str) -> int:
    return int(w.extra[key].pk)


register(EndpointCase("GET", "/api/v1/grid/grids", in_scope=lambda w: Probe("grid_worker_a")))
register(EndpointCase("GET", "/api/v1/grid/grids.geojson", in_scope=lambda w: Probe("operator_a")))
register(
    EndpointCase(
        "GET",
        "/api/v1/grid/grids/{grid_id}",
        in_scope=lambda w: Probe("grid_worker_a", {"grid_id": _g(w, "grid_a")}),
        out_of_scope=lambda w: Probe("grid_worker_a", {"grid_id": _g(w, "grid_a2")}, expect=404),
        note="a grid worker sees only their own grid, not the neighbour in the same community",
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/grid/grids/import",
        in_scope=lambda w: Probe(
            "data_admin_a",
            body={"data": {"type": "FeatureCollection", "features": []}, "dry_run": True},
        ),
        out_of_scope=lambda w: Probe(
            "grid_worker_a",
            body={"data": {"type": "FeatureCollection", "features": []}},
            expect=403,
        ),
    )
)


def _moved_grid_a(w: Any) -> dict[str, Any]:
    """district A's first grid, recoded as district B would send it (same code, new shape)."""
    from yiwang.grid.tests.factories import rect

    g = w.extra["grid_a"]
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": g.code, "name": "taken over"},
                "geometry": rect(120.5, 30.5, 120.51, 30.51),
            }
        ],
    }


def _file(data: dict[str, Any]) -> dict[str, Any]:
    import json

    return {"__files__": {"file": ("grids.geojson", json.dumps(data).encode())}}


register(
    EndpointCase(
        "POST",
        "/api/v1/grid/grids/import/file",
        in_scope=lambda w: Probe(
            "data_admin_a", body=_file(_moved_grid_a(w)) | {"dry_run": "true"}
        ),
        # Forbidden role; a data admin of district B is refused per feature (see tests).
        out_of_scope=lambda w: Probe("grid_worker_a", body=_file(_moved_grid_a(w)), expect=403),
    )
)
register(
    EndpointCase(
        "POST",
        "/api/v1/grid/grids/{grid_id}/members",
        in_scope=lambda w: Probe(
            "data_admin_a",
            {"grid_id": _g(w, "grid_a2")},
            body={"user_id": w.users["grid_worker_a"].pk},
        ),
        out_of_scope=lambda w: Probe(
            "data_admin_b",
            {"grid_id": _g(w, "grid_a2")},
            body={"user_id": w.users["grid_worker_a"].pk},
            expect=404,
        ),
    )
)
register(
    EndpointCase(
        "DELETE",
        "/api/v1/grid/grids/{grid_id}/members/{user_id}",
        in_scope=lambda w: Probe(
            "data_admin_a",
            {"grid_id": _g(w, "grid_a"), "user_id": w.users["grid_worker_a"].pk},
            expect=204,
        ),
        out_of_scope=lambda w: Probe(
            "data_admin_b",
            {"grid_id": _g(w, "grid_a"), "user_id": w.users["grid_worker_a"].pk},
            expect=404,
        ),
        note="the grid is district A's: another district's data admin gets 404",
    )
)


# --- Pages: the grid map, its GeoJSON feed and the grid profile -------------------------------
def _code(w: Any, key: str) -> str:
    return str(w.divisions[key].code)


register(
    EndpointCase(
        "GET",
        "/console/grids/",
        in_scope=lambda w: Probe("grid_worker_a", query={"street": _code(w, "street_a")}),
        out_of_scope=lambda w: Probe(
            "grid_worker_b", query={"street": _code(w, "street_a")}, expect=404
        ),
        note="drilling into a street without a grid in scope is not disclosed",
    )
)
register(
    EndpointCase(
        "GET",
        "/console/grids/map.geojson",
        in_scope=lambda w: Probe("grid_worker_a", query={"community": _code(w, "community_a")}),
        out_of_scope=lambda w: Probe(
            "operator_b", query={"community": _code(w, "community_a")}, expect=404
        ),
    )
)
register(
    EndpointCase(
        "GET",
        "/console/grids/{grid_id}/",
        in_scope=lambda w: Probe("grid_worker_a", {"grid_id": _g(w, "grid_a")}),
        out_of_scope=lambda w: Probe("grid_worker_a", {"grid_id": _g(w, "grid_a2")}, expect=404),
        note="a grid worker sees the profile of their own grid, not the neighbour's",
    )
)
register(
    EndpointCase(
        "GET",
        "/console/grids/import/",
        in_scope=lambda w: Probe("data_admin_a"),
        out_of_scope=lambda w: Probe("grid_worker_a", expect=404),
        note="the import page is for data and system administrators; the import itself is "
        "limited to the actor's territory (test_grid_admin)",
    )
)
