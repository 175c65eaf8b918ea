"""Grid pages: the drill-down map (street → community → grid), its GeoJSON feed, and the grid
profile with its 人/地/物/事/组织 counts.

The counts come from the registry (``grid_profile_counts``): these pages present registry data
over grids, so this web module reads registry selectors; the grid models, selectors and actions
stay free of registry imports.
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
from django.utils.translation import gettext_lazy
from shapely.geometry import mapping, shape

from yiwang.accounts.roles import Cap
from yiwang.accounts.types import AuthedRequest
from yiwang.core.masking import mask_name
from yiwang.grid.models import Grid
from yiwang.grid.selectors import access_grid, feature_collection, list_grids_for
from yiwang.registry.selectors import grid_profile_counts
from yiwang.web.views import requires

#: The counts a map can be coloured by, in the order 人, 地, 物, 组织 (事 arrives with cases).
METRICS: list[tuple[str, Any]] = [
    ("people", gettext_lazy("People")),
    ("places", gettext_lazy("Places")),
    ("things", gettext_lazy("City parts")),
    ("organisations", gettext_lazy("Organisations")),
]
METRIC_KEYS = [k for k, _label in METRICS]
STREET_CODE = re.compile(r"\d{9}")
COMMUNITY_CODE = re.compile(r"\d{12}")
SNAP_DEGREES = 1e-6


@dataclass
class Unit:
    """One region on the map at the current level: a street, a community or a grid."""

    code: str
    name: str
    url: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(METRIC_KEYS, 0))
    grids: list[Grid] = field(default_factory=list)

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
            if metric in unit.counts:
                unit.counts[metric] += n
    return sorted(out.values(), key=lambda u: u.code)


def _metric(request: HttpRequest) -> str:
    m = request.GET.get("metric", "")
    return m if m in METRIC_KEYS else METRIC_KEYS[0]


@requires(Cap.REGISTRY_VIEW)
def grid_map(request: AuthedRequest) -> HttpResponse:
    d = drill(request)
    regions = units(d, grid_profile_counts(request.user))
    metric = _metric(request)
    params = {"street": d.street, "community": d.community} if d.level != "street" else {}
    data_url = reverse("grid:map_data")
    query = urlencode({k: v for k, v in params.items() if v})
    ctx = {
        "drill": d,
        "units": regions,
        "metric": metric,
        "metrics": METRICS,
        "level_label": {
            "street": _("Streets"),
            "community": _("Communities"),
            "grid": _("Grids"),
        }[d.level],
        "data_url": f"{data_url}?{query}" if query else data_url,
        "map_name": "yiwang-" + (d.community or d.street or "all"),
        "totals": {k: sum(u.value(k) for u in regions) for k in METRIC_KEYS},
    }
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
    counts = grid_profile_counts(request.user)
    if request.GET.get("level") == "grid":
        d.level = "grid"
    if d.level == "grid":
        extra: dict[int, dict[str, Any]] = {}
        for g in d.grids:
            extra[g.pk] = {
                **dict.fromkeys(METRIC_KEYS, 0),
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
    counts = {**dict.fromkeys(METRIC_KEYS, 0), **grid_profile_counts(request.user).get(grid.pk, {})}
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
    lists = {
        "people": reverse("registry:people"),
        "places": reverse("registry:places"),
        "things": reverse("registry:things"),
        "organisations": reverse("registry:organisations"),
    }
    q = urlencode({"grid": grid.code})
    cards = [
        {"key": k, "label": label, "count": counts[k], "url": f"{lists[k]}?{q}"}
        for k, label in METRICS
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
