"""Profiles fed by the data exchange: the mapping is checked against the dataset schemas and
the catalog; a load feeds facts through the exchange under the policy department's grant
(logged), re-matches and delivers; no grant → nothing fed and a logged refusal; fields
outside the grant are not fed; an identical re-load changes nothing."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
from django.utils import timezone

from yiwang.core.models import AuditRecord
from yiwang.exchange import actions as xa
from yiwang.exchange.demo import DATASETS
from yiwang.exchange.models import ExchangeLog
from yiwang.policies import actions, feeds
from yiwang.policies.models import EnterpriseFact, PolicyDelivery, PolicyMatch
from yiwang.policies.tests import factories as f

TAX = "swj_annual_tax_summary"
DEMO_SCHEMAS = {d["code"]: d["schema"] for d in DATASETS}


@pytest.fixture(autouse=True)
def _english():
    """Refusal reasons are checked in English (the default language is zh-Hans)."""
    from django.utils import translation

    with translation.override("en"):
        yield


# --- the mapping --------------------------------------------------------------------------------
def test_shipped_mapping_fits_the_demo_schemas_and_the_catalog():
    src = feeds.sources()
    assert feeds.validate(src, DEMO_SCHEMAS) == []
    assert set(src.datasets) <= set(DEMO_SCHEMAS)
    assert src.purpose == "政策精准匹配" and src.requester


def _one(facts, *, period="year", subject="credit_code"):
    return feeds.parse(
        {
            "requester": "fgj",
            "datasets": {TAX: {"subject": subject, "period": period, "facts": facts}},
        }
    )


@pytest.mark.parametrize(
    ("facts", "kw", "needle"),
    [
        ([{"fact": "no_such_fact", "field": "revenue", "unit": "万元"}], {}, "not a fact"),
        ([{"fact": "revenue", "field": "turnover", "unit": "万元"}], {}, "not in the schema"),
        ([{"fact": "revenue", "field": "revenue", "unit": "人"}], {}, "cannot be compared"),
        ([{"fact": "revenue", "field": "revenue"}], {}, "state the field's unit"),
        ([{"fact": "revenue", "field": "revenue", "unit": "万元"}], {"period": ""}, "fiscal year"),
        ([{"fact": "tax_credit_level", "field": "credit_rating"}], {}, "latest_by"),
        ([{"fact": "founded_on", "field": "year", "latest_by": "year"}], {}, "cannot feed"),
        ([{"fact": "company_size", "field": "credit_rating", "latest_by": "year"}], {}, "values"),
        ([{"fact": "is_high_tech", "value": "yes", "latest_by": "year"}], {}, "constant"),
        ([{"fact": "revenue", "field": "revenue", "unit": "万元"}], {"subject": "uscc"}, "subject"),
        (
            [{"fact": "is_high_tech", "value": True, "when": {"grade": "A"}, "latest_by": "year"}],
            {},
            "condition field",
        ),
    ],
)
def test_a_wrong_mapping_is_caught(facts, kw, needle):
    problems = feeds.validate(_one(facts, **kw), DEMO_SCHEMAS)
    assert problems and any(needle in p for p in problems), problems


def test_a_mapping_of_an_unknown_dataset_is_caught():
    src = feeds.parse({"requester": "fgj", "datasets": {"nope": {"subject": "x", "facts": []}}})
    assert feeds.validate(src, DEMO_SCHEMAS) == ["nope: no such dataset"]


def test_rows_become_facts_with_period_units_and_the_newest_row():
    dmap = feeds.parse(
        {
            "requester": "fgj",
            "datasets": {
                TAX: {
                    "subject": "credit_code",
                    "period": "year",
                    "facts": [
                        {"fact": "revenue", "field": "revenue", "unit": "元"},
                        {"fact": "tax_credit_level", "field": "credit_rating", "latest_by": "year"},
                    ],
                }
            },
        }
    ).datasets[TAX]
    rows = [
        {"credit_code": "x1", "year": 2025, "revenue": 12_000_000, "credit_rating": "A"},
        {"credit_code": "x1", "year": 2024, "revenue": 9_000_000, "credit_rating": "C"},
    ]
    out, problems = feeds.facts_from_rows(
        dmap, rows, {"credit_code", "year", "revenue", "credit_rating"}
    )
    assert problems == []
    assert out == {
        "X1": {"revenue@FY2025": 1200.0, "revenue@FY2024": 900.0, "tax_credit_level": "A"}
    }
    # without the period field granted, only the facts without a period remain possible
    out, _ = feeds.facts_from_rows(dmap, rows, {"credit_code", "revenue", "credit_rating"})
    assert out == {}


# --- the feed -----------------------------------------------------------------------------------
YEAR = timezone.localdate().year - 1


@pytest.fixture
def tax(gw, monkeypatch):
    """城管局a publishes the tax dataset (the demo's schema); 数据局a is the policy department."""
    schema = copy.deepcopy(DEMO_SCHEMAS[TAX])
    for fld in schema["fields"]:
        fld.pop("element", None)
    ds = xa.do_publish_dataset(
        actor=gw.users["dept_staff_a"],
        code=TAX,
        name="企业年度纳税汇总",
        schema=schema,
        share_type="conditional",
        frequency="yearly",
        subject_kind="enterprise",
        subject_field="credit_code",
    )
    dept = gw.users["data_admin_a"].department
    monkeypatch.setattr(feeds, "policy_department", lambda src=None: dept)
    gw.extra["tax"] = ds
    gw.extra["policy_dept"] = dept
    return ds


def _grant(gw, fields):
    today = timezone.localdate()
    g = xa.do_request_grant(
        actor=gw.users["data_admin_a"],
        dataset_code=TAX,
        fields=fields,
        purpose=feeds.FEED_PURPOSE,
        legal_basis="《政务数据共享管理办法》",
        valid_from=today,
        valid_to=today + dt.timedelta(days=365),
        daily_quota=100,
    )
    return xa.do_decide_grant(actor=gw.users["dept_leader_a"], grant_id=g.pk, decision="approve")


def _load(gw, run, rows):
    return run(
        xa.do_load_dataset,
        actor=gw.users["dept_staff_a"],
        code=TAX,
        source="api",
        content=rows,
    )


def _row(org, revenue, *, year=YEAR, rating="A"):
    return {
        "credit_code": org.credit_code,
        "year": year,
        "revenue": revenue,
        "tax_paid": round(revenue * 0.05, 2),
        "credit_rating": rating,
    }


ALL = ["credit_code", "year", "revenue", "tax_paid", "credit_rating"]


def test_a_load_feeds_the_profile_and_rematches(gw, tax, run):
    item = f.published_item(gw)
    poor = f.organisation(gw)
    f.revenue(poor, 100)
    declared = f.organisation(gw)
    user = gw.users["enterprise_a"]
    user.credit_code = declared.credit_code
    user.save()
    actions.declare_fact(user, declared, "tax_credit_level", "B")
    assert not PolicyDelivery.objects.filter(item=item, organisation=poor).exists()
    _grant(gw, ALL)
    v = _load(gw, run, [_row(poor, 1200), _row(declared, 300, rating="M")])

    fact = EnterpriseFact.objects.get(organisation=poor, name="revenue", period=f"FY{YEAR}")
    assert fact.value == 1200.0
    assert fact.source == f"企业年度纳税汇总（{tax.owner.name}）"
    assert fact.source_kind == "dataset"
    assert fact.as_of == timezone.localdate(v.loaded_at)
    assert EnterpriseFact.objects.get(organisation=poor, name="tax_paid").value == 60.0
    # the official value replaces the self-declared one (ADR 0012)
    level = EnterpriseFact.objects.get(organisation=declared, name="tax_credit_level")
    assert (level.value, level.source_kind) == ("M", "dataset")
    # re-matched: now eligible, and a new delivery in the inbox
    assert PolicyMatch.objects.get(item=item, organisation=poor).verdict == "pass"
    assert PolicyDelivery.objects.filter(item=item, organisation=poor).count() == 1
    # read through the exchange, logged with the purpose, once per batch
    logs = ExchangeLog.objects.filter(dataset=tax, requester=gw.extra["policy_dept"])
    assert [(x.result, x.purpose) for x in logs] == [("ok", "政策精准匹配")]
    assert logs[0].fields_served == ALL
    assert AuditRecord.objects.filter(event="exchange.bulk_call", result="ok").count() == 1


def test_batches_are_one_message_each(gw, tax):
    _grant(gw, ALL)
    orgs = [f.organisation(gw) for _ in range(5)]
    xa.do_load_dataset(
        actor=gw.users["dept_staff_a"], code=TAX, source="api", content=[_row(o, 10) for o in orgs]
    )
    caller = xa.Caller(department=gw.extra["policy_dept"], user_label="t")
    from yiwang.exchange.selectors import fetch_rows_for_grant

    got = fetch_rows_for_grant(caller, TAX, ALL, feeds.FEED_PURPOSE, batch_size=2)
    assert len(got.rows) == 5 and len(got.log_ids) == 3
    assert {r["credit_code"] for r in got.rows} == {o.credit_code for o in orgs}


def test_without_a_grant_nothing_is_fed_and_the_refusal_is_logged(gw, tax, run):
    org = f.organisation(gw)
    _load(gw, run, [_row(org, 1200)])
    assert not EnterpriseFact.objects.filter(organisation=org).exists()
    log = ExchangeLog.objects.get(dataset=tax, requester=gw.extra["policy_dept"])
    assert (log.result, log.purpose, log.fields_served) == ("denied", "政策精准匹配", [])
    assert "No grant" in log.reason
    assert AuditRecord.objects.filter(event="exchange.bulk_call", result="denied").exists()
    report = feeds.feed_dataset(TAX, since_version=0)
    assert report.denied and report.facts == 0


def test_a_revoked_grant_feeds_nothing(gw, tax, run):
    g = _grant(gw, ALL)
    xa.do_revoke_grant(actor=gw.users["dept_leader_a"], grant_id=g.pk, reason="用途已结束")
    org = f.organisation(gw)
    _load(gw, run, [_row(org, 1200)])
    assert not EnterpriseFact.objects.filter(organisation=org).exists()
    assert ExchangeLog.objects.get(dataset=tax).reason == "The grant has been revoked."


def test_a_field_outside_the_grant_is_not_fed(gw, tax, run):
    _grant(gw, ["credit_code", "year", "revenue"])
    org = f.organisation(gw)
    _load(gw, run, [_row(org, 1200)])
    names = set(EnterpriseFact.objects.filter(organisation=org).values_list("name", flat=True))
    assert names == {"revenue"}
    log = ExchangeLog.objects.get(dataset=tax)
    assert log.fields_served == ["credit_code", "year", "revenue"]
    assert set(log.fields) - set(log.fields_served) == {"tax_paid", "credit_rating"}
    report = feeds.feed_dataset(TAX, since_version=0)
    assert report.withheld == ["tax_paid", "credit_rating"]


def test_an_identical_reload_changes_nothing(gw, tax, run):
    f.published_item(gw)
    _grant(gw, ALL)
    org = f.organisation(gw)
    rows = [_row(org, 1200), _row(org, 900, year=YEAR - 1)]
    v1 = _load(gw, run, rows)
    facts = list(
        EnterpriseFact.objects.filter(organisation=org).values(
            "name", "period", "value", "updated_at"
        )
    )
    logs = ExchangeLog.objects.count()
    audits = AuditRecord.objects.count()
    v2 = _load(gw, run, copy.deepcopy(rows))
    assert v2.pk == v1.pk  # no new version, no event
    assert ExchangeLog.objects.count() == logs and AuditRecord.objects.count() == audits
    # feeding the same rows again reads them (logged) but writes and re-matches nothing
    report = run(feeds.feed_dataset, TAX, since_version=0)
    assert (report.rows, report.enterprises, report.changed, report.facts) == (2, 0, 0, 0)
    assert AuditRecord.objects.filter(event="policies.facts_set").count() == 1  # the first
    after = list(
        EnterpriseFact.objects.filter(organisation=org).values(
            "name", "period", "value", "updated_at"
        )
    )
    assert after == facts


def test_a_changed_row_feeds_only_its_enterprise(gw, tax, run):
    _grant(gw, ALL)
    a, b = f.organisation(gw), f.organisation(gw)
    _load(gw, run, [_row(a, 100), _row(b, 200)])
    before = AuditRecord.objects.filter(event="policies.facts_set").count()
    _load(gw, run, [_row(a, 100), _row(b, 250)])
    sets = AuditRecord.objects.filter(event="policies.facts_set").order_by("pk")[before:]
    assert [r.object_id for r in sets] == [str(b.pk)]
    got = EnterpriseFact.objects.get(organisation=b, name="revenue", period=f"FY{YEAR}")
    assert got.value == 250.0


# --- the demo -----------------------------------------------------------------------------------
def test_the_demo_feeds_profiles_through_the_exchange(db, django_capture_on_commit_callbacks):
    from yiwang import demo as district_demo
    from yiwang.exchange.models import Grant
    from yiwang.policies import demo as policy_demo

    with django_capture_on_commit_callbacks(execute=True):
        district_demo.seed(
            residents=1,
            enterprises=2,
            people=10,
            things=2,
            organisations=12,
            cases=0,
            policies=False,
            onestop=False,
        )
    with django_capture_on_commit_callbacks(execute=False):
        report = policy_demo.seed(match=False)
    desk = feeds.policy_department()
    assert desk is not None and desk.code.endswith("-fgj")
    granted = Grant.objects.filter(requester=desk, purpose=feeds.FEED_PURPOSE, status="approved")
    assert set(granted.values_list("dataset__code", flat=True)) == set(feeds.sources().datasets)
    assert report.feed_grants == 4 and report.fed_facts > 0
    fed = EnterpriseFact.objects.filter(source__startswith="企业年度纳税汇总（")
    assert fed.filter(name="revenue").exists() and fed.filter(name="tax_credit_level").exists()
    assert EnterpriseFact.objects.filter(source__startswith="企业社保参保人数（", name="employees")
    ok = ExchangeLog.objects.filter(requester=desk, purpose="政策精准匹配", result="ok")
    assert set(ok.values_list("dataset__code", flat=True)) == set(feeds.sources().datasets)
    # a second run asks for nothing and reads nothing again
    logs = ExchangeLog.objects.count()
    with django_capture_on_commit_callbacks(execute=False):
        again = policy_demo.seed(match=False)
    assert (again.feed_grants, again.fed_facts) == (0, 0)
    assert ExchangeLog.objects.count() == logs
