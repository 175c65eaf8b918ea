"""Coordinate systems: WGS84 (stored), GCJ-02 (AMap, Tencent) and BD-09 (Baidu), vectorised.

Mobile map SDKs in China report GCJ-02 or BD-09; Yiwang stores WGS84/CGCS2000 and records which
system the client declared. The GCJ-02 offset is a published, fixed formula; the inverse has no
closed form, so ``gcj02_to_wgs84`` iterates the forward transform (error < 1e-7° after a few
rounds). No maintained library does this (see docs/adr/0007-coordinates-and-geometry.md).
Outside mainland China GCJ-02 equals WGS84.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

A = 6378245.0
EE = 0.00669342162296594323
X_PI = np.pi * 3000.0 / 180.0

Arr = NDArray[np.float64]


class CoordSystem(StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


def _out_of_china(lng: Arr, lat: Arr) -> NDArray[np.bool_]:
    return (lng < 72.004) | (lng > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _transform_lat(x: Arr, y: Arr) -> Arr:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lng(x: Arr, y: Arr) -> Arr:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _delta(lng: Arr, lat: Arr) -> tuple[Arr, Arr]:
    dlat = _transform_lat(lng - 105.0, lat - 35.0)
    dlng = _transform_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((A * (1 - EE)) / (magic * sqrtmagic) * np.pi)
    dlng = (dlng * 180.0) / (A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = _out_of_china(lng, lat)
    return np.where(outside, 0.0, dlng), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lng: ArrayLike, lat: ArrayLike) -> tuple[Arr, Arr]:
    x, y = np.asarray(lng, dtype=float), np.asarray(lat, dtype=float)
    dlng, dlat = _delta(x, y)
    return x + dlng, y + dlat


def gcj02_to_wgs84(lng: ArrayLike, lat: ArrayLike, rounds: int = 4) -> tuple[Arr, Arr]:
    gx, gy = np.asarray(lng, dtype=float), np.asarray(lat, dtype=float)
    wx, wy = gx.copy(), gy.copy()
    for _ in range(rounds):
        fx, fy = wgs84_to_gcj02(wx, wy)
        wx, wy = wx - (fx - gx), wy - (fy - gy)
    return wx, wy


def bd09_to_gcj02(lng: ArrayLike, lat: ArrayLike) -> tuple[Arr, Arr]:
    x = np.asarray(lng, dtype=float) - 0.0065
    y = np.asarray(lat, dtype=float) - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def gcj02_to_bd09(lng: ArrayLike, lat: ArrayLike) -> tuple[Arr, Arr]:
    x, y = np.asarray(lng, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def to_wgs84(lng: ArrayLike, lat: ArrayLike, system: str) -> tuple[Arr, Arr]:
    """Convert coordinates declared in ``system`` to WGS84 (arrays in, arrays out)."""
    sys_ = CoordSystem(system)
    if sys_ is CoordSystem.WGS84:
        return np.asarray(lng, dtype=float), np.asarray(lat, dtype=float)
    if sys_ is CoordSystem.GCJ02:
        return gcj02_to_wgs84(lng, lat)
    return gcj02_to_wgs84(*bd09_to_gcj02(lng, lat))


def point_to_wgs84(lng: float, lat: float, system: str) -> tuple[float, float]:
    x, y = to_wgs84([lng], [lat], system)
    return float(x[0]), float(y[0])
