"""The enterprise profile: what government knows about an organisation, as rule facts.

Facts come from three places, in this order of precedence (docs/adr/0012-policies.md):

1. ``EnterpriseFact`` rows from a shared dataset or the registry (``source_kind`` dataset /
   registry) — official values, e.g. the tax bureau's revenue or an accepted correction;
2. the registry's own columns (``registered_district``/``registered_street`` from the grid the
   organisation sits in, ``industry``, ``founded_on``, ``company_size``,
   ``registered_capital``);
3. ``EnterpriseFact`` rows the enterprise declared itself (``self_declared``) — used only where
   no official value exists.

``facts_for`` returns the facts keyed as the rules engine expects (``revenue@FY2023``),
normalised against the catalog; ``profile_for`` the same with source, kind and as-of per fact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from yiwang.policies.models import EnterpriseFact, SourceKind
from yiwang.registry.models import Organisation
from yiwang.rules import Catalog, FactRef, Problem
from yiwang.rules.catalog import coerce_value
from yiwang.rules.errors import FactError

REGISTRY_SOURCE = "市场监管局企业登记信息（一网统管主体库）"
REGISTRY_FACTS = (
    "registered_district",
    "registered_street",
    "industry",
    "founded_on",
    "company_size",
    "registered_capital",
)
OFFICIAL = (SourceKind.REGISTRY, SourceKind.DATASET)


def catalog() -> Catalog:
    """The enterprise fact catalog (content/catalog.yaml), loaded once."""
    from yiwang.policies import content

    return content.catalog()


def today() -> dt.date:
    return timezone.localdate()


@dataclass
class ProfileFact:
    key: str  # revenue@FY2024
    name: str
    period: str
    value: Any
    source: str
    source_kind: str
    as_of: dt.date | None
    label_zh: str
    label_en: str
    type: str
    unit: str
    overridden: bool = False  # a self-declared value hidden by an official one

    def label(self, lang: str = "zh") -> str:
        return self.label_en if lang.startswith("en") else self.label_zh

    def to_dict(self) -> dict[str, Any]:
        v = self.value
        return {
            "key": self.key,
            "name": self.name,
            "period": self.period,
            "value": v.isoformat() if isinstance(v, dt.date) else v,
            "source": self.source,
            "source_kind": self.source_kind,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "label": {"zh": self.label_zh, "en": self.label_en},
            "type": self.type,
            "unit": self.unit,
            "overridden": self.overridden,
        }


def fact_key(name: str, period: str) -> str:
    return f"{name}@{period}" if period else name


@dataclass(slots=True)
class OrgRow:
    """The registry columns matching needs, read as plain values (the bulk path)."""

    pk: int
    name: str
    credit_code: str
    industry_code: str
    size_class: str
    founded_on: dt.date | None
    registered_capital: Decimal | None
    community_code: str


ORG_ROW_FIELDS = (
    "pk",
    "name",
    "credit_code",
    "industry_code",
    "size_class",
    "founded_on",
    "registered_capital",
    "grid__community__code",
    "place__grid__community__code",
)


def org_rows(qs: Any) -> list[OrgRow]:
    return [
        OrgRow(pk, name, cc, ind or "", size or "", fo, cap, grid_c or place_c or "")
        for pk, name, cc, ind, size, fo, cap, grid_c, place_c in qs.values_list(*ORG_ROW_FIELDS)
    ]


def _community_code(org: Organisation | OrgRow) -> str:
    if isinstance(org, OrgRow):
        return org.community_code
    grid = org.grid
    if grid is None and org.place_id is not None and org.place is not None:
        grid = org.place.grid
    return grid.community.code if grid is not None else ""


def registry_values(org: Organisation | OrgRow) -> dict[str, Any]:
    """The catalog facts the registry holds about ``org`` (missing ones left out)."""
    out: dict[str, Any] = {}
    code = _community_code(org)
    if code:
        out["registered_district"] = code[:6]
        out["registered_street"] = code[:9]
    if org.industry_code:
        out["industry"] = org.industry_code
    if org.founded_on:
        out["founded_on"] = org.founded_on
    if org.size_class:
        out["company_size"] = org.size_class
    if org.registered_capital is not None:
        out["registered_capital"] = float(org.registered_capital)
    return out


def _registry_as_of(org: Organisation) -> dt.date:
    return timezone.localtime(org.updated_at).date() if org.updated_at else today()


def _rows(orgs: Iterable[int], as_of: dt.date | None) -> list[EnterpriseFact]:
    qs = EnterpriseFact.objects.filter(organisation_id__in=list(orgs))
    if as_of is not None:
        qs = qs.filter(as_of__lte=as_of)
    return list(qs.order_by("organisation_id", "name", "period"))


def merge(
    registry: dict[str, Any], rows: Iterable[EnterpriseFact]
) -> dict[str, tuple[Any, EnterpriseFact | None]]:
    """Raw facts by key after applying the precedence rule; the row each came from."""
    official: dict[str, tuple[Any, EnterpriseFact | None]] = {}
    declared: dict[str, tuple[Any, EnterpriseFact | None]] = {}
    for r in rows:
        if r.value is None:
            continue
        (declared if r.source_kind == SourceKind.SELF_DECLARED else official)[r.key] = (r.value, r)
    out: dict[str, tuple[Any, EnterpriseFact | None]] = {k: (v, None) for k, v in registry.items()}
    out.update(official)
    for k, v in declared.items():
        out.setdefault(k, v)
    return out


def raw_facts(org: Organisation, *, as_of: dt.date | None = None) -> dict[str, Any]:
    merged = merge(registry_values(org), _rows([org.pk], as_of))
    return {k: v for k, (v, _) in merged.items()}


def facts_for(org: Organisation, *, as_of: dt.date | None = None) -> dict[str, Any]:
    """The organisation's facts, normalised (typed, absolute keys) for the rules engine."""
    return catalog().normalize(raw_facts(org, as_of=as_of), as_of or today(), strict=False)


def bulk_raw_facts(
    orgs: Sequence[Organisation | OrgRow], *, as_of: dt.date | None = None
) -> list[dict[str, Any]]:
    """``raw_facts`` for many organisations with one query for their fact rows."""
    by_org: dict[int, list[EnterpriseFact]] = {o.pk: [] for o in orgs}
    for r in _rows(by_org, as_of):
        by_org[r.organisation_id].append(r)
    out = []
    for o in orgs:
        merged = merge(registry_values(o), by_org[o.pk])
        out.append({k: v for k, (v, _) in merged.items()})
    return out


def profile_for(org: Organisation, *, as_of: dt.date | None = None) -> list[ProfileFact]:
    """Every known fact with its source, kind and as-of date, in catalog order."""
    cat = catalog()
    rows = _rows([org.pk], as_of)
    reg = registry_values(org)
    merged = merge(reg, rows)
    reg_as_of = _registry_as_of(org)
    facts: list[ProfileFact] = []
    for key, (value, row) in merged.items():
        name, _, period = key.partition("@")
        spec = cat.facts.get(name)
        if spec is None:
            continue
        facts.append(
            ProfileFact(
                key=key,
                name=name,
                period=period,
                value=_display_value(spec, value),
                source=row.source if row else REGISTRY_SOURCE,
                source_kind=row.source_kind if row else SourceKind.REGISTRY,
                as_of=row.as_of if row else reg_as_of,
                label_zh=spec.label.zh,
                label_en=spec.label.en,
                type=spec.type,
                unit=spec.unit or "",
            )
        )
    shown = {f.key for f in facts}
    for r in rows:  # self-declared values hidden by an official one, shown as such
        if (
            r.source_kind == SourceKind.SELF_DECLARED
            and r.key in shown
            and merged[r.key][1] is not r
            and r.name in cat.facts
        ):
            spec = cat.facts[r.name]
            facts.append(
                ProfileFact(
                    key=r.key,
                    name=r.name,
                    period=r.period,
                    value=r.value,
                    source=r.source,
                    source_kind=r.source_kind,
                    as_of=r.as_of,
                    label_zh=spec.label.zh,
                    label_en=spec.label.en,
                    type=spec.type,
                    unit=spec.unit or "",
                    overridden=True,
                )
            )
    order = {n: i for i, n in enumerate(cat.facts)}
    facts.sort(key=lambda f: (order.get(f.name, 10**6), f.period, f.overridden))
    return facts


def _display_value(spec: Any, value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def official_keys(org: Organisation) -> set[str]:
    """Fact keys that have an official (registry or dataset) value."""
    keys = set(registry_values(org))
    keys |= {
        r.key
        for r in EnterpriseFact.objects.filter(organisation=org, source_kind__in=OFFICIAL).exclude(
            value=None
        )
    }
    return keys


def clean_fact(name: str, value: Any, period: str = "") -> tuple[str, str, Any]:
    """Check a fact value against the catalog: (name, period, JSON value to store).

    Raises ``FactError`` naming the fact when the name is unknown, the period does not fit or
    the value has the wrong type.
    """
    cat = catalog()
    spec = cat.facts.get(name)
    key = fact_key(name, period)
    if spec is None:
        raise FactError([Problem(key, "unknown fact (not in the catalog)", fact=name)])
    if bool(spec.period) != bool(period):
        msg = (
            "a periodic fact needs a period (FY2024)" if spec.period else "this fact has no period"
        )
        raise FactError([Problem(key, msg, fact=name)])
    if period:
        try:
            ref = FactRef.parse(key)
        except ValueError as e:
            raise FactError([Problem(key, str(e), fact=name)]) from e
        if ref.year is None:
            raise FactError([Problem(key, "the period is a fiscal year such as FY2024", fact=name)])
        period = f"FY{ref.year}"
    if value is None or value == "":
        raise FactError([Problem(key, "a value is required", fact=name)])
    try:
        typed = coerce_value(spec, value)
    except (TypeError, ValueError) as e:
        raise FactError([Problem(key, str(e), fact=name)]) from e
    if typed is None:
        raise FactError([Problem(key, "a value is required", fact=name)])
    stored: Any = typed.isoformat() if isinstance(typed, dt.date) else typed
    return name, period, stored


def fact_columns(
    orgs: Sequence[Organisation | OrgRow],
    keys: Iterable[str],
    *,
    as_of: dt.date | None = None,
    rows_filter: dict[str, Any] | None = None,
) -> dict[str, list[Any]]:
    """Typed values of the given absolute fact keys for many organisations, column by column
    (aligned with ``orgs``; None where unknown), with the same precedence as ``facts_for``.

    Reads only the fact rows the keys need, as plain tuples: the bulk path's fact table.
    ``rows_filter`` (e.g. ``{"organisation__kind": "enterprise"}``) selects the fact rows by
    a join instead of by the organisations' ids when ``orgs`` is a whole population.
    """
    cat = catalog()
    wanted = [k for k in dict.fromkeys(keys) if k.partition("@")[0] in cat.facts]
    n = len(orgs)
    cols: dict[str, list[Any]] = {k: [None] * n for k in wanted}
    if not wanted or not orgs:
        return cols
    if any(k in REGISTRY_FACTS for k in wanted):
        for i, o in enumerate(orgs):
            for k, v in registry_values(o).items():
                col = cols.get(k)
                if col is not None:
                    col[i] = v
    index = {o.pk: i for i, o in enumerate(orgs)}
    names = {k.partition("@")[0] for k in wanted}
    declared: list[tuple[int, str, Any]] = []
    ids = list(index)
    chunks = [None] if rows_filter is not None else range(0, len(ids), 5000)
    for start in chunks:
        if start is None:
            qs = EnterpriseFact.objects.filter(name__in=names, **(rows_filter or {}))
        else:
            qs = EnterpriseFact.objects.filter(
                organisation_id__in=ids[start : start + 5000], name__in=names
            )
        if as_of is not None:
            qs = qs.filter(as_of__lte=as_of)
        for oid, name, period, value, kind in qs.values_list(
            "organisation_id", "name", "period", "value", "source_kind"
        ):
            if value is None:
                continue
            col = cols.get(fact_key(name, period))
            if col is None or oid not in index:
                continue
            if kind == SourceKind.SELF_DECLARED:
                declared.append((index[oid], fact_key(name, period), value))
            else:
                col[index[oid]] = value
    for i, key, value in declared:
        if cols[key][i] is None:
            cols[key][i] = value
    for key, col in cols.items():
        spec = cat.facts[key.partition("@")[0]]
        for i, v in enumerate(col):
            if v is not None:
                try:
                    col[i] = coerce_value(spec, v)
                except (TypeError, ValueError):
                    col[i] = None  # stored values are checked on write; never guess
    return cols
