"""grid-assign: N points into G grid polygons with the STRtree index, beside a naive loop.

No database: this measures ``yiwang.grid.spatial.GridIndex`` alone, as the import and the
re-assignment job use it. The loop baseline (per point, per polygon ``intersects``) runs on a
sample in the same process and is extrapolated to N.
"""

from __future__ import annotations

import math
import time
from typing import Any

from bench.registry import register


def _layer(
    grids: int, seed: int = 7
) -> tuple[list[int], list[Any], tuple[float, float, float, float]]:
    import numpy as np
    import shapely

    side = math.ceil(math.sqrt(grids))
    x0, y0, size = 120.0, 30.0, 0.002
    rng = np.random.default_rng(seed)
    # Jitter interior vertices so the polygons are irregular but still tile the plane.
    jx = rng.uniform(-0.3, 0.3, (side + 1, side + 1)) * size
    jy = rng.uniform(-0.3, 0.3, (side + 1, side + 1)) * size
    jx[0, :] = jx[-1, :] = jx[:, 0] = jx[:, -1] = 0
    jy[0, :] = jy[-1, :] = jy[:, 0] = jy[:, -1] = 0

    def v(i: int, j: int) -> tuple[float, float]:
        return (x0 + i * size + jx[i, j], y0 + j * size + jy[i, j])

    geoms, ids = [], []
    for i in range(side):
        for j in range(side):
            if len(geoms) == grids:
                break
            geoms.append(shapely.Polygon([v(i, j), v(i + 1, j), v(i + 1, j + 1), v(i, j + 1)]))
            ids.append(len(ids) + 1)
    return ids, geoms, (x0, y0, x0 + side * size, y0 + side * size)


@register("grid-assign", "points into grid polygons (STRtree) vs a per-polygon loop", 1_000_000)
def run(args: Any) -> dict[str, Any]:
    import numpy as np

    from yiwang.grid.spatial import GridIndex, loop_assign

    n = args.size
    grids = getattr(args, "grids", None) or 10_000
    ids, geoms, (minx, miny, maxx, maxy) = _layer(grids)
    rng = np.random.default_rng(11)
    xs = rng.uniform(minx, maxx, n)
    ys = rng.uniform(miny, maxy, n)

    t0 = time.perf_counter()
    index = GridIndex.build(ids, geoms)
    build_s = time.perf_counter() - t0
    best = math.inf
    out = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = index.assign(xs, ys)
        best = min(best, time.perf_counter() - t0)
    assert out is not None
    assigned = int((out >= 0).sum())

    sample = min(n, 300)
    t0 = time.perf_counter()
    naive = loop_assign(ids, geoms, xs[:sample], ys[:sample])
    loop_s = time.perf_counter() - t0
    agree = bool(np.array_equal(np.asarray(naive), out[:sample]))
    loop_extrapolated = loop_s / sample * n
    return {
        "points": n,
        "grids": len(geoms),
        "index_build_s": round(build_s, 3),
        "assign_s": round(best, 3),
        "points_per_s": round(n / best),
        "assigned": assigned,
        "loop_sample_points": sample,
        "loop_sample_s": round(loop_s, 3),
        "loop_extrapolated_s": round(loop_extrapolated, 1),
        "speedup_vs_loop": round(loop_extrapolated / best, 1),
        "loop_agrees_on_sample": agree,
        "goals": {"assign_s_max": 2.0, "speedup_min": 100},
        "meets_goals": best <= 2.0 and loop_extrapolated / best >= 100 and agree,
    }
