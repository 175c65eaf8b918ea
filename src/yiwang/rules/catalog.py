"""The fact catalog: which facts rules may test, their type, unit, period and labels.

A fact reference in a rule is the fact's name, and for a periodic fact its period:
``revenue@FY-1`` (the fiscal year before the as-of date's), ``revenue@FY2023`` (that year).
Entities' facts are keyed by absolute period (``revenue@FY2023``); a bulk fact table has one
column per key, named by :func:`column_name` (``revenue__fy2023``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yiwang.rules import units
from yiwang.rules.errors import FactError, Problem, RuleError

CATALOG_VERSION = 1
FACT_TYPES = ("number", "date", "code", "enum", "boolean")
PERIODS = ("FY",)
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
REF_RE = re.compile(r"^([a-z][a-z0-9_]{0,62})(?:@FY(?:(-\d{1,2})|(\d{4})))?$")

FactValue = float | dt.date | str | bool


@dataclass(frozen=True)
class Label:
    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang.startswith("en") else self.zh

    @classmethod
    def parse(cls, raw: Any, default: str = "") -> Label:
        if raw is None:
            return cls(default, default)
        if isinstance(raw, str):
            return cls(raw, raw)
        if isinstance(raw, Mapping):
            zh = (
                raw.get("zh")
                or raw.get("zh-Hans")
                or raw.get("zh_Hans")
                or raw.get("en")
                or default
            )
            en = raw.get("en") or zh
            return cls(str(zh), str(en))
        raise TypeError("a label is a string or {zh: ..., en: ...}")

    def to_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}


@dataclass(frozen=True)
class FactSpec:
    name: str
    type: str
    label: Label
    unit: str | None = None
    period: str | None = None
    values: tuple[str, ...] = ()
    ordered: bool = False
    source: str = ""
    value_labels: Mapping[str, Label] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "type": self.type, "label": self.label.to_dict()}
        if self.unit:
            d["unit"] = self.unit
        if self.period:
            d["period"] = self.period
        if self.values:
            d["values"] = list(self.values)
            d["ordered"] = self.ordered
        if self.source:
            d["source"] = self.source
        return d


@dataclass(frozen=True)
class FactRef:
    """A reference to a fact: ``name``, ``name@FY-1`` (relative) or ``name@FY2023``."""

    name: str
    back: int | None = None  # FY-back, relative to the as-of date's fiscal year
    year: int | None = None  # an absolute fiscal year

    @classmethod
    def parse(cls, text: str) -> FactRef:
        m = REF_RE.match(text.strip())
        if not m:
            raise ValueError(
                f"not a fact reference: {text!r} (write name, name@FY-1 or name@FY2023)"
            )
        name, rel, year = m.groups()
        if rel is not None:
            return cls(name, back=-int(rel))
        if year is not None:
            return cls(name, year=int(year))
        if text.strip().endswith("@FY"):
            return cls(name, back=0)
        return cls(name)

    @property
    def periodic(self) -> bool:
        return self.back is not None or self.year is not None

    @property
    def text(self) -> str:
        if self.back is not None:
            return f"{self.name}@FY-{self.back}" if self.back else f"{self.name}@FY-0"
        if self.year is not None:
            return f"{self.name}@FY{self.year}"
        return self.name

    def fiscal_year(self, as_of: dt.date) -> int | None:
        if self.year is not None:
            return self.year
        if self.back is not None:
            return as_of.year - self.back
        return None

    def key(self, as_of: dt.date) -> str:
        """The absolute key of this fact at ``as_of``: ``revenue@FY2023``."""
        return fact_key(self.name, self.fiscal_year(as_of))

    def __str__(self) -> str:
        return self.text


def fact_key(name: str, year: int | None) -> str:
    return name if year is None else f"{name}@FY{year}"


def column_name(key: str) -> str:
    """The fact table column for an absolute fact key: ``revenue@FY2023`` → ``revenue__fy2023``."""
    name, _, period = key.partition("@")
    return f"{name}__{period.lower()}" if period else name


def key_of_column(column: str) -> str:
    name, sep, period = column.partition("__")
    return f"{name}@{period.upper()}" if sep else column


class Catalog:
    """The declared facts. Build with :meth:`from_dict` or :meth:`load` (JSON or YAML)."""

    def __init__(
        self, facts: list[FactSpec], version: int = CATALOG_VERSION, name: str = ""
    ) -> None:
        self.version = version
        self.name = name
        self.facts: dict[str, FactSpec] = {f.name: f for f in facts}

    def __contains__(self, name: object) -> bool:
        return name in self.facts

    def __getitem__(self, name: str) -> FactSpec:
        return self.facts[name]

    def __len__(self) -> int:
        return len(self.facts)

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], name: str = "") -> Catalog:
        problems: list[Problem] = []
        version = raw.get("catalog_version", raw.get("version", CATALOG_VERSION))
        if version != CATALOG_VERSION:
            problems.append(
                Problem("catalog_version", f"unsupported catalog version {version!r}; expected 1")
            )
        items = raw.get("facts")
        if not isinstance(items, list):
            raise RuleError([Problem("facts", "a catalog has a list 'facts'")])
        specs: list[FactSpec] = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            path = f"facts[{i}]"
            spec = _parse_spec(item, path, problems)
            if spec is None:
                continue
            if spec.name in seen:
                problems.append(Problem(path, "duplicate fact name", fact=spec.name))
            seen.add(spec.name)
            specs.append(spec)
        if problems:
            raise RuleError(problems)
        return cls(specs, version=int(version), name=name or str(raw.get("name", "")))

    @classmethod
    def load(cls, path: str | Path) -> Catalog:
        p = Path(path)
        return cls.from_dict(load_data(p), name=str(raw_name(p)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "catalog_version": self.version,
            "facts": [f.to_dict() for f in self.facts.values()],
        }

    def spec_for_key(self, key: str) -> tuple[FactSpec, int | None]:
        name, _, period = key.partition("@")
        spec = self.facts[name]
        year = int(period[2:]) if period else None
        return spec, year

    def normalize(
        self, raw: Mapping[str, Any], as_of: dt.date, *, strict: bool = True
    ) -> dict[str, FactValue]:
        """Entity facts as ``{absolute key: typed value}``; missing values are left out.

        Accepts ``{"revenue@FY2023": 1200}``, ``{"revenue@FY-1": 1200}`` (relative to
        ``as_of``), ``{"revenue": {"FY2023": 1200}}``, numbers with units as
        ``{"amount": 1200, "unit": "万元"}`` or ``"1200万元"``, dates as ISO strings.
        ``None`` (and NaN) mean unknown. Facts not in the catalog are an error when
        ``strict``, ignored otherwise.
        """
        out: dict[str, FactValue] = {}
        problems: list[Problem] = []
        for raw_key, value in raw.items():
            key = str(raw_key)
            if "@" not in key and isinstance(value, Mapping) and key in self.facts:
                spec = self.facts[key]
                if spec.period and not ({"amount", "unit"} >= set(value)):
                    for period, v in value.items():
                        self._put(out, problems, f"{key}@{period}", v, as_of, strict)
                    continue
            self._put(out, problems, key, value, as_of, strict)
        if problems:
            raise FactError(problems)
        return out

    def _put(
        self,
        out: dict[str, FactValue],
        problems: list[Problem],
        key: str,
        value: Any,
        as_of: dt.date,
        strict: bool,
    ) -> None:
        try:
            ref = FactRef.parse(key)
        except ValueError as e:
            if strict:
                problems.append(Problem(key, str(e), fact=key))
            return
        spec = self.facts.get(ref.name)
        if spec is None:
            if strict:
                problems.append(Problem(key, "unknown fact (not in the catalog)", fact=ref.name))
            return
        if bool(spec.period) != ref.periodic:
            problems.append(
                Problem(
                    key,
                    "a periodic fact needs a period (name@FY2023)"
                    if spec.period
                    else "this fact has no period",
                    fact=ref.name,
                )
            )
            return
        abs_key = ref.key(as_of)
        try:
            typed = coerce_value(spec, value)
        except (TypeError, ValueError) as e:
            problems.append(Problem(key, str(e), fact=ref.name))
            return
        if typed is None:
            return
        if abs_key in out and out[abs_key] != typed:
            problems.append(
                Problem(key, f"given twice as {abs_key} with different values", fact=ref.name)
            )
            return
        out[abs_key] = typed


def coerce_value(spec: FactSpec, value: Any) -> FactValue | None:
    """A raw value as the fact's type, in the fact's unit; ``None`` for unknown."""
    if value is None:
        return None
    t = spec.type
    if t == "number":
        if isinstance(value, bool):
            raise TypeError(f"expected a number, got {value!r}")
        if isinstance(value, int | float):
            x = float(value)
        elif isinstance(value, Mapping):
            if "amount" not in value:
                raise TypeError("a number with a unit is {amount: ..., unit: ...}")
            amount = value["amount"]
            if amount is None:
                return None
            if isinstance(amount, bool) or not isinstance(amount, int | float):
                raise TypeError(f"expected a number, got {amount!r}")
            x = units.convert(float(amount), value.get("unit"), spec.unit)
        elif isinstance(value, str):
            amount_f, unit = units.parse_quantity(value)
            if unit is None and spec.unit is not None:
                x = amount_f
            else:
                x = units.convert(amount_f, unit, spec.unit)
        else:
            raise TypeError(f"expected a number, got {value!r}")
        if math.isnan(x):
            return None
        if math.isinf(x):
            raise ValueError("a number fact cannot be infinite")
        return x
    if t == "date":
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"expected a date YYYY-MM-DD, got {value!r}") from None
        raise TypeError(f"expected a date, got {value!r}")
    if t == "boolean":
        if isinstance(value, bool):
            return value
        raise TypeError(f"expected true or false, got {value!r}")
    if t in ("code", "enum"):
        if not isinstance(value, str):
            hint = " (quote codes in YAML: '0310' would be read as a number)"
            raise TypeError(f"expected a {t} string, got {value!r}{hint}")
        s = value
        if t == "enum" and s not in spec.values:
            raise ValueError(f"{s!r} is not one of {', '.join(spec.values)}")
        return s
    raise TypeError(f"unknown fact type {t!r}")


def _parse_spec(item: Any, path: str, problems: list[Problem]) -> FactSpec | None:
    if not isinstance(item, Mapping):
        problems.append(Problem(path, "a fact is a mapping with name and type"))
        return None
    name = item.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        problems.append(
            Problem(path, f"fact name {name!r} must be lower_snake_case ([a-z][a-z0-9_]*)")
        )
        return None
    ftype = item.get("type")
    if ftype not in FACT_TYPES:
        problems.append(
            Problem(path, f"type {ftype!r} is not one of {', '.join(FACT_TYPES)}", fact=name)
        )
        return None
    unit = item.get("unit")
    if unit is not None:
        if ftype != "number":
            problems.append(Problem(path, "only number facts have a unit", fact=name))
        try:
            unit = units.get_unit(str(unit)).symbol
        except units.UnitError as e:
            problems.append(Problem(path, str(e), fact=name))
            unit = None
    period = item.get("period")
    if period is not None and period not in PERIODS:
        problems.append(Problem(path, f"period {period!r} is not one of {PERIODS}", fact=name))
        period = None
    values: tuple[str, ...] = ()
    value_labels: dict[str, Label] = {}
    if ftype == "enum":
        raw_values = item.get("values")
        if not isinstance(raw_values, list) or not raw_values:
            problems.append(Problem(path, "an enum fact lists its values", fact=name))
        else:
            for v in raw_values:
                if isinstance(v, Mapping):
                    code = str(v.get("value"))
                    value_labels[code] = Label.parse(v.get("label"), code)
                    values += (code,)
                else:
                    values += (str(v),)
            if len(set(values)) != len(values):
                problems.append(Problem(path, "an enum's values must be distinct", fact=name))
    elif "values" in item:
        problems.append(Problem(path, "only enum facts list values", fact=name))
    try:
        label = Label.parse(item.get("label"), name)
    except TypeError as e:
        problems.append(Problem(path, str(e), fact=name))
        label = Label(name, name)
    return FactSpec(
        name=name,
        type=str(ftype),
        label=label,
        unit=unit,
        period=period,
        values=values,
        ordered=bool(item.get("ordered", False)),
        source=str(item.get("source", "")),
        value_labels=value_labels,
    )


def load_data(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_load(text)
    return json.loads(text)


def raw_name(path: Path) -> str:
    return path.stem
