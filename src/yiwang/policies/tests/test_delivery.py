"""Matching and delivery: publish → matches stored → inbox once per item; opt-out; profile
change → a new delivery; expired items not matched; email/SMS notices."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone, translation

from yiwang.core.models import AuditRecord
from yiwang.policies import actions, delivery, matching
from yiwang.policies.models import PolicyDelivery, PolicyItem, PolicyMatch
from yiwang.policies.tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def outbox(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.YIWANG_EMAIL_BACKEND = "file"
    settings.YIWANG_SMS_BACKEND = "file"

    def read(channel: str) -> list[dict]:
        path = tmp_path / "outbox" / f"{channel}.jsonl"
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]

    return read


@pytest.fixture
def orgs(gw):
    """Side a: a qualifying manufacturer (the enterprise user's), one with too little revenue,
    one without a known revenue, a service company; side b: a qualifying one elsewhere."""
    rich = f.enterprise_org(gw)
    f.revenue(rich, 800)
    poor = f.organisation(gw)
    f.revenue(poor, 100)
    unknown = f.organisation(gw)
    service = f.organisation(gw, industry_code="I6510")
    f.revenue(service, 900)
    far = f.organisation(gw, "b")
    f.revenue(far, 900)
    return {"rich": rich, "poor": poor, "unknown": unknown, "service": service, "far": far}


def test_publish_matches_in_bulk_and_delivers_once(gw, orgs, run, outbox):
    gw.users["enterprise_a"].email = "boss@example.com"
    gw.users["enterprise_a"].save()
    item = f.draft_item(gw)
    actions.submit_for_review(gw.users["dept_staff_a"], item)
    run(actions.approve, gw.users["dept_leader_a"], item)  # after commit: match + deliver
    stored = dict(PolicyMatch.objects.filter(item=item).values_list("organisation_id", "verdict"))
    assert stored == {orgs["rich"].pk: "pass", orgs["unknown"].pk: "unknown"}
    m = PolicyMatch.objects.get(item=item, organisation=orgs["unknown"])
    assert m.missing[0]["facts"] == [f"revenue@FY{timezone.localdate().year - 1}"]
    assert float(PolicyMatch.objects.get(item=item, organisation=orgs["rich"]).amount) == 8.0
    got = dict(PolicyDelivery.objects.filter(item=item).values_list("organisation_id", "verdict"))
    assert got == stored
    mails = outbox("email")
    assert len(mails) == 1 and item.title in mails[0]["subject"]
    assert AuditRecord.objects.filter(event="policies.notice_sent").count() == 1
    # once per item: matching again (a new version) delivers nothing new
    assert delivery.deliver(item=item) == []
    delivery.on_published(item.pk)
    assert PolicyDelivery.objects.filter(item=item).count() == 2
    assert len(outbox("email")) == 1


def test_the_notice_is_in_the_enterprise_users_language(gw, orgs, run, outbox):
    user = gw.users["enterprise_a"]
    user.email, user.language = "boss@example.com", "en"
    user.save()
    item = f.draft_item(gw)
    actions.submit_for_review(gw.users["dept_staff_a"], item)
    run(actions.approve, gw.users["dept_leader_a"], item)
    [mail] = outbox("email")
    assert mail["subject"] == f"【政策通】{item.title}"
    assert mail["body"].startswith(
        f"Your organisation meets the conditions to apply for {item.title} ("
    )
    assert mail["body"].endswith("Log in to the enterprise service to see why it matched.")
    user.language = ""
    user.save()
    with translation.override("zh-hans"):
        notice = PolicyDelivery.objects.get(item=item, organisation=orgs["rich"])
        _subject, body = delivery._text(notice)
    assert body.startswith(f"贵单位符合申报条件：{item.title}（")
    assert body.endswith("。请登录一网统管企业服务查看匹配理由。")


def test_opt_out(gw, orgs, run):
    actions.set_preference(gw.users["enterprise_a"], orgs["rich"], push=False)
    item = f.published_item(gw)
    assert PolicyMatch.objects.filter(item=item, organisation=orgs["rich"]).exists()
    assert not PolicyDelivery.objects.filter(item=item, organisation=orgs["rich"]).exists()
    assert PolicyDelivery.objects.filter(item=item, organisation=orgs["unknown"]).exists()


def test_profile_change_delivers_new_match(gw, orgs, run):
    item = f.published_item(gw)
    poor = orgs["poor"]
    assert not PolicyDelivery.objects.filter(item=item, organisation=poor).exists()
    year = timezone.localdate().year - 1
    run(
        actions.set_fact,
        None,
        poor,
        "revenue",
        1200,
        period=f"FY{year}",
        source="税务局年度企业所得税申报",
    )
    d = PolicyDelivery.objects.get(item=item, organisation=poor)
    assert d.verdict == "pass"
    assert PolicyMatch.objects.get(item=item, organisation=poor).verdict == "pass"
    # the enterprise supplies its own missing revenue: possibly → eligible, still one delivery
    unknown = orgs["unknown"]
    user = gw.users["enterprise_a"]
    user.credit_code = unknown.credit_code
    user.save()
    assert PolicyMatch.objects.get(item=item, organisation=unknown).verdict == "unknown"
    run(actions.declare_fact, user, unknown, "revenue", 600, f"FY{year}")
    assert PolicyMatch.objects.get(item=item, organisation=unknown).verdict == "pass"
    assert PolicyDelivery.objects.filter(item=item, organisation=unknown).count() == 1


def test_profile_change_that_fails_removes_the_match(gw, orgs, run):
    item = f.published_item(gw)
    rich = orgs["rich"]
    run(
        actions.set_fact,
        None,
        rich,
        "revenue",
        10,
        period=f"FY{timezone.localdate().year - 1}",
        source="税务局",
    )
    assert not PolicyMatch.objects.filter(item=item, organisation=rich).exists()
    assert PolicyDelivery.objects.filter(item=item, organisation=rich).exists()  # history stays


def test_expired_items_are_not_matched(gw, orgs):
    item = f.published_item(gw)
    PolicyItem.objects.filter(pk=item.pk).update(closes_on=timezone.localdate() - dt.timedelta(1))
    found = matching.for_enterprise(orgs["rich"])
    assert item.pk not in [m.item.pk for m in found]
    actions.expire_due()
    item.refresh_from_db()
    assert delivery.match_item(item)["pass"] == 0
    assert not PolicyMatch.objects.filter(item=item).exists()


def test_withdrawn_items_lose_their_matches(gw, orgs):
    item = f.published_item(gw)
    assert PolicyMatch.objects.filter(item=item).exists()
    actions.withdraw(gw.users["dept_leader_a"], item, "停止执行")
    assert not PolicyMatch.objects.filter(item=item).exists()
    assert item.pk not in [m.item.pk for m in matching.for_enterprise(orgs["rich"])]


def test_for_enterprise_outcomes_and_reasons(gw, orgs):
    f.published_item(gw)
    f.published_item(gw, rule=f.rule(revenue=5000), code="big-only")
    found = {m.item.code: m for m in matching.for_enterprise(orgs["rich"])}
    big = found["big-only"]
    assert big.outcome == "not_eligible"
    assert [x["id"] for x in big.failed] == ["revenue"]
    assert big.failed[0]["fact"].startswith("revenue@FY")
    ok = next(m for m in found.values() if m.outcome == "eligible")
    assert ok.amount == 8.0 and ok.deadline is not None and ok.explanation
    maybe = matching.for_enterprise(orgs["unknown"])[0]
    assert maybe.outcome == "possibly"
    assert maybe.facts_to_provide == [f"revenue@FY{timezone.localdate().year - 1}"]


def test_for_item_counts_by_street_and_industry(gw, orgs):
    item = f.published_item(gw)
    s = matching.for_item(item)
    assert s.counts == {"pass": 1, "unknown": 1, "fail": 3}
    assert s.by_street == [{"code": "330106001", "name": "街道a", "pass": 1, "unknown": 1}]
    assert s.by_industry == [{"section": "C", "pass": 1, "unknown": 1}]
    assert set(s.pass_ids) == {orgs["rich"].pk}


def test_preview_of_unpublished_rule(gw, orgs):
    s = matching.preview(f.rule(revenue=50))
    assert s.counts["pass"] == 2  # rich and poor; the service company is not a manufacturer
    assert {x["name"] for x in s.sample if x["verdict"] == "pass"} == {
        orgs["rich"].name,
        orgs["poor"].name,
    }
