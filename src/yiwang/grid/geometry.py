"""Grid geometry with shapely 2: GeoJSON in and out, validation, area, numbering.

Areas use a local equal-distance approximation around the layer's mean latitude, accurate to
well under 1 % at district scale, which is what overlap/gap reports need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely import STRtree
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LNG_EQ = 111_320.0

#: Overlaps and gaps smaller than this (m²) are rounding noise between digitised neighbours.
DEFAULT_TOLERANCE_M2 = 1.0


def area_m2(geom: BaseGeometry, lat0: float | None = None) -> float:
    if geom.is_empty:
        return 0.0
    lat = lat0 if lat0 is not None else geom.centroid.y
    return float(geom.area) * M_PER_DEG_LAT * M_PER_DEG_LNG_EQ * math.cos(math.radians(lat))


def areas_m2(geoms: Any) -> NDArray[np.float64]:
    """``area_m2`` over an array of geometries at once (each at its own centroid latitude)."""
    lat = np.nan_to_num(shapely.get_y(shapely.centroid(geoms)))
    factor = M_PER_DEG_LAT * M_PER_DEG_LNG_EQ * np.cos(np.radians(lat))
    return np.asarray(np.nan_to_num(shapely.area(geoms)) * factor, dtype=np.float64)


@dataclass
class Problem:
    #: invalid | self_intersection | not_polygon | overlap | gap | duplicate_code |
    #: missing_property | outside_scope
    kind: str
    message: str
    features: list[int] = field(default_factory=list)
    area_m2: float = 0.0
    location: tuple[float, float] | None = None  # (lng, lat) of a representative point
    #: codes of stored grids involved (an overlap with a grid already in the database)
    grids: list[str] = field(default_factory=list)
    #: the feature property (by its mapped name) the problem is about, if one is
    field: str = ""  # declared last: it shadows dataclasses.field in the class body

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "features": self.features,
            "area_m2": round(self.area_m2, 1),
            "location": [round(c, 6) for c in self.location] if self.location else None,
            "field": self.field,
            "grids": self.grids,
        }


def parse_feature_collection(data: Any) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Check the GeoJSON envelope; return its features and envelope problems."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        return [], [Problem("invalid", "not a GeoJSON FeatureCollection")]
    feats = data.get("features")
    if not isinstance(feats, list):
        return [], [Problem("invalid", "FeatureCollection has no features list")]
    return feats, []


def to_polygon(feature: Any, index: int) -> tuple[BaseGeometry | None, Problem | None]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return None, Problem("invalid", f"feature {index} is not a GeoJSON Feature", [index])
    try:
        geom = shape(feature.get("geometry") or {})
    except Exception as exc:  # shapely raises several types for malformed coordinates
        return None, Problem("invalid", f"feature {index}: unreadable geometry ({exc})", [index])
    if geom.geom_type not in {"Polygon", "MultiPolygon"}:
        return None, Problem(
            "not_polygon", f"feature {index} is a {geom.geom_type}, not a polygon", [index]
        )
    if geom.is_empty:
        return None, Problem("invalid", f"feature {index} has an empty polygon", [index])
    if not geom.is_valid:
        pt = geom.representative_point() if not geom.is_empty else None
        reason = explain_validity(geom)
        kind = (
            "self_intersection"
            if "Self-intersection" in reason or "Ring Self" in reason
            else "invalid"
        )
        return None, Problem(
            kind,
            f"feature {index}: {reason}",
            [index],
            location=(pt.x, pt.y) if pt is not None else None,
        )
    return geom, None


def overlaps(
    geoms: list[BaseGeometry], ids: list[int], tol_m2: float = DEFAULT_TOLERANCE_M2
) -> list[Problem]:
    """Pairs of polygons that share more than ``tol_m2`` of area."""
    if len(geoms) < 2:
        return []
    tree = STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    out: list[Problem] = []
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a >= b:
            continue
        inter = geoms[a].intersection(geoms[b])
        area = area_m2(inter)
        if area > tol_m2:
            pt = inter.representative_point()
            out.append(
                Problem(
                    "overlap",
                    f"features {ids[a]} and {ids[b]} overlap by {area:.0f} m²",
                    [ids[a], ids[b]],
                    area,
                    (pt.x, pt.y),
                )
            )
    return out


def _array(geoms: list[BaseGeometry]) -> NDArray[Any]:
    out = np.empty(len(geoms), dtype=object)
    out[:] = geoms
    return out


def overlaps_stored(
    geoms: list[BaseGeometry],
    ids: list[int],
    stored: list[BaseGeometry],
    labels: list[str],
    tol_m2: float = DEFAULT_TOLERANCE_M2,
) -> list[Problem]:
    """Features that share more than ``tol_m2`` with grids already stored.

    ``labels`` name the stored grids (their code, or ``""`` for one the reader may not see).
    Vectorised: one STRtree query over all features, then one intersection and one area
    computation over all candidate pairs, so thousands of stored grids cost milliseconds.
    """
    if not geoms or not stored:
        return []
    tree = STRtree(stored)
    left, right = tree.query(geoms, predicate="intersects")
    if left.size == 0:
        return []
    inter = shapely.intersection(_array(geoms)[left], _array(stored)[right])
    area = areas_m2(inter)
    keep = np.nonzero(area > tol_m2)[0]
    if keep.size == 0:
        return []
    pts = shapely.point_on_surface(inter[keep])
    xs, ys = shapely.get_x(pts), shapely.get_y(pts)
    out: list[Problem] = []
    for n, k in enumerate(keep.tolist()):
        fid, label, a = ids[int(left[k])], labels[int(right[k])], float(area[k])
        what = f"stored grid {label}" if label else "a stored grid outside your territory"
        out.append(
            Problem(
                "overlap",
                f"feature {fid} overlaps {what} by {a:.0f} m²",
                [fid],
                a,
                (float(xs[n]), float(ys[n])),
                grids=[label] if label else [],
            )
        )
    return out


def gaps(
    geoms: list[BaseGeometry],
    boundary: BaseGeometry | None = None,
    tol_m2: float = DEFAULT_TOLERANCE_M2,
    stored: list[BaseGeometry] | None = None,
) -> list[Problem]:
    """Uncovered areas: inside ``boundary`` (if given) or holes enclosed by the grids' union.

    ``stored`` are grids already in the database around the new ones (the other grids of the
    same communities): they join the union, so a hole left between a new grid and a stored
    one is found too. No boundary polygon of a community or street exists in the data model
    (divisions are codes and names only), so the import passes none and open gaps along a
    community's edge cannot be told from its outside.
    """
    if not geoms:
        return []
    union = shapely.union_all(list(geoms) + list(stored or []))
    if boundary is not None:
        missing = boundary.difference(union)
    else:
        # Holes of the union: area enclosed by grids but covered by none.
        filled = shapely.union_all([shapely.Polygon(p.exterior) for p in _polygons(union)])
        missing = filled.difference(union)
    out: list[Problem] = []
    for part in _polygons(missing):
        area = area_m2(part)
        if area > tol_m2:
            pt = part.representative_point()
            out.append(
                Problem("gap", f"an area of {area:.0f} m² is in no grid", [], area, (pt.x, pt.y))
            )
    return out


def _polygons(geom: BaseGeometry) -> list[shapely.Polygon]:
    if geom.is_empty:
        return []
    if geom.geom_type == "Polygon":
        return [geom]
    return [g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"]


def reading_order(geoms: list[BaseGeometry], row_tolerance: float | None = None) -> list[int]:
    """Indexes in 'west to east, north to south' order (DB11/T 2157 numbering).

    Centroids are banded into rows (north first) whose height defaults to half the median grid
    height; within a row, west first.
    """
    if not geoms:
        return []
    cents = np.array([[g.centroid.x, g.centroid.y] for g in geoms])
    if row_tolerance is None:
        heights = [g.bounds[3] - g.bounds[1] for g in geoms]
        row_tolerance = float(np.median(heights)) / 2 or 1e-6
    top = cents[:, 1].max()
    rows = np.floor((top - cents[:, 1]) / row_tolerance).astype(int)
    return sorted(range(len(geoms)), key=lambda i: (rows[i], cents[i, 0]))


def geometry_fields(geom: BaseGeometry) -> dict[str, Any]:
    c = geom.centroid
    minx, miny, maxx, maxy = geom.bounds
    return {
        "geometry": mapping(geom),
        "area_m2": round(area_m2(geom), 1),
        "centroid_lng": c.x,
        "centroid_lat": c.y,
        "min_lng": minx,
        "min_lat": miny,
        "max_lng": maxx,
        "max_lat": maxy,
    }


def to_geojson_geometry(value: Any) -> dict[str, Any]:
    """Stored geometry JSON (already GeoJSON) normalised through shapely."""
    return dict(mapping(shape(value)))
