"""Chinese full-text search: segmentation, the synonym table, BM25F ranking, the DB index."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yiwang.policies import search
from yiwang.policies.search import SYNONYMS, Entry, Index

FILLER = ["本区", "企业", "申报", "材料", "审核", "公示", "拨付", "年度", "条件", "标准"]


def titles(index: Index, query: str, entries: list[Entry], **kw) -> list[str]:
    by_pk = {e.pk: e.title for e in entries}
    return [by_pk[h.pk] for h in index.search(query, **kw)]


def test_rd_subsidy_finds_rd_expense_grant():
    entries = [
        Entry(
            "item",
            1,
            "企业研发费用补助",
            "按上年度研发费用的10%给予补助",
            "第四条 支持企业加大研发投入",
        ),
        Entry("item", 2, "外贸出口增量奖励", "出口额增长的企业给予奖励", "第三条 支持外贸企业"),
        Entry("item", 3, "就业见习补贴", "接收青年见习给予补贴", "第五条 稳岗"),
    ]
    idx = Index.build(entries)
    hits = idx.search("研发补贴")
    assert hits[0].pk == 1 and hits[0].complete
    assert all(h.pk != 1 for h in hits[1:])
    assert not any(h.complete for h in hits[1:])  # the others only share 补助 (补贴)


def test_phrases_fold_before_segmenting():
    assert search.query_terms("研究开发费用资助") == ["研发", "费用", "补助"]
    assert search.query_terms("贷款贴息") == ["贴息"]
    assert "研发" in search.tokens("高新技术企业研究开发费用")
    # full-width letters and digits are folded too
    assert search.normalise("ＩＰＯ").strip() == "上市"


def test_stopwords_and_punctuation_are_not_terms():
    assert search.query_terms("的、，。 和") == []
    assert Index.build([Entry("item", 1, "的")]).search("的") == []


SYNONYM_PAIRS = [
    (canonical, a, b)
    for canonical, forms in SYNONYMS.items()
    for a in (canonical, *forms)
    for b in (canonical, *forms)
]


@settings(max_examples=80, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(pair=st.sampled_from(SYNONYM_PAIRS), filler=st.lists(st.sampled_from(FILLER), max_size=4))
def test_any_form_of_a_word_finds_every_other(pair, filler):
    canonical, written, asked = pair
    text = "".join(filler) + written + "".join(reversed(filler))
    entries = [Entry("item", 1, text), Entry("item", 2, "与此无关的其他事项")]
    hits = Index.build(entries).search(asked)
    assert [h.pk for h in hits if h.complete] == [1], (canonical, written, asked, text)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    word=st.sampled_from(["研发", "贴息", "人才", "专精特新", "数字化", "房租", "知识产权"]),
    filler=st.lists(st.sampled_from(FILLER), min_size=1, max_size=6),
)
def test_title_outranks_summary_outranks_full_text(word, filler):
    pad = "".join(filler)
    entries = [
        Entry("item", 1, f"{pad}项目", pad, f"{pad}{word}{pad}"),
        Entry("item", 2, f"{pad}{word}项目", pad, pad),
        Entry("item", 3, f"{pad}项目", f"{pad}{word}", pad),
    ]
    hits = Index.build(entries).search(word)
    assert [h.pk for h in hits] == [2, 3, 1]


def test_complete_matches_come_before_partial_ones():
    entries = [
        Entry("item", 1, "研发 研发 研发 研发 研发 研发"),  # only one of the two words, many times
        Entry("item", 2, "房租补贴", "初创企业", "研发"),
    ]
    hits = Index.build(entries).search("研发 房租")
    assert [(h.pk, h.complete) for h in hits] == [(2, True), (1, False)]


def test_allowed_and_kinds_limit_the_hits():
    entries = [
        Entry("item", 1, "研发补助"),
        Entry("item", 2, "研发奖励"),
        Entry("document", 1, "关于支持研发的若干政策"),
    ]
    idx = Index.build(entries)
    assert {(h.kind, h.pk) for h in idx.search("研发")} == {
        ("item", 1),
        ("item", 2),
        ("document", 1),
    }
    assert [h.pk for h in idx.search("研发", kinds=("item",), allowed={"item": {2}})] == [2]
    assert idx.search("研发", limit=1)[0].kind in {"item", "document"}
    assert len(idx.search("研发", limit=1)) == 1


def test_a_long_word_segmented_differently_still_matches_through_its_parts():
    # "科技信贷" is one word in the query; the text has 科技 ... 信贷 apart.
    entries = [Entry("item", 1, "科技型企业的信贷支持")]
    hits = Index.build(entries).search("科技信贷")
    assert hits and hits[0].pk == 1


def test_clause_text_is_the_cited_articles():
    full = (
        "第一条 目的。\n第二条 适用范围。\n第三条 研发投入补助。\n（一）按10%补助；\n第四条 附则。"
    )
    rule = {
        "when": {"all": [{"id": "a", "clause": "第三条（一）"}, {"id": "b", "clause": "第二条"}]}
    }
    assert search.rule_clauses(rule) == ["第三条", "第二条"]
    text = search.clause_text(full, rule)
    assert "研发投入补助" in text and "（一）按10%补助" in text and "适用范围" in text
    assert "附则" not in text and "目的" not in text
    assert search.clause_text(full, {"when": {"all": []}}) == full


def test_rule_labels_reads_every_label():
    rule = {
        "label": {"zh": "研发补助", "en": "R&D grant"},
        "when": {"all": [{"id": "a", "label": "在本区注册"}, {"any": [{"label": {"zh": "高企"}}]}]},
        "bonus": [{"id": "x", "label": {"zh": "首次"}}],
        "amount": {"formula": "1万元", "label": {"zh": "补助金额"}},
    }
    assert search.rule_labels(rule) == [
        "研发补助",
        "R&D grant",
        "在本区注册",
        "高企",
        "首次",
        "补助金额",
    ]
    assert search.rule_labels(rule, "zh") == ["研发补助", "在本区注册", "高企", "首次", "补助金额"]


def test_the_content_library_answers_the_issue_example():
    """Over the real policy texts of the demo: 研发补贴 finds the R&D grant first."""
    from yiwang.policies.content import iter_items

    entries = []
    for n, (doc, item) in enumerate(iter_items()):
        entries.append(
            Entry(
                "item",
                n,
                item.title,
                item.summary + "\n".join(search.rule_labels(item.rule)),
                doc.title + search.clause_text(doc.full_text, item.rule),
            )
        )
    idx = Index.build(entries)
    first = titles(idx, "研发补贴", entries, limit=1)
    assert first and "研发" in first[0] and any(w in first[0] for w in ("补助", "补贴", "资助"))
    for title in titles(idx, "贷款贴息", entries, limit=2):
        assert "贴息" in title


def test_the_db_index_follows_changes(pw):
    from yiwang.policies.models import PolicyItem
    from yiwang.policies.tests import factories as f

    item = f.draft_item(pw, "a", title="企业研发费用补助", summary="按研发费用给予补助")
    qs = PolicyItem.objects.filter(pk=item.pk)
    assert [i.pk for i in search.search_items("研发补贴", qs)] == [item.pk]
    assert search.search_items("房租", qs) == []
    # a change through .update() sends no signal: the fingerprint still sees it
    PolicyItem.objects.filter(pk=item.pk).update(
        title="初创企业房租补贴",
        summary="房租",
        updated_at=item.updated_at + dt.timedelta(seconds=1),
    )
    assert [i.pk for i in search.search_items("房租补助", qs)] == [item.pk]
    # the caller's queryset is the scope
    others = PolicyItem.objects.exclude(pk=item.pk)
    assert item.pk not in [i.pk for i in search.search_items("房租", others)]
    # documents are searchable too
    doc_hits = search.search_documents("制造业", type(item.document).objects.all())
    assert item.document in doc_hits
