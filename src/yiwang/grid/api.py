"""Grid API: list, detail, GeoJSON export and import (scoped and audited)."""

from __future__ import annotations

from typing import Any

from ninja import Router, Schema
from ninja.pagination import paginate

from yiwang.accounts.types import AuthedRequest
from yiwang.core import audit
from yiwang.core.api import PageNumber, error_responses
from yiwang.grid import actions, selectors

router = Router()
ERRORS: dict[int, Any] = error_responses()


class GridOut(Schema):
    id: int
    code: str
    name: str
    community_code: str
    area_m2: float
    centroid_lng: float
    centroid_lat: float
    active: bool
    version: int

    @staticmethod
    def resolve_community_code(obj: Any) -> str:
        return str(obj.community.code)


class GridImportIn(Schema):
    data: dict[str, Any]
    code_property: str = "code"
    name_property: str = "name"
    community_property: str = "community"
    community_code: str = ""
    dry_run: bool = False


class ProblemOut(Schema):
    kind: str
    message: str
    features: list[int]
    area_m2: float
    location: list[float] | None


class GridImportOut(Schema):
    dry_run: bool
    features: int
    created: int
    updated: int
    refused: int
    numbered: int
    problems: list[ProblemOut]


class MemberIn(Schema):
    user_id: int
    role: str = "worker"


@router.get("/grids", response={200: list[GridOut], **ERRORS}, summary="Grids in my scope")
@paginate(PageNumber)
def list_grids(request: AuthedRequest, community: str = "", q: str = "") -> Any:
    qs = selectors.list_grids_for(request.user)
    if community:
        qs = qs.filter(community__code=community)
    if q:
        qs = qs.filter(name__icontains=q)
    return qs


@router.get(
    "/grids.geojson", response={200: dict[str, Any], **ERRORS}, summary="My grids as GeoJSON"
)
def grids_geojson(request: AuthedRequest, community: str = "") -> Any:
    qs = selectors.list_grids_for(request.user)
    if community:
        qs = qs.filter(community__code=community)
    audit.record(
        "grid.exported", actor=request.user, object_type="grid.grid", detail={"count": qs.count()}
    )
    return selectors.feature_collection(qs)


@router.post(
    "/grids/import",
    response={200: GridImportOut, **ERRORS},
    summary="Import grids from a GeoJSON FeatureCollection (data/system admin)",
    description="Every feature is validated; refused features, overlaps and gaps are reported "
    "with area and location. `dry_run` reports without writing.",
)
def import_grids(request: AuthedRequest, payload: GridImportIn) -> Any:
    report = actions.do_import_grids(
        actor=request.user,
        data=payload.data,
        mapping=actions.PropertyMapping(
            code=payload.code_property,
            name=payload.name_property,
            community=payload.community_property,
        ),
        community_code=payload.community_code,
        dry_run=payload.dry_run,
        source="api",
    )
    return report.as_dict()


@router.get("/grids/{grid_id}", response={200: GridOut, **ERRORS})
def get_grid(request: AuthedRequest, grid_id: int) -> Any:
    return selectors.access_grid(request.user, grid_id)


@router.post(
    "/grids/{grid_id}/members",
    response={200: dict[str, Any], **ERRORS},
    summary="Assign a grid worker",
)
def add_member(request: AuthedRequest, grid_id: int, payload: MemberIn) -> Any:
    selectors.access_grid(request.user, grid_id)
    m = actions.do_assign_member(
        actor=request.user, grid_id=grid_id, user_id=payload.user_id, role=payload.role
    )
    return {"grid": m.grid.code, "user_id": m.user_id, "role": m.role}
