"""Enterprise profiles fed by the data exchange (issue 5 item 8, issue 6 item 9).

``content/profile_sources.yaml`` maps fields of shared datasets to catalog facts. When a
dataset version is loaded the exchange publishes ``exchange.dataset_loaded``; the subscriber
(``subscribers.feed_profiles``, on the queue) calls :func:`feed_dataset`, which

1. reads the rows changed by the load THROUGH THE EXCHANGE (``fetch_rows_for_grant``) under a
   grant held by the policy department, purpose "政策精准匹配" — every batch is an exchange
   message in the ``ExchangeLog`` and the audit log; without a live grant nothing is read and
   the refusal is logged; fields outside the grant are left out (and reported);
2. turns the rows into catalog facts (period from a field such as the fiscal year, units
   converted to the catalog's);
3. upserts the facts that differ through ``actions.set_facts`` (source = dataset title and
   department, kind "dataset", as of the load date — an official value replaces a
   self-declared one, ADR 0012), which publishes ``policies.profile_changed`` — one re-match —
   only for enterprises whose values changed.

A load of identical content makes no version and no event; feeding the same rows again finds
nothing different and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from yiwang.rules import units
from yiwang.rules.catalog import coerce_value
from yiwang.rules.errors import FactError

log = logging.getLogger(__name__)

SOURCES_PATH = Path(__file__).resolve().parent / "content" / "profile_sources.yaml"
FEED_PURPOSE = "政策精准匹配"
FEED_USER = "政策通画像同步"
PERIOD_TYPES = ("integer", "year", "yearmonth", "date", "datetime")
#: Which dataset field types may feed which fact type.
COMPATIBLE = {
    "number": ("integer", "number"),
    "date": ("date", "datetime"),
    "boolean": ("boolean",),
    "code": ("string",),
    "enum": ("string",),
}


@dataclass(frozen=True)
class FactMap:
    fact: str
    field: str = ""
    value: Any = None
    when: tuple[tuple[str, Any], ...] = ()
    unit: str = ""
    latest_by: str = ""

    @property
    def needs(self) -> set[str]:
        out = {k for k, _v in self.when}
        if self.field:
            out.add(self.field)
        if self.latest_by:
            out.add(self.latest_by)
        return out


@dataclass(frozen=True)
class DatasetMap:
    code: str
    subject: str
    period: str
    facts: tuple[FactMap, ...]

    @property
    def fields(self) -> list[str]:
        """Every field the feed reads, subject first."""
        out = [self.subject] + ([self.period] if self.period else [])
        for fm in self.facts:
            out += sorted(fm.needs)
        return list(dict.fromkeys(out))

    @property
    def whole(self) -> bool:
        """Re-read the whole dataset: the newest row per enterprise decides some fact."""
        return any(fm.latest_by for fm in self.facts)


@dataclass(frozen=True)
class Sources:
    requester: str
    purpose: str
    datasets: dict[str, DatasetMap]


def parse(doc: Any) -> Sources:
    """The mapping document as objects (shape errors raise ``ValueError``)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("datasets"), dict):
        raise ValueError("profile sources: expected a mapping with 'datasets'")
    out: dict[str, DatasetMap] = {}
    for code, spec in doc["datasets"].items():
        if not isinstance(spec, dict) or not isinstance(spec.get("facts"), list):
            raise ValueError(f"{code}: expected 'facts', a list")
        facts = []
        for i, f in enumerate(spec["facts"]):
            if not isinstance(f, dict) or "fact" not in f:
                raise ValueError(f"{code}.facts[{i}]: expected a mapping with 'fact'")
            when = f.get("when") or {}
            if not isinstance(when, dict):
                raise ValueError(f"{code}.facts[{i}].when: expected a mapping")
            facts.append(
                FactMap(
                    fact=str(f["fact"]),
                    field=str(f.get("field") or ""),
                    value=f.get("value"),
                    when=tuple(sorted(when.items())),
                    unit=str(f.get("unit") or ""),
                    latest_by=str(f.get("latest_by") or ""),
                )
            )
        out[str(code)] = DatasetMap(
            code=str(code),
            subject=str(spec.get("subject") or ""),
            period=str(spec.get("period") or ""),
            facts=tuple(facts),
        )
    return Sources(
        requester=str(doc.get("requester") or ""),
        purpose=str(doc.get("purpose") or FEED_PURPOSE),
        datasets=out,
    )


@cache
def sources() -> Sources:
    """``content/profile_sources.yaml``, loaded once."""
    return parse(yaml.safe_load(SOURCES_PATH.read_text(encoding="utf-8")))


# --- validation -------------------------------------------------------------------------------
def _schema_fields(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in schema.get("fields", [])}


def validate_dataset(dmap: DatasetMap, schema: dict[str, Any] | None) -> list[str]:
    """Problems of one dataset's mapping against its table schema and the fact catalog."""
    from yiwang.policies import profile

    code = dmap.code
    if schema is None:
        return [f"{code}: no such dataset"]
    fields = _schema_fields(schema)
    cat = profile.catalog()
    problems: list[str] = []
    if dmap.subject not in fields:
        problems.append(f"{code}: subject field {dmap.subject!r} is not in the schema")
    if dmap.period:
        pf = fields.get(dmap.period)
        if pf is None:
            problems.append(f"{code}: period field {dmap.period!r} is not in the schema")
        elif pf.get("type") not in PERIOD_TYPES:
            problems.append(
                f"{code}: period field {dmap.period!r} is a {pf.get('type')}, "
                f"not a year, year-month or date"
            )
    if not dmap.facts:
        problems.append(f"{code}: no facts")
    for fm in dmap.facts:
        where = f"{code} → {fm.fact}"
        spec = cat.facts.get(fm.fact)
        if spec is None:
            problems.append(f"{where}: not a fact of the catalog")
            continue
        for name, want in fm.when:
            wf = fields.get(name)
            if wf is None:
                problems.append(f"{where}: condition field {name!r} is not in the schema")
                continue
            allowed = (wf.get("constraints") or {}).get("enum")
            if allowed and want not in allowed:
                problems.append(f"{where}: {want!r} is not a value of {name!r}")
        if fm.latest_by and fm.latest_by not in fields:
            problems.append(f"{where}: latest_by field {fm.latest_by!r} is not in the schema")
        if spec.period and not dmap.period:
            problems.append(f"{where}: the fact is kept per fiscal year; name the period field")
        if not spec.period and dmap.period and not fm.latest_by:
            problems.append(
                f"{where}: the fact has no period but the rows do; say which row wins (latest_by)"
            )
        if bool(fm.field) == (fm.value is not None):
            problems.append(f"{where}: give either a field or a constant value")
            continue
        if fm.value is not None:
            try:
                coerce_value(spec, fm.value)
            except (TypeError, ValueError) as e:
                problems.append(f"{where}: constant {fm.value!r}: {e}")
            continue
        src = fields.get(fm.field)
        if src is None:
            problems.append(f"{where}: field {fm.field!r} is not in the schema")
            continue
        ftype = src.get("type", "string")
        if ftype not in COMPATIBLE.get(spec.type, ()):
            problems.append(f"{where}: a {ftype} field cannot feed a {spec.type} fact")
            continue
        if spec.type == "enum":
            enum = (src.get("constraints") or {}).get("enum")
            if not enum:
                problems.append(f"{where}: field {fm.field!r} has no enum constraint")
            elif set(enum) - set(spec.values):
                extra = ", ".join(sorted(set(enum) - set(spec.values)))
                problems.append(f"{where}: values not in the catalog: {extra}")
        if spec.type == "number":
            if spec.unit and not fm.unit:
                problems.append(f"{where}: state the field's unit (the fact is in {spec.unit})")
            elif fm.unit:
                try:
                    units.convert(1.0, fm.unit, spec.unit)
                except units.UnitError as e:
                    problems.append(f"{where}: {e}")
        elif fm.unit:
            problems.append(f"{where}: a {spec.type} fact has no unit")
    return problems


def validate(src: Sources, schemas: dict[str, dict[str, Any]]) -> list[str]:
    """Problems of the whole mapping; ``schemas`` by dataset code."""
    problems: list[str] = []
    if not src.requester:
        problems.append("requester: name the department that holds the grants")
    for code, dmap in src.datasets.items():
        problems += validate_dataset(dmap, schemas.get(code))
    return problems


# --- rows → facts -----------------------------------------------------------------------------
def _fiscal_year(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dt.date):
        return f"FY{value.year}"
    text = str(value).strip()
    head = text[:4]
    return f"FY{head}" if head.isdigit() else ""


def _order(value: Any) -> str:
    return "" if value is None else str(value)


def facts_from_rows(
    dmap: DatasetMap, rows: list[dict[str, Any]], served: set[str]
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """``{credit code: {fact key: stored value}}`` and the problems of values that do not fit
    the catalog. Facts needing a field outside ``served`` are left out."""
    from yiwang.policies import profile

    usable = [fm for fm in dmap.facts if fm.needs <= served]
    if dmap.period and dmap.period not in served:
        cat = profile.catalog()
        usable = [fm for fm in usable if not cat.facts[fm.fact].period]
    out: dict[str, dict[str, Any]] = {}
    rank: dict[tuple[str, str], str] = {}
    problems: list[str] = []
    for row in rows:
        subject = str(row.get(dmap.subject) or "").strip().upper()
        if not subject:
            continue
        period = _fiscal_year(row.get(dmap.period)) if dmap.period else ""
        for fm in usable:
            if any(row.get(k) != v for k, v in fm.when):
                continue
            raw = fm.value if fm.value is not None else row.get(fm.field)
            if raw is None or raw == "":
                continue
            if fm.unit and isinstance(raw, int | float) and not isinstance(raw, bool):
                raw = {"amount": raw, "unit": fm.unit}
            spec = profile.catalog().facts[fm.fact]
            p = period if spec.period else ""
            if spec.period and not p:
                continue
            key = profile.fact_key(fm.fact, p)
            order = _order(row.get(fm.latest_by)) if fm.latest_by else ""
            if fm.latest_by and rank.get((subject, key), "") > order:
                continue
            try:
                _n, _p, stored = profile.clean_fact(fm.fact, raw, p)
            except FactError as e:
                problems.append(f"{dmap.code} {key}: {'; '.join(str(x) for x in e.problems)}")
                continue
            rank[(subject, key)] = order
            out.setdefault(subject, {})[key] = stored
    return out, problems


# --- the feed ---------------------------------------------------------------------------------
@dataclass
class FeedReport:
    dataset: str
    version: int = 0
    rows: int = 0
    enterprises: int = 0  # enterprises whose facts were written
    changed: int = 0  # of which values changed (each re-matched once)
    facts: int = 0  # fact rows written
    withheld: list[str] = field(default_factory=list)
    denied: str = ""
    problems: list[str] = field(default_factory=list)
    log_ids: list[int] = field(default_factory=list)


def policy_department(src: Sources | None = None) -> Any:
    """The department holding the feed's grants: the mapping's ``requester`` (a code, or the
    suffix of ``<district>-<suffix>``)."""
    from yiwang.accounts.models import Department

    req = (src or sources()).requester
    if not req:
        return None
    return (
        Department.objects.filter(code=req).first()
        or Department.objects.filter(code__endswith=f"-{req}").order_by("code").first()
    )


def _same(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def feed_dataset(
    code: str,
    *,
    version: int | None = None,
    since_version: int | None = None,
    department: Any = None,
    src: Sources | None = None,
    as_of: dt.date | None = None,
    notify: bool = True,
) -> FeedReport:
    """Feed the facts mapped from dataset ``code`` into the enterprise profiles.

    ``version``: the load that triggered the feed (rows changed after ``version - 1`` are
    read); ``since_version`` overrides it (0: everything). Datasets whose mapping takes the
    newest row per enterprise (``latest_by``) are always read whole. ``as_of`` caps the
    facts' as-of date (default: the load date); ``notify=False`` writes without re-matching
    (the demo seed matches everything afterwards).
    """
    from yiwang.exchange.actions import Caller, Refused
    from yiwang.exchange.models import Dataset
    from yiwang.exchange.selectors import fetch_rows_for_grant
    from yiwang.policies import actions
    from yiwang.policies.models import EnterpriseFact, SourceKind
    from yiwang.registry.models import Organisation

    src = src or sources()
    report = FeedReport(dataset=code, version=version or 0)
    dmap = src.datasets.get(code)
    if dmap is None:
        return report  # not a dataset the profiles use
    ds = Dataset.objects.select_related("owner").filter(code=code).first()
    report.problems = validate_dataset(dmap, ds.schema if ds else None)
    if report.problems:
        log.error("profile feed %s: the mapping does not fit: %s", code, report.problems)
        return report
    assert ds is not None
    if department is None:
        department = policy_department(src)
    if department is None:
        report.denied = "no policy department"
        log.warning("profile feed %s: no department %r holds the grants", code, src.requester)
        return report
    if since_version is None:
        since_version = max((version or 1) - 1, 0)
    if dmap.whole:
        since_version = 0
    caller = Caller(department=department, user_label=FEED_USER)
    try:
        got = fetch_rows_for_grant(
            caller,
            code,
            dmap.fields,
            src.purpose,
            since_version=since_version,
            case_ref=f"政策画像同步 {code} v{version or ds.version}",
            partial=True,
        )
    except Refused as exc:
        report.denied = str(exc.message)
        log.warning("profile feed %s: refused: %s", code, report.denied)
        return report
    report.version = got.version
    report.rows = len(got.rows)
    report.withheld = got.withheld
    report.log_ids = got.log_ids
    if dmap.subject not in got.fields:
        report.denied = f"{dmap.subject} not granted"
        return report
    by_code, report.problems = facts_from_rows(dmap, got.rows, set(got.fields))
    if not by_code:
        return report
    orgs = {o.credit_code.upper(): o for o in Organisation.objects.filter(credit_code__in=by_code)}
    existing: dict[tuple[int, str], EnterpriseFact] = {}
    for r in EnterpriseFact.objects.filter(organisation__in=list(orgs.values())):
        existing[(r.organisation_id, r.key)] = r
    source = f"{ds.name}（{ds.owner.name}）"[:200]
    as_of = min(got.loaded_on, as_of) if as_of else got.loaded_on
    for credit_code, facts in sorted(by_code.items()):
        org = orgs.get(credit_code)
        if org is None:
            continue
        diff: dict[str, Any] = {}
        changed = False
        for key, value in facts.items():
            old = existing.get((org.pk, key))
            value_changed = (
                old is None
                or not _same(old.value, value)
                or old.source_kind == SourceKind.SELF_DECLARED
            )
            relabel = old is not None and (
                old.source != source or old.source_kind != SourceKind.DATASET
            )
            if value_changed or relabel:
                diff[key] = value
                changed = changed or value_changed
        if not diff:
            continue
        actions.set_facts(
            None,
            org,
            diff,
            source=source,
            source_kind=SourceKind.DATASET,
            as_of=as_of,
            notify=changed and notify,
        )
        report.enterprises += 1
        report.changed += int(changed)
        report.facts += len(diff)
    return report


def on_dataset_loaded(payload: dict[str, Any]) -> FeedReport:
    """The ``exchange.dataset_loaded`` subscriber's work."""
    return feed_dataset(str(payload["dataset"]), version=int(payload.get("version") or 0))


def feed_all(*, department: Any = None, since_version: int = 0) -> list[FeedReport]:
    """Feed every mapped dataset (the demo seed; a full resynchronisation)."""
    return [
        feed_dataset(code, since_version=since_version, department=department)
        for code in sources().datasets
    ]
