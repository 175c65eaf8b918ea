"""The demo policy library: documents, their items and the items' rules, written in YAML.

Layout (``src/yiwang/policies/content/``):

- ``catalog.yaml`` — the enterprise fact catalog every rule is checked against;
- ``atoms.yaml`` — shared atoms ("registered in the district", "not on the dishonesty list")
  that a rule uses as ``{use: in_district, clause: 第二条（一）}``;
- ``documents/*.yaml`` — one policy document per file: its metadata, full text (numbered
  clauses 第一条…) and 解读, then its items (申报项目), each with its rule and test cases.

An item's ``rule`` holds ``when`` / ``bonus`` / ``amount``; :func:`build_rule` makes the full
``rules_version: 1`` tree from it (id = item code, label = title, source = document and clause,
every atom with an explicit ``kind``). An item's test cases start from the item's example
``facts`` (over the document's shared ``facts``), change some (``with``) and drop some
(``without``), and state the expected verdict / amount. :func:`export_cases` writes them as
ordinary rule files and ``*.cases.yaml`` so that ``yiwang rules test`` runs them;
``python -m yiwang.policies.content test`` does both in one go.

Pure Python (no Django): the demo seed (``yiwang.policies.demo``) loads through here.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from yiwang.rules import Catalog

CONTENT_DIR = Path(__file__).resolve().parent
CATALOG_PATH = CONTENT_DIR / "catalog.yaml"
DOCUMENTS_DIR = CONTENT_DIR / "documents"
DEMO_DISTRICT = "330106"
#: The demo district's streets the content names (the first four, as yiwang.demo seeds them).
DEMO_STREETS = ("330106002", "330106004", "330106005", "330106007")
#: Default evaluation date of the test cases (the demo's "now").
CASES_AS_OF = dt.date(2026, 12, 1)

#: Departments (the demo's code suffix → name) that issue or run the demo policies.
DEPARTMENTS: dict[str, str] = {
    "kjj": "科学技术局",
    "jxj": "经济和信息化局",
    "swuj": "商务局",
    "rsj": "人力资源和社会保障局",
    "swj": "税务局",
    "jrb": "地方金融发展服务中心",
    "fgj": "发展和改革局",
    "scj": "市场监督管理局",
    "wlj": "文化和广电旅游体育局",
    "nyj": "农业农村局",
    "czj": "财政局",
    # the demo's street offices (yiwang.demo creates them as <district>-street-1 … -4)
    "street-1": "街道办事处（第一街道）",
    "street-2": "街道办事处（第二街道）",
    "street-3": "街道办事处（第三街道）",
    "street-4": "街道办事处（第四街道）",
}
BENEFIT_TYPES = ("subsidy", "award", "tax_relief", "loan_interest", "qualification")
TARGETS = ("enterprise", "individual")

DOC_KEYS = {
    "key",
    "title",
    "doc_number",
    "issuer_names",
    "issuers",
    "issued_on",
    "effective_from",
    "effective_to",
    "source_url",
    "full_text",
    "interpretation",
}
ITEM_KEYS = {
    "code",
    "title",
    "title_en",
    "benefit_type",
    "target",
    "department",
    "summary",
    "opens_on",
    "closes_on",
    "no_application",
    "clause",
    "rule",
    "facts",
    "cases",
    "as_of",
}
CODE_RE = re.compile(r"^[a-z][a-z0-9-]{2,60}$")
ARTICLE_RE = re.compile(r"^第([一二三四五六七八九十百零]+)条", re.MULTILINE)
CLAUSE_RE = re.compile(r"^(第[一二三四五六七八九十百零]+条)((?:（[一二三四五六七八九十]+）)*)(.*)$")


class ContentError(ValueError):
    """The content files are malformed; ``problems`` lists every problem with its place."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class ItemSpec:
    code: str
    title: str
    title_en: str
    benefit_type: str
    target: str
    department: str
    summary: str
    opens_on: dt.date
    closes_on: dt.date | None
    no_application: bool
    rule: dict[str, Any]
    facts: dict[str, Any]
    cases: list[dict[str, Any]]
    as_of: dt.date
    source_file: str = ""


@dataclass
class DocumentSpec:
    key: str
    title: str
    doc_number: str
    issuer_names: str
    issuers: list[str]
    issued_on: dt.date
    effective_from: dt.date
    effective_to: dt.date | None
    source_url: str
    full_text: str
    interpretation: str
    items: list[ItemSpec] = field(default_factory=list)
    source_file: str = ""


@cache
def catalog() -> Catalog:
    return Catalog.load(CATALOG_PATH)


@cache
def shared_atoms() -> dict[str, dict[str, Any]]:
    raw = yaml.safe_load((CONTENT_DIR / "atoms.yaml").read_text(encoding="utf-8"))
    return {str(k): dict(v) for k, v in raw.items()}


def _date(v: Any, where: str, problems: list[str], optional: bool = False) -> dt.date | None:
    if v is None and optional:
        return None
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass
    problems.append(f"{where}: expected a date YYYY-MM-DD, got {v!r}")
    return None


def _expand(node: Any, path: str, problems: list[str], kind: str) -> Any:
    """Shared atoms (``use``) replaced by their text; every atom given its explicit kind."""
    if isinstance(node, str) or not isinstance(node, Mapping):
        return node
    out = dict(node)
    if "use" in out:
        name = str(out.pop("use"))
        shared = shared_atoms().get(name)
        if shared is None:
            problems.append(f"{path}: unknown shared atom {name!r}")
            return out
        merged = copy.deepcopy(shared)
        merged.setdefault("id", name)
        merged.update(out)
        out = merged
    for group in ("all", "any"):
        if group in out and isinstance(out[group], list):
            out[group] = [
                _expand(n, f"{path}.{group}[{i}]", problems, kind) for i, n in enumerate(out[group])
            ]
            return out
    if "not" in out:
        out["not"] = _expand(out["not"], f"{path}.not", problems, kind)
        return out
    out.setdefault("kind", kind)
    return out


def build_rule(doc: DocumentSpec, item: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """The full rules_version 1 tree of an item, from its YAML ``rule`` block."""
    code = str(item.get("code", "?"))
    raw = item.get("rule")
    if not isinstance(raw, Mapping):
        problems.append(f"{code}: an item needs a 'rule' mapping (when / bonus / amount)")
        return {}
    rule: dict[str, Any] = {
        "rules_version": 1,
        "id": code,
        "version": str(doc.issued_on.year),
        "label": {"zh": str(item.get("title", "")), "en": str(item.get("title_en", ""))},
        "source": {"document": doc.title, "doc_number": doc.doc_number},
    }
    if item.get("clause"):
        rule["source"]["clause"] = str(item["clause"])
    for k, v in raw.items():
        if k == "when":
            rule["when"] = _expand(v, f"{code}.when", problems, "hard")
        elif k == "bonus":
            rule["bonus"] = [
                _expand(b, f"{code}.bonus[{i}]", problems, "bonus") for i, b in enumerate(v or [])
            ]
        else:
            rule[str(k)] = copy.deepcopy(v)
    return rule


def load_document(path: Path) -> DocumentSpec:
    problems: list[str] = []
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    where = path.name
    if not isinstance(raw, Mapping) or not isinstance(raw.get("document"), Mapping):
        raise ContentError([f"{where}: a document file has 'document' and 'items'"])
    d = raw["document"]
    for k in d:
        if k not in DOC_KEYS:
            problems.append(f"{where}: unknown document key {k!r}")
    for k in ("key", "title", "doc_number", "issuer_names", "full_text", "interpretation"):
        if not d.get(k):
            problems.append(f"{where}: document.{k} is required")
    issuers = [str(x) for x in d.get("issuers") or []]
    for s in issuers:
        if s not in DEPARTMENTS:
            problems.append(f"{where}: unknown issuing department {s!r}")
    doc = DocumentSpec(
        key=str(d.get("key", "")),
        title=str(d.get("title", "")),
        doc_number=str(d.get("doc_number", "")),
        issuer_names=str(d.get("issuer_names", "")),
        issuers=issuers,
        issued_on=_date(d.get("issued_on"), f"{where}: issued_on", problems) or dt.date.min,
        effective_from=_date(d.get("effective_from"), f"{where}: effective_from", problems)
        or dt.date.min,
        effective_to=_date(d.get("effective_to"), f"{where}: effective_to", problems, True),
        source_url=str(d.get("source_url") or ""),
        full_text=str(d.get("full_text", "")).strip() + "\n",
        interpretation=str(d.get("interpretation", "")).strip() + "\n",
        source_file=str(path),
    )
    shared_facts = dict(raw.get("facts") or {})
    doc_as_of = _date(raw.get("as_of", CASES_AS_OF), f"{where}: as_of", problems) or CASES_AS_OF
    for i, it in enumerate(raw.get("items") or []):
        iw = f"{where}: items[{i}]"
        if not isinstance(it, Mapping):
            problems.append(f"{iw}: an item is a mapping")
            continue
        for k in it:
            if k not in ITEM_KEYS:
                problems.append(f"{iw}: unknown item key {k!r}")
        code = str(it.get("code", ""))
        if not CODE_RE.match(code):
            problems.append(f"{iw}: bad code {code!r} (lower-case letters, digits, -)")
        for k in ("title", "title_en", "summary", "department", "benefit_type", "target"):
            if not it.get(k):
                problems.append(f"{iw} ({code}): {k} is required")
        if it.get("benefit_type") not in BENEFIT_TYPES:
            problems.append(f"{iw} ({code}): benefit_type must be one of {BENEFIT_TYPES}")
        if it.get("target") not in TARGETS:
            problems.append(f"{iw} ({code}): target must be one of {TARGETS}")
        if it.get("department") not in DEPARTMENTS:
            problems.append(f"{iw} ({code}): unknown department {it.get('department')!r}")
        facts = {**shared_facts, **dict(it.get("facts") or {})}
        doc.items.append(
            ItemSpec(
                code=code,
                title=str(it.get("title", "")),
                title_en=str(it.get("title_en", "")),
                benefit_type=str(it.get("benefit_type", "")),
                target=str(it.get("target", "")),
                department=str(it.get("department", "")),
                summary=str(it.get("summary", "")).strip(),
                opens_on=_date(it.get("opens_on"), f"{iw}: opens_on", problems) or dt.date.min,
                closes_on=_date(it.get("closes_on"), f"{iw}: closes_on", problems, True),
                no_application=bool(it.get("no_application", False)),
                rule=build_rule(doc, it, problems),
                facts=facts,
                cases=[dict(c) for c in it.get("cases") or []],
                as_of=_date(it.get("as_of", doc_as_of), f"{iw}: as_of", problems) or doc_as_of,
                source_file=str(path),
            )
        )
    if problems:
        raise ContentError(problems)
    return doc


def document_files() -> list[Path]:
    return sorted(DOCUMENTS_DIR.glob("*.yaml"))


@cache
def _load_all() -> tuple[DocumentSpec, ...]:
    return tuple(load_document(p) for p in document_files())


def load_documents() -> list[DocumentSpec]:
    """Every document with its items (a fresh copy; the files are read once)."""
    return copy.deepcopy(list(_load_all()))


def iter_items(docs: list[DocumentSpec] | None = None) -> Iterator[tuple[DocumentSpec, ItemSpec]]:
    for doc in docs if docs is not None else load_documents():
        for item in doc.items:
            yield doc, item


# ------------------------------------------------------------------ test cases


def case_facts(item: ItemSpec, case: Mapping[str, Any]) -> dict[str, Any]:
    """A case's facts: its own ``facts`` if given, else the item's example facts changed by
    ``with`` and with the facts in ``without`` left out (so they are unknown)."""
    if "facts" in case:
        facts = dict(case["facts"] or {})
    else:
        facts = {**item.facts, **dict(case.get("with") or {})}
    for name in case.get("without") or []:
        facts.pop(str(name), None)
    return facts


def plain_case(item: ItemSpec, case: Mapping[str, Any]) -> dict[str, Any]:
    """A case in the ``yiwang.rules.testing`` format."""
    out: dict[str, Any] = {
        "name": str(case.get("name", "")),
        "facts": case_facts(item, case),
        "expect": dict(case.get("expect") or {}),
    }
    if case.get("decisions"):
        out["decisions"] = dict(case["decisions"])
    if case.get("as_of"):
        out["as_of"] = case["as_of"]
    return out


def _jsonable(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    return v


def export_cases(target: Path, docs: list[DocumentSpec] | None = None) -> int:
    """Write every item's rule (``<code>.json``) and cases (``<code>.cases.yaml``) with the
    catalog into ``target``, for ``yiwang rules test <target>``; returns the number of items."""
    target.mkdir(parents=True, exist_ok=True)
    (target / "catalog.yaml").write_text(CATALOG_PATH.read_text(encoding="utf-8"), "utf-8")
    n = 0
    for _doc, item in iter_items(docs):
        rule = {**item.rule, "catalog": "catalog.yaml"}
        (target / f"{item.code}.json").write_text(
            json.dumps(_jsonable(rule), ensure_ascii=False, indent=1), encoding="utf-8"
        )
        cases = {
            "rule": f"{item.code}.json",
            "as_of": item.as_of.isoformat(),
            "cases": [_jsonable(plain_case(item, c)) for c in item.cases],
        }
        (target / f"{item.code}.cases.yaml").write_text(
            yaml.safe_dump(cases, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        n += 1
    return n


# ------------------------------------------------------------------ clauses


def articles(full_text: str) -> dict[str, str]:
    """The numbered articles of a document: ``{"第三条": "<its text>"}``."""
    marks = list(ARTICLE_RE.finditer(full_text))
    out: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(full_text)
        out[m.group(0)] = full_text[m.start() : end]
    return out


def clause_found(full_text: str, clause: str) -> bool:
    """Whether a clause reference such as ``第三条（二）`` names text in the document: the
    article exists and each enumerated point (（二）) occurs in it."""
    m = CLAUSE_RE.match(clause.strip())
    if not m:
        return False
    art = articles(full_text).get(m.group(1))
    if art is None:
        return False
    points = re.findall(r"（[一二三四五六七八九十]+）", m.group(2))
    return all(p in art for p in points)


def rule_clauses(rule: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(node id or key, clause) for every clause reference in a rule tree."""

    def walk(node: Any, where: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, Mapping):
            if node.get("clause"):
                yield str(node.get("id", where)), str(node["clause"])
            for k, v in node.items():
                if k in ("all", "any", "not", "when", "bonus", "amount"):
                    yield from walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, f"{where}[{i}]")

    yield from walk({k: v for k, v in rule.items() if k != "source"}, rule.get("id", "rule"))
    src = rule.get("source") or {}
    if src.get("clause"):
        yield "source", str(src["clause"])


# ------------------------------------------------------------------ other districts


def localise(rule: dict[str, Any], district_code: str, streets: list[str]) -> dict[str, Any]:
    """The rule for another demo district: the demo district's code and its four streets'
    codes replaced by ``district_code`` and ``streets`` (by position)."""
    if district_code == DEMO_DISTRICT and list(streets[: len(DEMO_STREETS)]) == list(DEMO_STREETS):
        return rule
    text = json.dumps(rule, ensure_ascii=False)
    for old, new in zip(DEMO_STREETS, streets, strict=False):
        text = text.replace(f'"{old}"', f'"{new}"').replace(f'\\"{old}\\"', f'\\"{new}\\"')
    text = text.replace(f'"{DEMO_DISTRICT}"', f'"{district_code}"').replace(
        f'\\"{DEMO_DISTRICT}\\"', f'\\"{district_code}\\"'
    )
    result: dict[str, Any] = json.loads(text)
    return result
