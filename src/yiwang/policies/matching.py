"""Matching: one enterprise against every open item, and one item against every enterprise.

- :func:`for_enterprise` — the organisation's facts normalised once and every open published
  item's rule evaluated with ``rules.evaluate_many`` (shared atoms tested once): eligible,
  possibly eligible (with the facts that would settle it) or not eligible (with the failed
  conditions), the estimated amount and the deadline.
- :func:`evaluate_facts` — the same for facts typed in by anyone (the 政策计算器).
- :func:`for_item` — the item's rule over all enterprises in bulk with the sweep engine
  (``rules.vector``): counts by verdict, by street and by industry section, match ids.
- :func:`preview` — the same for a rule that is not published yet (count and a sample).

The two paths agree (tests/test_matching.py proves it on random enterprises).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from yiwang.policies import profile
from yiwang.policies.models import ItemStatus, PolicyItem, PolicyItemVersion, Target
from yiwang.registry.models import Organisation
from yiwang.rules import Evaluation, Rule, evaluate_many, parse_rule

ELIGIBLE = "eligible"
POSSIBLY = "possibly"
NOT_ELIGIBLE = "not_eligible"
OUTCOME = {"pass": ELIGIBLE, "unknown": POSSIBLY, "fail": NOT_ELIGIBLE}
_ORDER = {ELIGIBLE: 0, POSSIBLY: 1, NOT_ELIGIBLE: 2}
SAMPLE = 10


# ---------------------------------------------------------------- rules of stored versions


def normalise_rule(raw: Mapping[str, Any], code: str, title: str = "") -> dict[str, Any]:
    """The stored form of a rule: a full ``rules_version: 1`` tree whose id is the item code
    (labelled with the item's title when it has no label)."""
    out = dict(raw)
    out.setdefault("rules_version", 1)
    out["id"] = code
    if title and "label" not in out:
        out["label"] = {"zh": title, "en": title}
    return out


def compile_rule(raw: Mapping[str, Any]) -> Rule:
    """Parse ``raw`` against the enterprise catalog (``RuleError`` lists every problem)."""
    return parse_rule(dict(raw), profile.catalog())


_CACHE: dict[tuple[int, str], tuple[str, Rule]] = {}
FROZEN = ("published", "superseded")


def rule_of(version: PolicyItemVersion) -> Rule:
    """The parsed rule of a stored version, cached per version (and per rule text while it
    is a draft; a published rule never changes)."""
    import json

    if not version.pk:
        return compile_rule(version.rule)
    key = (version.pk, str(version.created_at))
    frozen = version.status in FROZEN
    text = "" if frozen else json.dumps(version.rule, sort_keys=True)
    hit = _CACHE.get(key)
    if hit is not None and (frozen or hit[0] == text):
        return hit[1]
    rule = compile_rule(version.rule)
    if len(_CACHE) > 4096:
        _CACHE.clear()
    _CACHE[key] = (text, rule)
    return rule


def open_items(as_of: dt.date | None = None) -> QuerySet[PolicyItem]:
    """Published items whose deadline has not passed (or that have none)."""
    day = as_of or profile.today()
    return (
        PolicyItem.objects.filter(status=ItemStatus.PUBLISHED, published_version__isnull=False)
        .filter(Q(closes_on__isnull=True) | Q(closes_on__gte=day))
        .select_related("published_version", "department", "document")
        # the rule is parsed once per version (``rule_of`` caches it); the texts are not needed
        .defer(
            "published_version__rule",
            "published_version__diff",
            "document__full_text",
            "document__interpretation",
        )
        .order_by("closes_on", "pk")
    )


# ---------------------------------------------------------------- one enterprise


@dataclass
class ItemMatch:
    """One item's outcome for one enterprise. The verdict, score and amount are computed at
    once; the lists that explain it (``missing``, ``failed``, ``reasons``, ``explanation``) are
    built from the evaluation when first read, so a page of 1,000 items pays only for those it
    shows."""

    item: PolicyItem
    outcome: str  # eligible | possibly | not_eligible
    verdict: str  # pass | unknown | fail
    score: float | None
    amount: float | None
    amount_unit: str
    deadline: dt.date | None
    opens_on: dt.date | None
    evaluation: Evaluation = field(repr=False)
    lang: str = "zh"

    @property
    def _en(self) -> bool:
        return self.lang.startswith("en")

    @cached_property
    def missing(self) -> list[dict[str, Any]]:
        """Unknown atoms with the facts that would settle them."""
        return [
            {
                "id": u["id"],
                "label": u["label_en"] if self._en else u["label"],
                "reason": u["reason"],
                "facts": u["facts"],
                "fact_labels": [_fact_label(f, self.lang) for f in u["facts"]],
            }
            for u in self.evaluation.unknown
        ]

    @cached_property
    def failed(self) -> list[dict[str, Any]]:
        return [
            {
                "id": f["id"],
                "label": f["label_en"] if self._en else f["label"],
                "fact": f.get("fact"),
                "actual": f.get("actual"),
                "test": f.get("test", ""),
            }
            for f in self.evaluation.failed
        ]

    @cached_property
    def reasons(self) -> list[str]:
        """Labels of the atoms that explain the verdict."""
        return _labels(self.evaluation, self.lang)

    @cached_property
    def explanation(self) -> str:
        """The evaluation trace as text."""
        return self.evaluation.explain("en" if self._en else "zh")

    @property
    def facts_to_provide(self) -> list[str]:
        out: list[str] = []
        for u in self.missing:
            for f in u.get("facts", []):
                if f not in out:
                    out.append(f)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item.pk,
            "code": self.item.code,
            "title": self.item.title,
            "outcome": self.outcome,
            "verdict": self.verdict,
            "score": self.score,
            "amount": self.amount,
            "amount_unit": self.amount_unit,
            "deadline": self.deadline,
            "opens_on": self.opens_on,
            "missing": self.missing,
            "facts_to_provide": self.facts_to_provide,
            "failed": self.failed,
            "reasons": self.reasons,
            "explanation": self.explanation,
        }


def _labels(ev: Evaluation, lang: str) -> list[str]:
    rule = ev._run.bound.rule
    out = []
    for aid in ev.decisive:
        node = rule.atoms.get(aid) or rule.named.get(aid)
        label = getattr(node, "label", None)
        if label is not None:
            out.append(label.get("en" if lang.startswith("en") else "zh"))
    return out


def _item_match(item: PolicyItem, ev: Evaluation, lang: str) -> ItemMatch:
    return ItemMatch(
        item=item,
        outcome=OUTCOME[ev.verdict],
        verdict=ev.verdict,
        score=ev.score,
        amount=ev.amount,
        amount_unit=ev.amount_unit,
        deadline=item.closes_on,
        opens_on=item.opens_on,
        evaluation=ev,
        lang=lang,
    )


def _fact_label(key: str, lang: str) -> str:
    name, _, period = key.partition("@")
    spec = profile.catalog().facts.get(name)
    if spec is None:
        return key
    label = spec.label.get("en" if lang.startswith("en") else "zh")
    if period:
        year = period[2:]
        label = f"{label} ({period})" if lang.startswith("en") else f"{year}年度{label}"
    return label


def _evaluate(
    items: Sequence[PolicyItem], facts: Mapping[str, Any], as_of: dt.date, lang: str
) -> list[ItemMatch]:
    pairs = [(i, rule_of(i.published_version)) for i in items if i.published_version]
    evs = evaluate_many([r for _, r in pairs], facts, as_of, trace=False)
    out = [_item_match(i, ev, lang) for (i, _), ev in zip(pairs, evs, strict=True)]
    out.sort(key=lambda m: (_ORDER[m.outcome], m.deadline or dt.date.max, m.item.pk))
    return out


_POOL_LOCK = threading.Lock()
_pool_cache: dict[str, Any] = {"key": None, "items": []}


def _items_fingerprint() -> tuple[Any, ...]:
    """Changes whenever an item is added, removed, edited, published, withdrawn or expired
    (every write to an item sets ``updated_at``, bulk ones included), in any process."""
    row = PolicyItem.objects.aggregate(n=Count("pk"), top=Max("pk"), at=Max("updated_at"))
    return (row["n"], row["top"], row["at"])


def open_enterprise_items(day: dt.date) -> list[PolicyItem]:
    """The open published enterprise items, kept in memory between requests until the items
    change (one aggregate query checks) — building 1,000 model instances with their version,
    department and document on every "my matches" page cost more than evaluating them."""
    key = (day, _items_fingerprint())
    with _POOL_LOCK:
        if _pool_cache["key"] == key:
            return list(_pool_cache["items"])
    items = list(open_items(day).filter(target=Target.ENTERPRISE))
    with _POOL_LOCK:
        _pool_cache.update(key=key, items=items)
    return list(items)


def for_enterprise(
    org: Organisation,
    *,
    as_of: dt.date | None = None,
    lang: str = "zh",
    items: Iterable[PolicyItem] | None = None,
) -> list[ItemMatch]:
    """Every open published enterprise item for ``org``: eligible first, then possibly
    eligible, then not eligible; each by deadline."""
    day = as_of or profile.today()
    pool = list(items) if items is not None else open_enterprise_items(day)
    facts = profile.facts_for(org, as_of=as_of)
    return _evaluate(pool, facts, day, lang)


def evaluate_facts(
    facts: Mapping[str, Any], *, as_of: dt.date | None = None, lang: str = "zh"
) -> list[ItemMatch]:
    """Raw facts (as the calculator collects them) against every open published item.

    Facts are checked against the catalog (``FactError`` names the fact); unknown names are
    an error too."""
    day = as_of or profile.today()
    nf = profile.catalog().normalize(dict(facts), day)
    return _evaluate(list(open_items(day)), nf, day, lang)


# ---------------------------------------------------------------- one item, all enterprises


def enterprises() -> QuerySet[Organisation]:
    """The organisations matching runs over: enterprises in business."""
    return Organisation.objects.filter(
        kind=Organisation.Kind.ENTERPRISE, status=Organisation.Status.ACTIVE
    ).select_related("grid__community", "place__grid__community")


@dataclass
class ItemMatchSummary:
    item_id: int | None
    as_of: dt.date
    total: int
    counts: dict[str, int]  # pass / unknown / fail
    by_street: list[dict[str, Any]]  # [{code, name, pass, unknown}]
    by_industry: list[dict[str, Any]]  # [{section, pass, unknown}]
    pass_ids: list[int]
    unknown_ids: list[int]
    amounts: dict[int, float] = field(default_factory=dict)  # org id → amount (known only)
    sample: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item_id,
            "as_of": self.as_of,
            "total": self.total,
            "counts": self.counts,
            "by_street": self.by_street,
            "by_industry": self.by_industry,
            "sample": self.sample,
        }


ENTERPRISE_ROWS = {
    "organisation__kind": Organisation.Kind.ENTERPRISE,
    "organisation__status": Organisation.Status.ACTIVE,
}


def enterprise_rows() -> list[profile.OrgRow]:
    """``enterprises()`` as plain rows (no model instances): the bulk path's population."""
    return profile.org_rows(enterprises())


def _sweep(
    rule: Rule, orgs: Sequence[Any], as_of: dt.date, rows_filter: dict[str, Any] | None = None
) -> Any:
    import polars as pl

    from yiwang.rules import vector
    from yiwang.rules.catalog import key_of_column
    from yiwang.rules.lower import columns
    from yiwang.rules.polars_backend import POLARS_TYPES

    cols = columns(rule, as_of)
    values = profile.fact_columns(orgs, [key_of_column(c) for c in cols], rows_filter=rows_filter)
    data: dict[str, Any] = {"entity_id": [o.pk for o in orgs]}
    schema: dict[str, Any] = {"entity_id": pl.Int64}
    for col, t in cols.items():
        data[col] = values.get(key_of_column(col), [None] * len(orgs))
        schema[col] = POLARS_TYPES[t]
    fa = vector.FactArrays.from_polars(pl.DataFrame(data, schema=schema))
    return vector.sweep([rule], fa, as_of, amounts=True)


def sweep_rule(
    rule: Rule,
    *,
    as_of: dt.date | None = None,
    orgs: Sequence[Organisation | profile.OrgRow] | None = None,
    item_id: int | None = None,
    within: Iterable[int] | None = None,
    snapshot: Any = None,
) -> ItemMatchSummary:
    """Evaluate one rule over many organisations at once: the given ones (their facts read
    row by row), or every enterprise in business (the fact columns of ``factstore``, brought
    up to date with the database first) — or those of them whose ids are in ``within`` (a
    staff user's territory). ``snapshot``: these fact columns instead of the current ones."""
    day = as_of or profile.today()
    if orgs is None:
        return _sweep_store(rule, day, item_id, snapshot, within)
    pool: list[Any] = list(orgs)
    if not pool:
        return ItemMatchSummary(
            item_id, day, 0, {"pass": 0, "unknown": 0, "fail": 0}, [], [], [], []
        )
    res = _sweep(rule, pool, day, None)
    counts = res.counts()[rule.id]
    pass_ids = [int(x) for x in res.matches(rule.id)]
    unknown_ids = [int(x) for x in res.matches(rule.id, unknown=True)]
    amounts: dict[int, float] = {}
    if rule.id in res.amounts:
        arr = res.amounts[rule.id]
        index = {o.pk: i for i, o in enumerate(pool)}
        for oid in pass_ids + unknown_ids:
            a = float(arr[index[oid]])
            if a == a:  # not NaN
                amounts[oid] = a
    by_org = {o.pk: o for o in pool}
    streets: dict[str, Counter[str]] = defaultdict(Counter)
    industries: dict[str, Counter[str]] = defaultdict(Counter)
    for verdict, ids in (("pass", pass_ids), ("unknown", unknown_ids)):
        for oid in ids:
            o = by_org[oid]
            reg = profile.registry_values(o)
            streets[reg.get("registered_street", "")][verdict] += 1
            industries[(o.industry_code or "")[:1]][verdict] += 1
    names = {oid: by_org[oid].name for oid in [*pass_ids[:SAMPLE], *unknown_ids[:SAMPLE]]}
    return _summary(
        item_id, day, len(pool), counts, streets, industries, pass_ids, unknown_ids, amounts, names
    )


def _summary(
    item_id: int | None,
    day: dt.date,
    total: int,
    counts: Mapping[str, int],
    streets: Mapping[str, Mapping[str, int]],
    industries: Mapping[str, Mapping[str, int]],
    pass_ids: list[int],
    unknown_ids: list[int],
    amounts: dict[int, float],
    names: Mapping[int, str],
) -> ItemMatchSummary:
    street_names = _street_names(streets)
    by_street = [
        {"code": k, "name": street_names.get(k, ""), "pass": c["pass"], "unknown": c["unknown"]}
        for k, c in sorted(streets.items())
    ]
    by_industry = [
        {"section": k, "pass": c["pass"], "unknown": c["unknown"]}
        for k, c in sorted(industries.items())
    ]
    sample = [
        {"id": oid, "name": names.get(oid, ""), "verdict": "pass", "amount": amounts.get(oid)}
        for oid in pass_ids[:SAMPLE]
    ]
    sample += [
        {"id": oid, "name": names.get(oid, ""), "verdict": "unknown", "amount": amounts.get(oid)}
        for oid in unknown_ids[: max(0, SAMPLE - len(sample))]
    ]
    return ItemMatchSummary(
        item_id,
        day,
        total,
        {"pass": counts["pass"], "unknown": counts["unknown"], "fail": counts["fail"]},
        by_street,
        by_industry,
        pass_ids,
        unknown_ids,
        amounts,
        sample,
    )


def _tally(cat: Any, mask: Any) -> dict[str, int]:
    """Counts of ``mask`` by the categories of ``cat`` ("" for missing)."""
    import numpy as np

    counts = np.bincount(cat.codes[mask] + 1, minlength=len(cat.categories) + 1)
    return {("" if k == 0 else cat.categories[k - 1]): int(c) for k, c in enumerate(counts) if c}


def _sweep_store(
    rule: Rule,
    day: dt.date,
    item_id: int | None,
    snap: Any = None,
    within: Iterable[int] | None = None,
) -> ItemMatchSummary:
    """``sweep_rule`` over every enterprise in business (or those in ``within``), from the
    fact columns."""
    import numpy as np

    from yiwang.policies import factstore
    from yiwang.rules import vector
    from yiwang.rules.lower import columns

    snap = snap if snap is not None else factstore.current()
    scope = None
    if within is not None:
        pos, _ids = snap.positions(within)
        scope = np.zeros(snap.n, dtype=np.bool_)
        scope[pos] = True
    total = snap.n if scope is None else int(scope.sum())
    if not total:
        return ItemMatchSummary(
            item_id, day, 0, {"pass": 0, "unknown": 0, "fail": 0}, [], [], [], []
        )
    fa = snap.fact_arrays(columns(rule, day))
    res = vector.sweep([rule], fa, day, amounts=True)
    passed = fa.unpack(res.passed[rule.id])
    unknown = ~(passed | fa.unpack(res.failed[rule.id]))
    if scope is None:
        counts = res.counts()[rule.id]
    else:
        passed, unknown = passed & scope, unknown & scope
        p, u = int(passed.sum()), int(unknown.sum())
        counts = {"pass": p, "unknown": u, "fail": total - p - u}
    pass_ids = snap.ids[passed].tolist()
    unknown_ids = snap.ids[unknown].tolist()
    amounts: dict[int, float] = {}
    if rule.id in res.amounts:
        arr = res.amounts[rule.id]
        for mask in (passed, unknown):
            sel = mask & ~np.isnan(arr)
            amounts.update(zip(snap.ids[sel].tolist(), arr[sel].tolist(), strict=True))
    streets: dict[str, Counter[str]] = defaultdict(Counter)
    industries: dict[str, Counter[str]] = defaultdict(Counter)
    for verdict, mask in (("pass", passed), ("unknown", unknown)):
        for k, c in _tally(snap.street, mask).items():
            streets[k][verdict] += c
        for k, c in _tally(snap.section, mask).items():
            industries[k][verdict] += c
    shown = [*pass_ids[:SAMPLE], *unknown_ids[:SAMPLE]]
    names = dict(Organisation.objects.filter(pk__in=shown).values_list("pk", "name"))
    return _summary(
        item_id, day, total, counts, streets, industries, pass_ids, unknown_ids, amounts, names
    )


# ---------------------------------------------------------------- explanations in bulk


@dataclass
class Explained:
    """One rule's per-entity evaluations for chosen enterprises, from the fact columns.

    ``evaluations[i]`` is the per-entity evaluator's result (``rules.evaluate``) for
    ``ids[i]``; enterprises whose atoms all have the same values share one evaluation (every
    part of it but the failed atoms' actual values and the amount follows from the atom
    values), and ``amounts[i]`` is the entity's own amount from the sweep engine."""

    ids: list[int]
    evaluations: list[Evaluation]
    amounts: list[float | None]
    groups: int  # distinct atom value combinations (= per-entity evaluations run)


def column_facts(snap: Any, pos: int, cols: Iterable[str]) -> dict[str, Any]:
    """One enterprise's facts from the columns, typed as ``Catalog.normalize`` types them
    (numbers float, dates ``date``, booleans ``bool``, codes ``str``); missing ones left
    out."""
    from yiwang.policies.factstore import EPOCH
    from yiwang.rules.catalog import key_of_column

    cat = profile.catalog()
    out: dict[str, Any] = {}
    for col in cols:
        key = key_of_column(col)
        spec = cat.facts.get(key.partition("@")[0])
        if spec is None:
            continue
        if col in snap.numeric:
            x = float(snap.numeric[col][pos])
            if x != x:
                continue
            if spec.type == "date":
                out[key] = EPOCH + dt.timedelta(days=int(x))
            elif spec.type == "boolean":
                out[key] = x != 0.0
            else:
                out[key] = x
        elif col in snap.categorical:
            c = snap.categorical[col]
            k = int(c.codes[pos])
            if k >= 0:
                out[key] = c.categories[k]
    return out


def explain_many(
    rule: Rule,
    org_ids: Iterable[int],
    *,
    as_of: dt.date | None = None,
    snapshot: Any = None,
) -> Explained:
    """Per-entity evaluations of ``rule`` for the given enterprises (those in business; any
    other id is left out) without reading their rows: every atom is evaluated over the fact
    columns by the sweep engine, the enterprises are grouped by their atoms' values, and the
    per-entity evaluator runs once per group on a member's facts taken from the columns."""
    import numpy as np

    from yiwang.policies import factstore
    from yiwang.rules import evaluate, vector
    from yiwang.rules.lower import columns

    day = as_of or profile.today()
    snap = snapshot if snapshot is not None else factstore.current()
    pos, ids = snap.positions(org_ids)
    if not pos.size:
        return Explained([], [], [], 0)
    cols = columns(rule, day)
    fa = snap.fact_arrays(cols)
    sw = vector.Sweep(fa, day)
    # each atom's value per chosen entity: 0 unknown, 1 true, 2 false
    atoms = list(rule.atoms.values())
    values = np.zeros((pos.size, len(atoms)), dtype=np.int8)
    for j, a in enumerate(atoms):
        t, f = sw.node(rule, a)
        values[:, j] = fa.unpack(t)[pos].astype(np.int8) + 2 * fa.unpack(f)[pos]
    if len(atoms) <= 39:  # one int64 per entity: the atom values as base-3 digits
        digits = np.power(3, np.arange(len(atoms), dtype=np.int64))
        keys: Any = values.astype(np.int64) @ digits
        _uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    else:
        _uniq, first, inverse = np.unique(values, axis=0, return_index=True, return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    evs = [
        evaluate(rule, column_facts(fa, int(pos[i]), cols), day, normalized=True, trace=False)
        for i in first.tolist()
    ]
    amounts: list[float | None] = [None] * pos.size
    amount = sw.amount(rule)
    if amount is not None:
        got = amount[pos]
        amounts = [None if x != x else x for x in got.tolist()]
    return Explained(ids.tolist(), [evs[g] for g in inverse.tolist()], amounts, len(evs))


@dataclass
class ItemSweep:
    """Every given item's rule over every enterprise in business, in one pass."""

    as_of: dt.date
    result: Any  # rules.vector.SweepResult
    item_ids: dict[int, str]  # item id → rule id

    def counts(self) -> dict[int, dict[str, int]]:
        all_counts = self.result.counts()
        return {i: all_counts[r] for i, r in self.item_ids.items()}

    def pass_ids(self, item_id: int) -> list[int]:
        return [int(x) for x in self.result.matches(self.item_ids[item_id])]

    def unknown_ids(self, item_id: int) -> list[int]:
        return [int(x) for x in self.result.matches(self.item_ids[item_id], unknown=True)]


def sweep_items(
    items: Iterable[PolicyItem] | None = None,
    *,
    as_of: dt.date | None = None,
    amounts: bool = False,
) -> ItemSweep:
    """The full sweep: every (or every given) open published enterprise item over every
    enterprise in business — counts and match sets, identical atoms shared between items."""
    from yiwang.policies import factstore
    from yiwang.rules import vector
    from yiwang.rules.lower import columns

    day = as_of or profile.today()
    pool = list(items) if items is not None else open_enterprise_items(day)
    rules = []
    ids: dict[int, str] = {}
    for it in pool:
        if it.published_version is None:
            continue
        r = rule_of(it.published_version)
        rules.append(r)
        ids[it.pk] = r.id
    cols: dict[str, str] = {}
    for r in rules:
        cols.update(columns(r, day))
    snap = factstore.current()
    res = vector.sweep(rules, snap.fact_arrays(cols), day, amounts=amounts)
    return ItemSweep(day, res, ids)


def _street_names(streets: Iterable[str]) -> dict[str, str]:
    from yiwang.accounts.models import Division

    codes = [c for c in streets if c]
    return dict(Division.objects.filter(code__in=codes).values_list("code", "name"))


def for_item(
    item: PolicyItem,
    *,
    as_of: dt.date | None = None,
    version: PolicyItemVersion | None = None,
    orgs: Sequence[Organisation | profile.OrgRow] | None = None,
    within: Iterable[int] | None = None,
    snapshot: Any = None,
) -> ItemMatchSummary:
    """The item's (published, or the given) rule over all enterprises in bulk (or over
    those whose ids are in ``within``)."""
    v = version or item.published_version or item.current_version
    if v is None:
        raise ValueError("the item has no rule")
    return sweep_rule(
        rule_of(v), as_of=as_of, orgs=orgs, item_id=item.pk, within=within, snapshot=snapshot
    )


def preview(rule: Mapping[str, Any], *, as_of: dt.date | None = None) -> ItemMatchSummary:
    """Who would match an unpublished rule now: counts by verdict, street and industry and a
    sample. Raises ``RuleError`` for a malformed rule."""
    raw = dict(rule)
    raw.setdefault("rules_version", 1)
    raw.setdefault("id", "preview")
    return sweep_rule(compile_rule(raw), as_of=as_of)
