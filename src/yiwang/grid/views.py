"""Grid pages: the drill-down map (street → community → grid), its GeoJSON feed, and the grid
profile with its 人/地/物/事/组织 counts.

The counts come from ``grid.counts``, where the apps above grid (the registry: 人, 地, 物,
组织; cases: 事, open and overdue) register them at start-up; grid imports none of those
apps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import shapely
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from shapely.geometry import mapping, shape

from yiwang.accounts.roles import Cap
from yiwang.accounts.types import AuthedRequest
from yiwang.core.errors import ValidationFailed
from yiwang.core.masking import mask_name
from yiwang.grid import actions
from yiwang.grid import counts as grid_counts
from yiwang.grid.models import Grid
from yiwang.grid.selectors import access_grid, feature_collection, list_grids_for
from yiwang.web.views import requires

STREET_CODE = re.compile(r"\d{9}")
COMMUNITY_CODE = re.compile(r"\d{12}")
SNAP_DEGREES = 1e-6


@dataclass
class Unit:
    """One region on the map at the current level: a street, a community or a grid."""

    code: str
    name: str
    url: str
    counts: dict[str, int] = field(default_factory=dict)
    grids: list[Grid] = field(default_factory=list)
    #: the counts in the order of the map's metrics (the table's cells)
    row: list[int] = field(default_factory=list)

    def value(self, metric: str) -> int:
        return self.counts.get(metric, 0)


@dataclass
class Drill:
    """Where the map is: the level shown, the grids under it and the breadcrumb above it."""

    level: str  # street | community | grid
    grids: QuerySet[Grid]
    crumbs: list[tuple[str, str]]  # (label, url); the last one is the current place
    street: str = ""
    community: str = ""


def _map_url(**params: str) -> str:
    base = reverse("grid:map")
    params = {k: v for k, v in params.items() if v}
    return f"{base}?{urlencode(params)}" if params else base


def _street_name(g: Grid) -> str:
    parent = g.community.parent
    return parent.name if parent is not None else g.code[:9]


def drill(request: AuthedRequest) -> Drill:
    """The scoped grids under ``?street=``/``?community=``; 404 when the filter is malformed
    or names a place with no grid in the actor's scope (not disclosed)."""
    grids = list_grids_for(request.user).filter(active=True).select_related("community__parent")
    street = request.GET.get("street", "").strip()
    community = request.GET.get("community", "").strip()
    crumbs: list[tuple[str, str]] = [(_("All my grids"), _map_url())]
    if community:
        if not COMMUNITY_CODE.fullmatch(community):
            raise Http404()
        grids = grids.filter(community__code=community)
        first = grids.first()
        if first is None:
            raise Http404()
        street = community[:9]
        crumbs.append((_street_name(first), _map_url(street=street)))
        crumbs.append((first.community.name, _map_url(community=community)))
        return Drill("grid", grids, crumbs, street=street, community=community)
    if street:
        if not STREET_CODE.fullmatch(street):
            raise Http404()
        grids = grids.filter(code__startswith=street)
        first = grids.first()
        if first is None:
            raise Http404()
        crumbs.append((_street_name(first), _map_url(street=street)))
        return Drill("community", grids, crumbs, street=street)
    return Drill("street", grids, crumbs)


def units(d: Drill, counts: dict[int, dict[str, int]]) -> list[Unit]:
    """Group the drill's grids into the regions of its level, summing their counts."""
    out: dict[str, Unit] = {}
    for g in d.grids:
        if d.level == "street":
            key, name, url = g.code[:9], _street_name(g), _map_url(street=g.code[:9])
        elif d.level == "community":
            key, name = g.community.code, g.community.name
            url = _map_url(community=g.community.code)
        else:
            key, name, url = g.code, g.name, reverse("grid:profile", args=[g.pk])
        unit = out.setdefault(key, Unit(code=key, name=name, url=url))
        unit.grids.append(g)
        for metric, n in counts.get(g.pk, {}).items():
            unit.counts[metric] = unit.counts.get(metric, 0) + n
    return sorted(out.values(), key=lambda u: u.code)


def _metrics() -> list[tuple[str, Any]]:
    """(key, label) of what the map can be coloured by, registered in ``grid.counts``."""
    return [(m.key, m.label) for m in grid_counts.metrics()]


def _metric(request: HttpRequest) -> str:
    keys = [k for k, _label in _metrics()]
    m = request.GET.get("metric", "")
    return m if m in keys else (keys[0] if keys else "")


def _counts(request: AuthedRequest, grids: list[Grid]) -> dict[int, dict[str, int]]:
    return grid_counts.counts_for(request.user, [g.pk for g in grids])


@requires(Cap.REGISTRY_VIEW)
def grid_map(request: AuthedRequest) -> HttpResponse:
    d = drill(request)
    regions = units(d, _counts(request, list(d.grids)))
    metric = _metric(request)
    metrics = _metrics()
    params = {"street": d.street, "community": d.community} if d.level != "street" else {}
    data_url = reverse("grid:map_data")
    query = urlencode({k: v for k, v in params.items() if v})
    ctx = {
        "drill": d,
        "units": regions,
        "metric": metric,
        "metrics": metrics,
        "level_label": {
            "street": _("Streets"),
            "community": _("Communities"),
            "grid": _("Grids"),
        }[d.level],
        "data_url": f"{data_url}?{query}" if query else data_url,
        "map_name": "yiwang-" + (d.community or d.street or "all"),
        "totals": {k: sum(u.value(k) for u in regions) for k, _label in metrics},
        "total_row": [sum(u.value(k) for u in regions) for k, _label in metrics],
        "can_import": actions.is_grid_admin(request.user),
    }
    for u in regions:
        u.row = [u.value(k) for k, _label in metrics]
    return render(request, "grid/map.html", ctx)


def _feature(unit: Unit, level: str) -> dict[str, Any]:
    # Snap to ~0.1 m first so that neighbours whose shared edge differs in the last float
    # digits merge into one outline instead of leaving hairline seams.
    parts = shapely.set_precision([shape(g.geometry) for g in unit.grids], SNAP_DEGREES)
    geom = shapely.union_all(parts)
    return {
        "type": "Feature",
        "id": unit.code,
        "geometry": mapping(geom),
        "properties": {
            "code": unit.code,
            "name": unit.name,
            "level": level,
            "url": unit.url,
            "grids": len(unit.grids),
            **unit.counts,
        },
    }


@requires(Cap.REGISTRY_VIEW)
def grid_map_data(request: AuthedRequest) -> HttpResponse:
    """GeoJSON FeatureCollection of the regions at the current level with their counts in
    ``properties``: streets by default, communities under ``?street=``, grids under
    ``?community=``; ``?level=grid`` returns the grids themselves at any level."""
    d = drill(request)
    counts = _counts(request, list(d.grids))
    if request.GET.get("level") == "grid":
        d.level = "grid"
    if d.level == "grid":
        extra: dict[int, dict[str, Any]] = {}
        for g in d.grids:
            extra[g.pk] = {
                **counts.get(g.pk, {}),
                "level": "grid",
                "grids": 1,
                "url": reverse("grid:profile", args=[g.pk]),
            }
        fc = feature_collection(d.grids, extra)
    else:
        fc = {
            "type": "FeatureCollection",
            "features": [_feature(u, d.level) for u in units(d, counts)],
        }
    fc["level"] = d.level
    return JsonResponse(fc, json_dumps_params={"ensure_ascii": False})


@requires(Cap.REGISTRY_VIEW)
def grid_profile(request: AuthedRequest, grid_id: int) -> HttpResponse:
    grid = access_grid(request.user, grid_id)  # NotFound → 404 through requires()
    counts = _counts(request, [grid]).get(grid.pk, {})
    community = grid.community
    street = community.parent
    members = [
        {
            "username": m.user.username,
            "name": mask_name(m.user.display_name or ""),
            "role": m.get_role_display(),
            "since": m.since,
        }
        for m in grid.members.select_related("user").order_by("role", "user__username")
    ]
    q = urlencode({"grid": grid.code})
    cards = [
        {
            "key": m.key,
            "label": m.label,
            "count": counts.get(m.key, 0),
            "url": f"{reverse(m.list_url)}?{q}"
            if m.list_url and (not m.list_cap or request.user.can(m.list_cap))
            else "",
        }
        for m in grid_counts.metrics()
    ]
    ctx = {
        "grid": grid,
        "community": community,
        "street": street,
        "cards": cards,
        "members": members,
        "crumbs": [
            (_("All my grids"), _map_url()),
            (street.name if street else grid.code[:9], _map_url(street=grid.code[:9])),
            (community.name, _map_url(community=community.code)),
        ],
        "data_url": f"{reverse('grid:map_data')}?{urlencode({'community': community.code})}",
        "map_name": f"yiwang-{community.code}",
    }
    return render(request, "grid/profile.html", ctx)


def _import_context(**extra: Any) -> dict[str, Any]:
    return {
        "form": {},
        "errors": {},
        "report": None,
        "max_mb": actions.import_max_bytes() // (1024 * 1024),
        **extra,
    }


@require_http_methods(["GET", "POST"])
@requires(Cap.CONSOLE)
def grid_import(request: AuthedRequest) -> HttpResponse:
    """Upload a GeoJSON file of unit grids (data and system administrators; 404 for anyone
    else). Outside ``/api/``, so the file may be as large as ``import_max_bytes`` (50 MB)
    rather than the API's 2 MB body limit; the report is shown on the page."""
    if not actions.is_grid_admin(request.user):
        raise Http404()
    if request.method == "GET":
        return render(request, "grid/import.html", _import_context())
    limit = actions.import_max_bytes()
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit + (1 << 16):
        errors = {"file": [_("The file is larger than %(mb)d MB.") % {"mb": limit >> 20}]}
        return render(request, "grid/import.html", _import_context(errors=errors), status=413)
    form = request.POST
    try:
        data = actions.read_geojson_upload(request.FILES.get("file"))
    except ValidationFailed as exc:
        ctx = _import_context(form=form, errors=exc.fields)
        return render(request, "grid/import.html", ctx, status=422)
    report = actions.do_import_grids(
        actor=request.user,
        data=data,
        mapping=actions.PropertyMapping(
            code=form.get("code_property", "").strip() or "code",
            name=form.get("name_property", "").strip() or "name",
            community=form.get("community_property", "").strip() or "community",
        ),
        community_code=form.get("community_code", "").strip(),
        dry_run=form.get("dry_run") == "1",
        source=f"page:{getattr(request.FILES.get('file'), 'name', '')}"[:200],
    )
    ctx = _import_context(form=form, report=report.as_dict())
    return render(request, "grid/import.html", ctx)
