"""Point-in-polygon assignment of many points to grids at once (shapely 2 STRtree)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely import STRtree
from shapely.geometry.base import BaseGeometry


@dataclass
class GridIndex:
    """An immutable index of grid polygons; ``assign`` maps points to grid ids (or -1)."""

    ids: NDArray[np.int64]
    geoms: list[BaseGeometry]
    tree: STRtree

    @classmethod
    def build(cls, ids: Sequence[int], geoms: Sequence[BaseGeometry]) -> GridIndex:
        geoms = list(geoms)
        for g in geoms:
            shapely.prepare(g)
        return cls(np.asarray(ids, dtype=np.int64), geoms, STRtree(geoms))

    def assign(
        self, lngs: ArrayLike | Sequence[float | None], lats: ArrayLike | Sequence[float | None]
    ) -> NDArray[np.int64]:
        """Grid id per point, -1 outside every grid or when a coordinate is missing (None/NaN)."""
        x = np.asarray(lngs, dtype=float)
        y = np.asarray(lats, dtype=float)
        out = np.full(x.shape[0], -1, dtype=np.int64)
        if not self.geoms or x.size == 0:
            return out
        ok = np.isfinite(x) & np.isfinite(y)
        pts = shapely.points(x[ok], y[ok])
        # 'intersects' keeps points on a shared edge (they go to the first grid that has them).
        pt_idx, geom_idx = self.tree.query(pts, predicate="intersects")
        if pt_idx.size:
            first, pos = np.unique(pt_idx, return_index=True)
            assigned = np.full(pts.shape[0], -1, dtype=np.int64)
            assigned[first] = self.ids[geom_idx[pos]]
            out[ok] = assigned
        return out

    def assign_one(self, lng: float, lat: float) -> int | None:
        gid = int(self.assign([lng], [lat])[0])
        return gid if gid >= 0 else None

    def territory(self) -> BaseGeometry:
        return shapely.union_all(self.geoms)


def loop_assign(
    ids: Sequence[int], geoms: Sequence[BaseGeometry], lngs: ArrayLike, lats: ArrayLike
) -> list[int]:
    """The naive per-point, per-polygon loop — kept only as the benchmark's baseline."""
    out = []
    for x, y in zip(np.asarray(lngs).tolist(), np.asarray(lats).tolist(), strict=True):
        p = shapely.Point(x, y)
        found = -1
        for gid, g in zip(ids, geoms, strict=True):
            if g.intersects(p):
                found = gid
                break
        out.append(found)
    return out
