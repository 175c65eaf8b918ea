"""The demo policy library (policies/content): every rule checks against the catalog, every
YAML case passes through ``yiwang.rules.testing``, clauses exist in the documents' text, codes
are unique and windows sane. Pure Python: no database."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
import yaml

from yiwang.policies import content
from yiwang.rules import RuleError, parse_rule
from yiwang.rules.testing import run_test_dir

DOCS = content.load_documents()
ITEMS = list(content.iter_items(DOCS))
ITEM_IDS = [item.code for _d, item in ITEMS]


def test_catalog_loads_and_every_fact_has_labels_and_source() -> None:
    cat = content.catalog()
    assert len(cat) >= 90
    for spec in cat.facts.values():
        assert spec.label.zh and spec.label.en and spec.label.zh != spec.label.en, spec.name
        assert spec.source, spec.name
        if spec.type == "enum":
            assert spec.values, spec.name


def test_registry_facts_are_in_the_catalog() -> None:
    from yiwang.policies.profile import REGISTRY_FACTS

    for name in REGISTRY_FACTS:
        assert name in content.catalog(), name


def test_the_library_has_about_eighty_items_across_departments() -> None:
    assert 15 <= len(DOCS) <= 20
    assert len(ITEMS) >= 80
    departments = Counter(item.department for _d, item in ITEMS)
    assert len(departments) >= 10
    assert {"kjj", "jxj", "swuj", "rsj", "swj", "jrb", "fgj", "scj", "wlj", "nyj"} <= set(
        departments
    )
    kinds = Counter(item.benefit_type for _d, item in ITEMS)
    assert {"subsidy", "award", "tax_relief", "loan_interest"} <= set(kinds)
    assert any(item.target == "individual" for _d, item in ITEMS)


def test_codes_and_document_numbers_are_unique() -> None:
    codes = Counter(ITEM_IDS)
    assert [c for c, n in codes.items() if n > 1] == []
    numbers = Counter(d.doc_number for d in DOCS)
    assert [c for c, n in numbers.items() if n > 1] == []
    keys = Counter(d.key for d in DOCS)
    assert [c for c, n in keys.items() if n > 1] == []


@pytest.mark.parametrize(("doc", "item"), ITEMS, ids=ITEM_IDS)
def test_rule_checks_clean_against_the_catalog(
    doc: content.DocumentSpec, item: content.ItemSpec
) -> None:
    try:
        rule = parse_rule(item.rule, content.catalog())
    except RuleError as e:  # pragma: no cover - the message is the point
        pytest.fail(f"{item.code}: {e.to_list()}")
    assert rule.id == item.code
    assert item.rule["rules_version"] == 1
    assert item.rule["label"]["zh"] == item.title and item.rule["label"]["en"]
    # every atom carries an id, both labels, a kind and its clause
    for atom in rule.iter_atoms():
        assert atom.id, item.code
        assert atom.label.zh and atom.label.en and atom.label.zh != atom.label.en, atom.id
        assert atom.kind in ("hard", "bonus", "discretionary"), atom.id
    _walk_atoms(item.rule["when"], item.code, inherited_clause=None)
    for b in item.rule.get("bonus", []):
        assert b.get("kind") == "bonus" and b.get("clause"), (item.code, b.get("id"))
    if item.benefit_type != "qualification" and item.rule.get("amount"):
        amount = item.rule["amount"]
        assert amount.get("unit") and amount.get("clause") and amount.get("label"), item.code


def _walk_atoms(node: object, code: str, inherited_clause: str | None) -> None:
    """Atoms in ``when`` name their clause themselves or through the group they sit in."""
    if not isinstance(node, dict):
        return
    clause = node.get("clause") or inherited_clause
    for key in ("all", "any"):
        if key in node:
            for child in node[key]:
                _walk_atoms(child, code, clause)
            return
    if "not" in node:
        _walk_atoms(node["not"], code, clause)
        return
    assert clause, f"{code}: atom {node.get('id')} has no clause"
    assert node.get("kind") in ("hard", "discretionary"), (code, node.get("id"))


@pytest.mark.parametrize(("doc", "item"), ITEMS, ids=ITEM_IDS)
def test_clause_references_exist_in_the_document_text(
    doc: content.DocumentSpec, item: content.ItemSpec
) -> None:
    refs = list(content.rule_clauses(item.rule))
    assert refs, item.code
    missing = [(node, c) for node, c in refs if not content.clause_found(doc.full_text, c)]
    assert missing == [], f"{item.code}: clauses not in {doc.doc_number}: {missing}"


def test_clause_lookup_is_strict() -> None:
    text = "第一条 总则。\n第二条 条件：\n（一）在本区注册；\n（二）信用良好。\n第三条 附则。"
    assert content.clause_found(text, "第二条")
    assert content.clause_found(text, "第二条（二）")
    assert not content.clause_found(text, "第二条（三）")
    assert not content.clause_found(text, "第三条（一）")  # （一） belongs to 第二条
    assert not content.clause_found(text, "第四条")
    assert not content.clause_found(text, "附则")


def test_documents_are_complete() -> None:
    for d in DOCS:
        arts = content.articles(d.full_text)
        assert len(arts) >= 5, d.key
        # numbered in order 第一条, 第二条, ...
        assert next(iter(arts)) == "第一条", d.key
        assert d.interpretation.strip(), d.key
        assert d.issuers, d.key
        assert d.issued_on <= d.effective_from or (d.effective_from - d.issued_on).days <= 31
        assert d.effective_to is None or d.effective_to > d.effective_from, d.key
        assert "〔20" in d.doc_number and d.doc_number.endswith("号"), d.key


@pytest.mark.parametrize(("doc", "item"), ITEMS, ids=ITEM_IDS)
def test_windows_are_sane(doc: content.DocumentSpec, item: content.ItemSpec) -> None:
    assert item.opens_on >= min(doc.issued_on, doc.effective_from), item.code
    if item.closes_on is not None:
        assert item.closes_on > item.opens_on, item.code
    if doc.effective_to is not None and item.closes_on is not None:
        assert item.closes_on <= doc.effective_to + dt.timedelta(days=62), item.code
    assert item.summary and item.title and item.title_en


def test_windows_mix_open_closing_soon_expired_and_automatic() -> None:
    now = content.CASES_AS_OF
    open_now = [
        i for _d, i in ITEMS if i.opens_on <= now and (i.closes_on is None or i.closes_on >= now)
    ]
    soon = [i for i in open_now if i.closes_on and (i.closes_on - now).days <= 21]
    expired = [i for _d, i in ITEMS if i.closes_on and i.closes_on < now]
    automatic = [i for _d, i in ITEMS if i.no_application]
    not_yet = [i for _d, i in ITEMS if i.opens_on > now]
    assert len(open_now) >= 60
    assert len(soon) >= 5
    assert 3 <= len(expired) <= 10
    assert len(automatic) >= 5
    assert len(not_yet) <= 5


@pytest.mark.parametrize(("doc", "item"), ITEMS, ids=ITEM_IDS)
def test_every_item_has_cases_including_a_missing_fact(
    doc: content.DocumentSpec, item: content.ItemSpec
) -> None:
    assert len(item.cases) >= 3, item.code
    verdicts = {c["expect"].get("verdict") for c in item.cases}
    assert {"pass", "fail", "unknown"} <= verdicts, item.code
    assert any(c.get("without") and c["expect"].get("verdict") == "unknown" for c in item.cases), (
        f"{item.code}: no case where a missing fact leaves the verdict unknown"
    )
    for c in item.cases:
        assert c.get("name"), item.code


def test_every_yaml_case_passes_through_rules_testing(tmp_path: Path) -> None:
    n = content.export_cases(tmp_path, DOCS)
    assert n == len(ITEMS)
    result = run_test_dir(tmp_path)
    failures = [
        f"{Path(r['file']).name} :: {r['case']}: {r['problems']}"
        for r in result["results"]
        if not r["ok"]
    ]
    assert failures == []
    assert result["files"] == len(ITEMS)
    assert result["cases"] >= 3 * len(ITEMS)
    # the exported files are ordinary rule files and case files
    sample = yaml.safe_load((tmp_path / f"{ITEMS[0][1].code}.cases.yaml").read_text("utf-8"))
    assert sample["rule"] == f"{ITEMS[0][1].code}.json"


def test_a_wrong_expectation_is_caught(tmp_path: Path) -> None:
    """The case runner really compares: flipping one expected amount makes it fail."""
    doc = next(d for d in DOCS if any(i.code == "kj-tech-contract-award" for i in d.items))
    item = next(i for i in doc.items if i.code == "kj-tech-contract-award")
    item.cases = [dict(item.cases[0], expect={"verdict": "pass", "amount": 18})]
    doc.items = [item]
    content.export_cases(tmp_path, [doc])
    result = run_test_dir(tmp_path)
    assert result["failed"] == 1
    assert "amount: expected 18, got 17" in result["results"][0]["problems"][0]


def test_case_facts_apply_with_and_without() -> None:
    _d, item = ITEMS[0]
    base = content.case_facts(item, {})
    assert base == item.facts
    changed = content.case_facts(
        item, {"with": {"high_tech_first": False}, "without": ["is_high_tech"]}
    )
    assert changed["high_tech_first"] is False and "is_high_tech" not in changed
    own = content.case_facts(item, {"facts": {"employees": 3}})
    assert own == {"employees": 3}


def test_street_atoms_name_the_demo_streets() -> None:
    import csv

    streets_csv = Path(content.__file__).resolve().parents[2] / "core/data/divisions/streets.csv"
    with streets_csv.open(encoding="utf-8") as fh:
        real = [r["code"] for r in csv.DictReader(fh) if r["areaCode"] == content.DEMO_DISTRICT]
    # the demo seeds the district's first four streets (yiwang.demo); the content names those
    assert sorted(real)[:4] == list(content.DEMO_STREETS)
    used = {c for _d, item in ITEMS for c in content.DEMO_STREETS if f'"{c}"' in str(item.rule)}
    assert used == set(content.DEMO_STREETS)


def test_localise_moves_district_and_street_codes() -> None:
    _d, item = next((d, i) for d, i in ITEMS if i.code == "jd-gudang-digital-trade-award")
    moved = content.localise(
        item.rule, "330108", ["330108001", "330108002", "330108003", "330108004"]
    )
    text = str(moved)
    assert "330106" not in text and "330108004" in text
    parse_rule(moved, content.catalog())
    assert (
        content.localise(item.rule, content.DEMO_DISTRICT, list(content.DEMO_STREETS)) is item.rule
    )


def test_malformed_content_is_reported_with_its_place(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "document": {"key": "x", "title": "t", "issuers": ["nope"]},
                "items": [
                    {
                        "code": "Bad Code",
                        "benefit_type": "gift",
                        "rule": {"when": {"use": "nothing"}},
                    }
                ],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    with pytest.raises(content.ContentError) as e:
        content.load_document(bad)
    text = " ".join(e.value.problems)
    for expected in (
        "doc_number",
        "unknown issuing department 'nope'",
        "bad code",
        "benefit_type",
        "unknown shared atom 'nothing'",
    ):
        assert expected in text
