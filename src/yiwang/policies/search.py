"""Chinese full-text search over policy documents and items.

jieba segments the text (``cut_for_search``, so a long word is indexed with its parts too);
a small synonym table folds the policy vocabulary onto one canonical word each (补贴, 补助,
资助, 奖补, 奖励 → 补助; 研究开发, 科研 → 研发 …), so "研发补贴" finds "研发费用补助".
Ranking is BM25F over three fields, title above summary above full text.

The index is built in the process from the database and rebuilt when the policy tables
change: each search compares a cheap fingerprint (row counts and latest change of
documents, items and versions) with the one the index was built from, so a change made by
another process is seen too. It works the same on SQLite and PostgreSQL.

Pure functions (:func:`tokens`, :class:`Index`) need no database; :func:`search_items` and
:func:`search_documents` rank a queryset the caller has already scoped.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import jieba

# --- Vocabulary -------------------------------------------------------------------------------

#: Canonical word → the words (and phrases) that mean the same thing in policy texts. The
#: canonical word is what is indexed; a query in any of the forms finds the others.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "补助": ("补贴", "资助", "奖补", "奖励", "补助资金", "扶持资金", "资金支持", "奖金"),
    "研发": ("研究开发", "科研", "研究与开发", "研发投入"),
    "贴息": ("贷款贴息", "利息补贴", "贴息补助", "利息补助"),
    "人才": ("引才", "人才引进", "引进人才", "招才引智"),
    "稳岗": ("就业", "稳就业", "稳岗返还", "稳岗补贴", "岗位"),
    "减免": ("免征", "减征", "税收优惠", "税费减免", "减税"),
    "创业": ("初创", "创办", "双创"),
    "专精特新": ("小巨人", "专精特新中小企业"),
    "高新技术企业": ("高企", "高新企业", "国家高新技术企业"),
    "数字化": ("数字化转型", "数字化改造", "智能化改造", "数智化"),
    "外贸": ("出口", "进出口", "外经贸"),
    "房租": ("租金", "房租补贴", "租房"),
    "上市": ("挂牌", "ipo", "股改"),
    "培训": ("技能培训", "职业培训", "职业技能"),
    "知识产权": ("专利", "商标"),
}

_STOP = """的 了 和 与 及 或 在 对 为 是 等 之 其 于 由 按 有 不 将 并 以 也 给予 给 予 个 上 下
中 一 二 三 四 五 六 七 八 九 十 （ ） ( ) 、 ， 。 ： ； “ ” 《 》 the of and for to a an in"""
STOPWORDS = frozenset(_STOP.split())

_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)
_LOCK = threading.Lock()


@cache
def _tokenizer() -> jieba.Tokenizer:
    """A jieba tokenizer of our own (the global one is left alone), knowing the policy words."""
    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    for canonical, forms in SYNONYMS.items():
        for word in (canonical, *forms):
            if len(word) > 1 and not word.isascii():
                tk.add_word(word, freq=20000)
    for word in (
        "免申即享",
        "规上",
        "规上企业",
        "瞪羚",
        "独角兽",
        "准独角兽",
        "孵化器",
        "众创空间",
    ):
        tk.add_word(word, freq=20000)
    return tk


@cache
def _phrase_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    """Multi-character forms replaced by their canonical word before segmenting, longest
    first (so "贷款贴息" becomes "贴息" and is not split as 贷款 + 贴息)."""
    table: dict[str, str] = {}
    for canonical, forms in SYNONYMS.items():
        for form in forms:
            table[form.lower()] = canonical
    ordered = sorted(table, key=len, reverse=True)
    return re.compile("|".join(re.escape(f) for f in ordered)), table


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, synonyms folded to their canonical word."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    pattern, table = _phrase_pattern()
    return pattern.sub(lambda m: f" {table[m.group(0)]} ", text)


def _keep(tok: str) -> bool:
    tok = tok.strip()
    return bool(tok) and tok not in STOPWORDS and not _PUNCT.match(tok)


def tokens(text: str) -> list[str]:
    """The index terms of ``text``: canonical words and, for long words, their parts."""
    return list(_tokens(text or ""))


@lru_cache(maxsize=20_000)
def _tokens(text: str) -> tuple[str, ...]:
    # Cached by text: a rebuild after one change segments only the changed texts (the items
    # of one document share its articles, which are segmented once).
    tk = _tokenizer()
    return tuple(t.strip() for t in tk.cut_for_search(normalise(text)) if _keep(t))


def query_terms(query: str) -> list[str]:
    """The words of a query (each once, in order). A word the index may have segmented
    differently still matches through its parts (see :meth:`Index.search`)."""
    tk = _tokenizer()
    seen: dict[str, None] = {}
    for t in tk.cut(normalise(query)):
        t = t.strip()
        if _keep(t):
            seen.setdefault(t, None)
    return list(seen)


def _parts(term: str) -> list[str]:
    """The sub-words jieba would index for a long word (empty when it has none)."""
    if len(term) <= 2:
        return []
    return [p for p in _tokenizer().cut_for_search(term) if p != term and _keep(p)]


# --- The index --------------------------------------------------------------------------------

FIELDS: tuple[tuple[str, float], ...] = (("title", 4.0), ("summary", 2.0), ("body", 0.7))
K1 = 1.2
B = 0.75


@dataclass(frozen=True)
class Entry:
    """One searchable thing: ``kind`` is "item" or "document"."""

    kind: str
    pk: int
    title: str
    summary: str = ""
    body: str = ""


@dataclass(frozen=True)
class Hit:
    kind: str
    pk: int
    score: float
    #: every query word was found (else the hit is a partial match, ranked after the others)
    complete: bool
    matched: tuple[str, ...] = ()


@dataclass
class _Doc:
    kind: str
    pk: int
    tf: dict[str, Counter[str]]
    length: dict[str, int]


@dataclass
class Index:
    """BM25F over title / summary / body. Build with :meth:`build`."""

    docs: list[_Doc] = field(default_factory=list)
    df: Counter[str] = field(default_factory=Counter)
    avg: dict[str, float] = field(default_factory=dict)
    postings: dict[str, set[int]] = field(default_factory=dict)

    @classmethod
    def build(cls, entries: Iterable[Entry]) -> Index:
        index = cls()
        totals: Counter[str] = Counter()
        for entry in entries:
            tf: dict[str, Counter[str]] = {}
            length: dict[str, int] = {}
            for name, _w in FIELDS:
                toks = tokens(getattr(entry, name))
                tf[name] = Counter(toks)
                length[name] = len(toks)
                totals[name] += len(toks)
            n = len(index.docs)
            index.docs.append(_Doc(entry.kind, entry.pk, tf, length))
            terms = set().union(*(set(c) for c in tf.values()))
            for t in terms:
                index.df[t] += 1
                index.postings.setdefault(t, set()).add(n)
        count = max(len(index.docs), 1)
        index.avg = {name: max(totals[name] / count, 1.0) for name, _w in FIELDS}
        return index

    def __len__(self) -> int:
        return len(self.docs)

    def _idf(self, term: str) -> float:
        n, df = len(self.docs), self.df.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def _term_score(self, doc: _Doc, term: str) -> float:
        pseudo = 0.0
        for name, weight in FIELDS:
            f = doc.tf[name].get(term, 0)
            if f:
                norm = 1 - B + B * doc.length[name] / self.avg[name]
                pseudo += weight * f / norm
        if not pseudo:
            return 0.0
        return self._idf(term) * pseudo * (K1 + 1) / (pseudo + K1)

    def search(
        self,
        query: str,
        *,
        kinds: Sequence[str] | None = None,
        allowed: Mapping[str, set[int]] | None = None,
        limit: int | None = None,
    ) -> list[Hit]:
        """Entries matching ``query``, best first. Entries with every query word come
        before those with only some. ``allowed`` limits the result to given primary keys
        per kind (the caller's scope)."""
        terms = query_terms(query)
        if not terms:
            return []
        # Each query word: the word itself, or else all of its parts.
        alternatives: list[tuple[str, list[str]]] = [(t, _parts(t)) for t in terms]
        candidates: set[int] = set()
        for term, parts in alternatives:
            candidates |= self.postings.get(term, set())
            for p in parts:
                candidates |= self.postings.get(p, set())
        hits: list[Hit] = []
        for n in candidates:
            doc = self.docs[n]
            if kinds is not None and doc.kind not in kinds:
                continue
            if allowed is not None and doc.pk not in allowed.get(doc.kind, set()):
                continue
            score, matched = 0.0, []
            for term, parts in alternatives:
                s = self._term_score(doc, term)
                if s:
                    matched.append(term)
                    score += s
                elif parts:
                    sub = [self._term_score(doc, p) for p in parts]
                    if all(sub):
                        matched.append(term)
                    score += 0.5 * sum(sub)
            if score > 0:
                hits.append(
                    Hit(doc.kind, doc.pk, score, len(matched) == len(terms), tuple(matched))
                )
        hits.sort(key=lambda h: (not h.complete, -h.score, h.kind, h.pk))
        return hits[:limit] if limit is not None else hits


# --- Built from the database ------------------------------------------------------------------


def rule_labels(rule: Any, lang: str | None = None) -> list[str]:
    """The people-facing texts in a rule tree (labels of the rule, groups, atoms, bonus items
    and the amount; both languages unless ``lang``), for indexing."""
    out: list[str] = []

    def label(raw: Any) -> None:
        if isinstance(raw, str):
            out.append(raw)
        elif isinstance(raw, Mapping):
            for k in ("zh", "en") if lang is None else (lang,):
                if isinstance(raw.get(k), str):
                    out.append(raw[k])

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            if "label" in node:
                label(node["label"])
            for key in ("when", "all", "any", "not", "bonus", "amount"):
                if key in node:
                    walk(node[key])
        elif isinstance(node, list):
            for x in node:
                walk(x)

    walk(rule)
    return out


_ARTICLE = re.compile(r"^\s*(第[一二三四五六七八九十百零〇\d]+条)", re.MULTILINE)


def articles(full_text: str) -> dict[str, str]:
    """A document's full text split into its articles, keyed "第四条"."""
    out: dict[str, str] = {}
    marks = list(_ARTICLE.finditer(full_text or ""))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(full_text)
        out.setdefault(m.group(1), full_text[m.start() : end].strip())
    return out


def rule_clauses(rule: Any) -> list[str]:
    """The articles a rule cites (``clause`` of the rule, its atoms, bonus and amount),
    as "第四条" (the paragraph part "（一）" dropped), in order."""
    seen: dict[str, None] = {}

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            clause = node.get("clause")
            if isinstance(clause, str):
                for m in re.finditer(r"第[一二三四五六七八九十百零〇\d]+条", clause):
                    seen.setdefault(m.group(0), None)
            for v in node.values():
                if isinstance(v, Mapping | list):
                    walk(v)
        elif isinstance(node, list):
            for x in node:
                walk(x)

    walk(rule)
    return list(seen)


def clause_text(full_text: str, rule: Any) -> str:
    """The text of the articles a rule cites (the whole text when it cites none found)."""
    parts = articles(full_text)
    cited = [parts[c] for c in rule_clauses(rule) if c in parts]
    return "\n".join(cited) if cited else (full_text or "")


def _item_rule(item: Any) -> dict[str, Any]:
    version = getattr(item, "published_version", None)
    if version is None:
        versions = getattr(item, "versions", None)
        version = versions.order_by("-number").first() if versions is not None else None
    rule = getattr(version, "rule", None)
    return rule if isinstance(rule, dict) else {}


def entries_from_db() -> list[Entry]:
    from yiwang.policies.models import PolicyDocument, PolicyItem

    out: list[Entry] = []
    docs = {d.pk: d for d in PolicyDocument.objects.all()}
    for d in docs.values():
        out.append(
            Entry(
                "document",
                d.pk,
                f"{d.title} {d.doc_number}",
                f"{d.issuer_names}\n{d.interpretation}",
                d.full_text,
            )
        )
    items = PolicyItem.objects.select_related("published_version").prefetch_related("versions")
    for it in items:
        doc = docs.get(it.document_id)
        rule = _item_rule(it)
        conditions = "\n".join(rule_labels(rule))
        body = f"{doc.title}\n{clause_text(doc.full_text, rule)}" if doc else ""
        out.append(Entry("item", it.pk, it.title, f"{it.summary}\n{conditions}", body))
    return out


def _fingerprint() -> tuple[Any, ...]:
    from django.db.models import Count, Max

    from yiwang.policies.models import PolicyDocument, PolicyItem, PolicyItemVersion

    parts: list[Any] = []
    for model in (PolicyDocument, PolicyItem, PolicyItemVersion):
        names = {f.name for f in model._meta.get_fields()}
        aggs: dict[str, Any] = {"n": Count("pk"), "top": Max("pk")}
        for stamp in ("updated_at", "updated", "reviewed_at", "submitted_at"):
            if stamp in names:
                aggs[stamp] = Max(stamp)
        row = model.objects.aggregate(**aggs)
        parts.append(tuple(sorted(row.items())))
    return tuple(parts)


_cached: dict[str, Any] = {"fingerprint": None, "index": None, "generation": -1}
_generation = [0]


def invalidate(*_args: Any, **_kwargs: Any) -> None:
    """Drop the in-process index (signal receiver; the fingerprint catches the rest)."""
    _generation[0] += 1


def _connect() -> None:
    from django.db.models.signals import post_delete, post_save

    for name in ("PolicyDocument", "PolicyItem", "PolicyItemVersion"):
        post_save.connect(invalidate, sender=f"policies.{name}", dispatch_uid=f"search-{name}")
        post_delete.connect(invalidate, sender=f"policies.{name}", dispatch_uid=f"search-d{name}")


_connect()


def index() -> Index:
    """The index of every document and item, rebuilt when the tables changed."""
    fp = _fingerprint()
    with _LOCK:
        if (
            _cached["index"] is not None
            and _cached["fingerprint"] == fp
            and _cached["generation"] == _generation[0]
        ):
            return _cached["index"]  # type: ignore[no-any-return]
        built = Index.build(entries_from_db())
        _cached.update(fingerprint=fp, index=built, generation=_generation[0])
        return built


def _rank(query: str, kind: str, qs: Any, limit: int | None) -> list[Any]:
    pks = set(qs.values_list("pk", flat=True))
    hits = index().search(query, kinds=(kind,), allowed={kind: pks}, limit=limit)
    objects = qs.in_bulk([h.pk for h in hits])
    out = []
    for h in hits:
        obj = objects.get(h.pk)
        if obj is not None:
            obj.search_score = h.score
            obj.search_complete = h.complete
            out.append(obj)
    return out


def search_items(query: str, qs: Any, *, limit: int | None = None) -> list[Any]:
    """The items of ``qs`` (already scoped and filtered) matching ``query``, best first;
    each gets ``search_score`` and ``search_complete``."""
    return _rank(query, "item", qs, limit)


def search_documents(query: str, qs: Any, *, limit: int | None = None) -> list[Any]:
    return _rank(query, "document", qs, limit)
