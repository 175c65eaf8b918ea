"""Units of measure for number facts, and conversion between units of one dimension.

Money is kept in 元, 万元 or 亿元 and converts freely; a percentage never converts to a money
amount or a headcount: comparing across dimensions is an error, not a silent coercion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    symbol: str
    dimension: str
    factor: float  # size of one unit in the dimension's base unit
    en: str


UNITS: dict[str, Unit] = {
    u.symbol: u
    for u in (
        Unit("元", "money", 1.0, "yuan"),
        Unit("万元", "money", 1e4, "×10k yuan"),
        Unit("亿元", "money", 1e8, "×100M yuan"),
        Unit("人", "headcount", 1.0, "persons"),
        Unit("%", "ratio", 0.01, "%"),
        Unit("平方米", "area", 1.0, "m²"),
        Unit("件", "items", 1.0, "items"),
    )
}

ALIASES: dict[str, str] = {
    "yuan": "元",
    "cny": "元",
    "wan_yuan": "万元",
    "万": "万元",
    "yi_yuan": "亿元",
    "persons": "人",
    "people": "人",
    "名": "人",
    "percent": "%",
    "％": "%",
    "m2": "平方米",
    "㎡": "平方米",
    "项": "件",
    "items": "件",
}

DIMENSION_LABELS: dict[str, tuple[str, str]] = {
    "money": ("金额", "money"),
    "headcount": ("人数", "headcount"),
    "ratio": ("比例", "ratio"),
    "area": ("面积", "area"),
    "items": ("数量", "count of items"),
    "": ("无单位", "no unit"),
}


class UnitError(ValueError):
    pass


def get_unit(name: str) -> Unit:
    key = ALIASES.get(name.strip().lower(), ALIASES.get(name.strip(), name.strip()))
    try:
        return UNITS[key]
    except KeyError:
        known = ", ".join(UNITS)
        raise UnitError(f"unknown unit {name!r} (known: {known})") from None


def dimension(unit: str | None) -> str:
    return "" if unit is None else get_unit(unit).dimension


def factor(unit: str | None) -> float:
    return 1.0 if unit is None else get_unit(unit).factor


def convert(amount: float, from_unit: str | None, to_unit: str | None) -> float:
    """``amount`` in ``from_unit`` expressed in ``to_unit``; UnitError across dimensions."""
    if from_unit == to_unit:
        return float(amount)
    f = None if from_unit is None else get_unit(from_unit)
    t = None if to_unit is None else get_unit(to_unit)
    if f is not None and t is not None and f.symbol == t.symbol:
        return float(amount)
    fd = f.dimension if f else ""
    td = t.dimension if t else ""
    if fd != td:
        raise UnitError(
            f"unit mismatch: {from_unit or 'a plain number'} ({fd or 'no unit'}) "
            f"cannot be compared with {to_unit or 'a plain number'} ({td or 'no unit'})"
        )
    ff = f.factor if f else 1.0
    tf = t.factor if t else 1.0
    if ff == tf:
        return float(amount)
    if ff > tf:  # e.g. 万元 → 元: multiply by an exact integer ratio where there is one
        ratio = ff / tf
        return float(amount) * ratio
    return float(amount) / (tf / ff)


_QUANTITY = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(\S*)\s*$")


def parse_quantity(text: str) -> tuple[float, str | None]:
    """``"100万元"`` → ``(100.0, "万元")``; ``"3"`` → ``(3.0, None)``."""
    m = _QUANTITY.match(text)
    if not m:
        raise UnitError(f"not a quantity: {text!r} (write e.g. 100万元 or 3%)")
    number, unit = m.group(1), m.group(2)
    return float(number), (get_unit(unit).symbol if unit else None)


def format_number(x: float) -> str:
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x)}"
    return f"{x:.6g}" if abs(x) >= 1e6 else f"{round(x, 6):g}"


def format_quantity(x: float, unit: str | None, lang: str = "zh") -> str:
    n = format_number(x)
    if unit is None:
        return n
    if lang == "en":
        u = get_unit(unit)
        if u.symbol in ("万元", "亿元", "元"):
            return f"{n} {u.symbol}"
        return f"{n}{u.en}" if u.en == "%" else f"{n} {u.en}"
    return f"{n}{unit}"
