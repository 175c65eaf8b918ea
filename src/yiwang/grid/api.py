"""Grid API: list, detail, GeoJSON export and import (scoped and audited)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.pagination import paginate

from yiwang.accounts.types import AuthedRequest
from yiwang.core import audit
from yiwang.core.api import PageNumber, error_responses
from yiwang.core.errors import DomainError
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
    field: str = ""
    grids: list[str] = []


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
    move: bool = False


class MemberOut(Schema):
    grid: str
    user_id: int
    role: str


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


IMPORT_DESCRIPTION = (
    "Every feature is validated. Refused features (unreadable, not a polygon, invalid or "
    "self-intersecting, unknown community, a community outside your territory, bad or "
    "duplicate code) are reported with their index, location and the property at fault "
    "(`field`); overlaps between features and with grids already stored (`grids` names "
    "them), and gaps enclosed by the new and stored grids of the same communities, are "
    "reported with area (m²) and location. A data administrator imports only under the "
    "divisions of their post; the system administrator anywhere. `dry_run` reports without "
    "writing. See docs/grids.md."
)


def _report(
    request: AuthedRequest,
    data: Any,
    *,
    code_property: str,
    name_property: str,
    community_property: str,
    community_code: str,
    dry_run: bool,
    source: str,
) -> dict[str, Any]:
    report = actions.do_import_grids(
        actor=request.user,
        data=data,
        mapping=actions.PropertyMapping(
            code=code_property or "code",
            name=name_property or "name",
            community=community_property or "community",
        ),
        community_code=community_code,
        dry_run=dry_run,
        source=source,
    )
    return report.as_dict()


@router.post(
    "/grids/import",
    response={200: GridImportOut, **ERRORS},
    summary="Import grids from a GeoJSON FeatureCollection in a JSON body (data/system admin)",
    description=IMPORT_DESCRIPTION
    + " The JSON body is limited like every API body (2 MB by default); send larger files "
    "to `POST /grids/import/file`.",
)
def import_grids(request: AuthedRequest, payload: GridImportIn) -> Any:
    return _report(
        request,
        payload.data,
        code_property=payload.code_property,
        name_property=payload.name_property,
        community_property=payload.community_property,
        community_code=payload.community_code,
        dry_run=payload.dry_run,
        source="api",
    )


_TRUE = {"1", "true", "yes", "on"}


@router.post(
    "/grids/import/file",
    response={200: GridImportOut, **ERRORS},
    summary="Import grids from an uploaded GeoJSON file (multipart; data/system admin)",
    description=IMPORT_DESCRIPTION
    + " Send `multipart/form-data` with the GeoJSON in the `file` part (up to 50 MB, "
    "`YIWANG_GRID_IMPORT_MAX_BYTES`; larger bodies get 413 `body_too_large`) and the options "
    "as form fields.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "code_property": {"type": "string", "default": "code"},
                            "name_property": {"type": "string", "default": "name"},
                            "community_property": {"type": "string", "default": "community"},
                            "community_code": {"type": "string", "default": ""},
                            "dry_run": {"type": "boolean", "default": False},
                        },
                    }
                }
            },
        }
    },
)
def import_grids_file(request: AuthedRequest) -> Any:
    actions.require_grid_admin(request.user)
    limit = actions.import_max_bytes()
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        size = 0
    if size > limit + (1 << 16):  # the form fields and multipart framing around the file
        raise DomainError(
            _("The request body is %(size)d bytes; the limit is %(limit)d.")
            % {"size": size, "limit": limit},
            code="body_too_large",
            status=413,
        )
    ctype = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    upload = request.FILES.get("file") if ctype == "multipart/form-data" else None
    data = actions.read_geojson_upload(upload)
    form = request.POST
    return _report(
        request,
        data,
        code_property=form.get("code_property", ""),
        name_property=form.get("name_property", ""),
        community_property=form.get("community_property", ""),
        community_code=form.get("community_code", ""),
        dry_run=form.get("dry_run", "").strip().lower() in _TRUE,
        source=f"api:{getattr(upload, 'name', '')}"[:200],
    )


@router.get("/grids/{grid_id}", response={200: GridOut, **ERRORS})
def get_grid(request: AuthedRequest, grid_id: int) -> Any:
    return selectors.access_grid(request.user, grid_id)


@router.post(
    "/grids/{grid_id}/members",
    response={200: MemberOut, **ERRORS},
    summary="Assign a grid worker or leader to a grid (data/system admin)",
    description="The grid and the grid worker must both be in your territory and the worker's "
    "own division must cover the grid (422 on `user_id` otherwise); a grid outside your "
    "territory is 404. `move: true` also takes the worker off every other grid. Audited.",
)
def add_member(request: AuthedRequest, grid_id: int, payload: MemberIn) -> Any:
    m = actions.do_assign_member(
        actor=request.user,
        grid_id=grid_id,
        user_id=payload.user_id,
        role=payload.role,
        move=payload.move,
    )
    return {"grid": m.grid.code, "user_id": m.user_id, "role": m.role}


@router.delete(
    "/grids/{grid_id}/members/{user_id}",
    response={204: None, **ERRORS},
    summary="Remove a grid worker or leader from a grid (data/system admin)",
    description="The grid leaves the worker's scope at once. 404 for a grid outside your "
    "territory or a user who is not a member of it. Audited.",
)
def remove_member(request: AuthedRequest, grid_id: int, user_id: int) -> Any:
    actions.do_remove_member(actor=request.user, grid_id=grid_id, user_id=user_id)
    return Status(204, None)
