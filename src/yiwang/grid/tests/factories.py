"""Synthetic grid layers for tests and the demo: rectangles tiling a box, row by row."""

from __future__ import annotations

from typing import Any


def rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def tiled_collection(
    community_codes: list[str],
    *,
    cols: int = 2,
    rows: int = 2,
    origin: tuple[float, float] = (120.10, 30.30),
    size: float = 0.005,
    with_codes: bool = False,
) -> dict[str, Any]:
    """Each community gets ``cols × rows`` square grids, communities side by side west→east."""
    feats = []
    x_origin, y_top = origin
    for ci, code in enumerate(community_codes):
        seq = 0
        for r in range(rows):
            for c in range(cols):
                seq += 1
                x0 = x_origin + (ci * cols + c) * size
                y1 = y_top - r * size
                props: dict[str, Any] = {"community": code, "name": f"{code[-3:]}-{seq:02d}"}
                if with_codes:
                    props["code"] = f"{code}{seq:03d}"
                feats.append(
                    {
                        "type": "Feature",
                        "properties": props,
                        "geometry": rect(x0, y1 - size, x0 + size, y1),
                    }
                )
    return {"type": "FeatureCollection", "features": feats}
