"""Items, versions and maker–checker; facts and corrections — through the actions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditRecord
from yiwang.policies import actions, profile
from yiwang.policies.models import (
    EnterpriseFact,
    FactCorrection,
    ItemStatus,
    PolicyItem,
    PolicyItemVersion,
    SourceKind,
    VersionStatus,
)
from yiwang.policies.tests import factories as f

pytestmark = pytest.mark.django_db


def test_create_item_makes_draft_v1_and_audits(gw):
    item = f.draft_item(gw)
    v = item.versions.get()
    assert (item.status, v.number, v.status) == (ItemStatus.DRAFT, 1, VersionStatus.DRAFT)
    assert v.rule["id"] == item.code and v.rule["rules_version"] == 1
    assert [a["id"] for a in v.diff["added"]] == ["in_district", "revenue", "manufacturing"]
    assert AuditRecord.objects.filter(
        event="policies.item_created", object_id=str(item.pk)
    ).exists()


def test_bad_rule_names_atom_and_fact_and_saves_nothing(gw):
    doc = f.document(gw)
    bad = {
        "when": {
            "all": [
                {"id": "r", "expr": "revenu@FY-1 >= 5万元"},
                {"id": "ind", "expr": "industry >= 3"},
                {"id": "emp", "expr": "employees >= 5万元"},
                {"any": []},
            ]
        }
    }
    with translation.override("en"), pytest.raises(ValidationFailed) as e:
        f.draft_item(gw, doc=doc, code="bad-rule", rule=bad)
    msgs = e.value.fields["rule"]
    assert any("atom r" in m and "revenu" in m for m in msgs)
    assert any("atom ind" in m and "fact industry" in m for m in msgs)
    assert any("atom emp" in m for m in msgs)
    assert any("'any'" in m for m in msgs)
    assert not PolicyItem.objects.filter(code="bad-rule").exists()
    assert not PolicyItemVersion.objects.filter(item__code="bad-rule").exists()


def test_deadline_in_the_past_is_refused(gw):
    past = timezone.localdate() - dt.timedelta(days=1)
    with pytest.raises(ValidationFailed) as e:
        f.draft_item(gw, closes_on=past, code="late-item")
    assert "closes_on" in e.value.fields
    assert not PolicyItem.objects.filter(code="late-item").exists()


def test_item_field_errors(gw):
    doc = f.document(gw)
    with pytest.raises(ValidationFailed) as e:
        actions.create_item(
            gw.users["dept_staff_a"],
            doc,
            code="BAD CODE",
            title="",
            benefit_type="gift",
            department=gw.departments["bureau_b"],
            rule={"no": "when"},
        )
    assert set(e.value.fields) >= {"code", "title", "benefit_type", "department", "rule"}


def test_maker_checker(gw):
    item = f.draft_item(gw)
    maker, checker = gw.users["dept_staff_a"], gw.users["dept_leader_a"]
    with pytest.raises(Conflict):
        actions.approve(checker, item)  # nothing in review
    actions.submit_for_review(maker, item)
    with pytest.raises(Forbidden):
        actions.approve(maker, item)  # no policies.review
    # a checker who wrote the version cannot approve it either
    own = f.draft_item(gw)
    PolicyItemVersion.objects.filter(item=own).update(created_by=checker)
    actions.submit_for_review(maker, own)
    with pytest.raises(Forbidden):
        actions.approve(checker, own)
    with pytest.raises(Forbidden):
        actions.approve(None, item)
    v = actions.approve(checker, item, "同意")
    item.refresh_from_db()
    assert v.status == VersionStatus.PUBLISHED and v.reviewed_by == checker
    assert item.status == ItemStatus.PUBLISHED and item.published_version == v
    assert AuditRecord.objects.filter(event="policies.published", object_id=str(item.pk)).exists()


def test_submitter_cannot_approve_even_with_review_capability(gw):
    item = f.draft_item(gw)
    leader = gw.users["dept_leader_a"]
    actions.submit_for_review(leader, item)
    with pytest.raises(Forbidden):
        actions.approve(leader, item)


def test_publish_sends_event_after_commit(gw, django_capture_on_commit_callbacks, monkeypatch):
    seen = []
    monkeypatch.setattr("yiwang.policies.delivery.on_published", lambda pk: seen.append(pk))
    item = f.draft_item(gw)
    actions.submit_for_review(gw.users["dept_staff_a"], item)
    with django_capture_on_commit_callbacks(execute=True):
        actions.approve(gw.users["dept_leader_a"], item)
    assert seen == [item.pk]


def test_versions_and_diff(gw):
    item = f.published_item(gw)
    new_rule = f.rule(revenue=1000)
    new_rule["when"]["all"] = [a for a in new_rule["when"]["all"] if a["id"] != "manufacturing"]
    new_rule["when"]["all"].append({"id": "sme", "expr": 'company_size <= "medium"'})
    v2 = actions.update_rule(gw.users["dept_staff_a"], item, new_rule)
    assert v2.number == 2 and v2.status == VersionStatus.DRAFT
    assert [a["id"] for a in v2.diff["added"]] == ["sme"]
    assert [a["id"] for a in v2.diff["removed"]] == ["manufacturing"]
    assert [m["id"] for m in v2.diff["modified"]] == ["revenue"]
    assert v2.diff["against"] == 1
    # editing the draft again changes v2 in place
    v2b = actions.update_rule(gw.users["dept_staff_a"], item, f.rule(revenue=900))
    assert v2b.pk == v2.pk and v2b.diff["added"] == [] and v2b.diff["removed"] == []
    item.refresh_from_db()
    assert item.status == ItemStatus.PUBLISHED and item.published_version.number == 1
    actions.submit_for_review(gw.users["dept_staff_a"], item)
    with pytest.raises(Conflict):
        actions.update_rule(gw.users["dept_staff_a"], item, f.rule())
    actions.reject(gw.users["dept_leader_a"], item, "金额依据不足")
    v3 = actions.update_rule(gw.users["dept_staff_a"], item, f.rule(revenue=700))
    assert v3.number == 3
    actions.submit_for_review(gw.users["dept_staff_a"], item)
    actions.approve(gw.users["dept_leader_a"], item)
    statuses = dict(item.versions.values_list("number", "status"))
    assert statuses == {1: "superseded", 2: "rejected", 3: "published"}


def test_reject_needs_reason(gw):
    item = f.draft_item(gw)
    actions.submit_for_review(gw.users["dept_staff_a"], item)
    with pytest.raises(ValidationFailed) as e:
        actions.reject(gw.users["dept_leader_a"], item, " ")
    assert "reason" in e.value.fields
    actions.reject(gw.users["dept_leader_a"], item, "不清楚")
    item.refresh_from_db()
    assert item.status == ItemStatus.DRAFT


def test_withdraw_and_expire(gw):
    item = f.published_item(gw)
    with pytest.raises(Forbidden):
        actions.withdraw(gw.users["dept_staff_a"], item, "x")
    actions.withdraw(gw.users["dept_leader_a"], item, "政策调整")
    item.refresh_from_db()
    assert item.status == ItemStatus.WITHDRAWN
    with pytest.raises(Conflict):
        actions.update_rule(gw.users["dept_staff_a"], item, f.rule())

    other = f.published_item(gw)
    PolicyItem.objects.filter(pk=other.pk).update(closes_on=timezone.localdate() - dt.timedelta(1))
    assert actions.expire_due() == 1
    other.refresh_from_db()
    assert other.status == ItemStatus.EXPIRED
    assert actions.expire_due() == 0


# --- facts ----------------------------------------------------------------------------------------
def test_declare_fact_fills_missing_but_not_official(gw):
    org = f.enterprise_org(gw)
    user = gw.users["enterprise_a"]
    fact = actions.declare_fact(user, org, "employees", 42)
    assert fact.source_kind == SourceKind.SELF_DECLARED and fact.declared_by == user
    assert profile.facts_for(org)["employees"] == 42
    with pytest.raises(ValidationFailed) as e:
        actions.declare_fact(user, org, "industry", "C3912")  # the registry holds it
    assert "name" in e.value.fields
    with pytest.raises(ValidationFailed) as e:
        actions.declare_fact(user, org, "employees", "many")
    assert "value" in e.value.fields
    with pytest.raises(ValidationFailed) as e:
        actions.declare_fact(user, org, "revenue", 100)  # needs a period
    assert "period" in e.value.fields
    with pytest.raises(ValidationFailed) as e:
        actions.declare_fact(user, org, "nonsense", 1)
    assert "name" in e.value.fields
    with pytest.raises(NotFound):
        actions.declare_fact(gw.users["enterprise_b"], org, "employees", 1)


def test_official_value_wins_over_self_declared(gw):
    org = f.enterprise_org(gw)
    actions.declare_fact(gw.users["enterprise_a"], org, "employees", 42)
    actions.set_fact(None, org, "employees", 40, source="人社局社保参保数据", notify=False)
    assert profile.facts_for(org)["employees"] == 40
    shown = [x for x in profile.profile_for(org) if x.name == "employees"]
    assert [(x.value, x.source_kind) for x in shown] == [(40.0, "dataset")]
    # a registry value that appears later hides an earlier self-declared one
    EnterpriseFact.objects.create(
        organisation=org,
        name="founded_on",
        value="2010-01-01",
        source="企业自行申报",
        source_kind=SourceKind.SELF_DECLARED,
        as_of=timezone.localdate(),
    )
    shown = [x for x in profile.profile_for(org) if x.name == "founded_on"]
    assert [(x.source_kind, x.overridden) for x in shown] == [
        ("registry", False),
        ("self_declared", True),
    ]
    assert profile.facts_for(org)["founded_on"] == dt.date(2015, 5, 1)


def test_profile_has_registry_facts_with_source_and_as_of(gw):
    org = f.enterprise_org(gw)
    facts = {x.name: x for x in profile.profile_for(org)}
    assert facts["registered_district"].value == "330106"
    assert facts["registered_street"].value == "330106001"
    assert facts["industry"].value == "C3911"
    assert facts["industry"].source_kind == "registry" and facts["industry"].as_of is not None


def test_set_facts_all_or_nothing(gw):
    org = f.enterprise_org(gw)
    with pytest.raises(ValidationFailed) as e:
        actions.set_facts(
            None, org, {"employees": 10, "revenue@FY2025": "lots"}, source="统计局", notify=False
        )
    assert "revenue@FY2025" in e.value.fields
    assert not EnterpriseFact.objects.filter(organisation=org).exists()


def test_correction_accept_sets_official_fact(gw):
    org = f.enterprise_org(gw)
    c = actions.request_correction(
        gw.users["enterprise_a"], org, "company_size", "medium", "去年已扩大规模"
    )
    with pytest.raises(ValidationFailed):  # one open request per fact
        actions.request_correction(gw.users["enterprise_a"], org, "company_size", "large", "x")
    with pytest.raises(Forbidden):
        actions.decide_correction(gw.users["enterprise_a"], c, accept=True)
    actions.decide_correction(gw.users["dept_staff_a"], c, accept=True)
    c.refresh_from_db()
    assert c.status == "accepted"
    assert profile.facts_for(org)["company_size"] == "medium"
    with pytest.raises(Conflict):
        actions.decide_correction(gw.users["dept_staff_a"], c, accept=False, note="x")


def test_correction_reject_needs_note(gw):
    org = f.enterprise_org(gw)
    c = actions.request_correction(gw.users["enterprise_a"], org, "industry", "C3912", "变更")
    with pytest.raises(ValidationFailed):
        actions.decide_correction(gw.users["dept_staff_a"], c, accept=False)
    actions.decide_correction(gw.users["dept_staff_a"], c, accept=False, note="登记信息无误")
    assert FactCorrection.objects.get(pk=c.pk).status == "rejected"
    assert profile.facts_for(org)["industry"] == "C3911"


def test_diff_of_date_atoms(gw):
    r = f.rule()
    r["when"]["all"].append({"id": "valid", "expr": "high_tech_expires_on >= as_of"})
    item = f.published_item(gw, rule=r)
    r2 = f.rule()
    r2["when"]["all"].append({"id": "valid", "expr": "high_tech_expires_on >= 2026-01-01"})
    v2 = actions.update_rule(gw.users["dept_staff_a"], item, r2)
    [m] = v2.diff["modified"]
    assert m["id"] == "valid" and m["changes"]["value"] == ["as_of", "2026-01-01"]
