"""The demo policy library and profiles: seeded through the actions (maker–checker), every
enterprise profiled, inboxes filled, deterministic and idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps

from yiwang import demo as district_demo
from yiwang.accounts.models import User
from yiwang.core import audit
from yiwang.core.models import AuditRecord
from yiwang.policies import content, matching, profile
from yiwang.policies import demo as policy_demo
from yiwang.policies.models import (
    EnterpriseFact,
    ItemStatus,
    PolicyDelivery,
    PolicyItem,
    PolicyMatch,
    SourceKind,
    VersionStatus,
)
from yiwang.policies.selectors import enterprise_for
from yiwang.registry.models import Organisation

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 30)


def _counts() -> dict[str, int]:
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label in {"policies", "registry", "accounts"}
    }


@pytest.fixture
def seeded(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        district_demo.seed(
            residents=1,
            enterprises=2,
            people=20,
            things=5,
            organisations=80,
            cases=0,
            policies=False,
            onestop=False,
        )
    # As in ``yiwang demo`` (huey not immediate): the publication events only queue work,
    # and the seed matches every item itself.
    with django_capture_on_commit_callbacks(execute=False):
        report = policy_demo.seed(today=DAY)
    return report


def _check_every_item_is_published_by_a_second_person(seeded):
    specs = {item.code: item for _d, item in content.iter_items()}
    items = list(PolicyItem.objects.filter(synthetic=True).select_related("published_version"))
    assert {i.code for i in items} == set(specs)
    assert seeded.documents == len(content.load_documents())
    officer = User.objects.get(username=policy_demo.OFFICER)
    reviewer = User.objects.get(username=policy_demo.REVIEWER)
    for item in items:
        v = item.published_version
        assert v is not None and v.status == VersionStatus.PUBLISHED, item.code
        assert v.created_by_id == officer.pk and v.submitted_by_id == officer.pk
        assert v.reviewed_by_id == reviewer.pk
        spec = specs[item.code]
        if spec.closes_on is not None and spec.closes_on < DAY:
            assert item.status == ItemStatus.EXPIRED and item.closes_on == spec.closes_on
        else:
            assert item.status == ItemStatus.PUBLISHED, item.code
    assert seeded.expired == sum(
        1 for s in specs.values() if s.closes_on is not None and s.closes_on < DAY
    )
    assert seeded.expired >= 3
    events = set(AuditRecord.objects.values_list("event", flat=True))
    assert {
        "policies.document_created",
        "policies.item_created",
        "policies.submitted",
        "policies.published",
        "policies.expired",
        "policies.demo_profiles_seeded",
    } <= events
    assert audit.verify().ok


def _check_every_enterprise_has_a_profile_from_named_sources(seeded):
    orgs = list(Organisation.objects.all())
    with_facts = set(EnterpriseFact.objects.values_list("organisation_id", flat=True))
    assert {o.pk for o in orgs} <= with_facts
    assert seeded.profiles == len(orgs)
    sources = set(EnterpriseFact.objects.values_list("source", flat=True))
    for dept in ("税务局", "人社局", "科技局", "经信局", "海关", "信用中国"):
        assert any(dept in s for s in sources), dept
    assert set(EnterpriseFact.objects.values_list("source_kind", flat=True)) == {SourceKind.DATASET}
    periods = set(EnterpriseFact.objects.exclude(period="").values_list("period", flat=True))
    assert {"FY2023", "FY2024", "FY2025"} <= periods
    # facts are typed as the catalog says and none comes after the day it is known
    org = orgs[0]
    facts = profile.facts_for(org, as_of=DAY)
    assert facts["registered_district"] == "330106"
    assert facts["registered_street"] in content.DEMO_STREETS
    assert not EnterpriseFact.objects.filter(as_of__gt=DAY).exists()


def _check_about_five_percent_of_facts_are_missing(seeded):
    """Facts every enterprise would have (credit, tax level, employees …) are missing for
    roughly one in twenty."""
    n = Organisation.objects.count()
    for name in ("on_dishonesty_list", "tax_credit_level", "employees", "is_high_tech"):
        have = EnterpriseFact.objects.filter(name=name).count()
        assert 0.85 * n <= have < n, name


def _check_some_enterprise_is_eligible_and_some_possibly_eligible(seeded):
    assert seeded.matches > 0 and seeded.deliveries > 0
    assert PolicyMatch.objects.filter(verdict="pass").exists()
    assert PolicyMatch.objects.filter(verdict="unknown").exists()
    org_with_both = (
        PolicyMatch.objects.filter(verdict="pass")
        .values_list("organisation_id", flat=True)
        .intersection(
            PolicyMatch.objects.filter(verdict="unknown").values_list("organisation_id", flat=True)
        )
    )
    assert list(org_with_both)
    # every stored match was delivered once to the inbox; expired items are not matched
    assert PolicyDelivery.objects.count() == PolicyMatch.objects.count()
    assert not PolicyMatch.objects.filter(item__status=ItemStatus.EXPIRED).exists()


def _check_the_demo_enterprise_user_sees_matches_with_reasons(seeded):
    user = User.objects.get(username=policy_demo.SHOWCASE_USER)
    org = enterprise_for(user)
    assert org is not None and org.synthetic
    results = matching.for_enterprise(org, as_of=DAY, lang="zh")
    eligible = [m for m in results if m.verdict == "pass"]
    possibly = [m for m in results if m.verdict == "unknown"]
    assert len(eligible) >= 8
    codes = {m.item.code for m in eligible}
    assert {"kj-high-tech-award", "kj-rd-investment-subsidy", "rs-graduate-hiring-subsidy"} <= codes
    # the stable-jobs refund waits for the layoff rate the demo leaves out
    refund = next(m for m in possibly if m.item.code == "rs-stable-jobs-refund")
    assert any("layoff_rate" in str(x) for x in refund.evaluation.unknown)
    assert PolicyDelivery.objects.filter(organisation=org).count() >= len(eligible)


def _check_streets_decide_street_items(seeded):
    item = PolicyItem.objects.get(code="jd-gudang-digital-trade-award")
    summary = matching.for_item(item, as_of=DAY)
    assert summary.by_street
    for row in summary.by_street:
        if row["code"] == "":  # not placed on a grid: the street is unknown, so is the verdict
            assert row["pass"] == 0, row
        elif row["code"] != "330106007":
            assert row["pass"] == 0 and row["unknown"] == 0, row


def test_seed_fills_the_library_profiles_and_inboxes(seeded):
    """One seeded district (seeding takes a while), every property checked on it."""
    _check_every_item_is_published_by_a_second_person(seeded)
    _check_every_enterprise_has_a_profile_from_named_sources(seeded)
    _check_about_five_percent_of_facts_are_missing(seeded)
    _check_some_enterprise_is_eligible_and_some_possibly_eligible(seeded)
    _check_the_demo_enterprise_user_sees_matches_with_reasons(seeded)
    _check_streets_decide_street_items(seeded)


def test_second_run_adds_nothing(seeded, django_capture_on_commit_callbacks):
    before = _counts()
    audits = AuditRecord.objects.count()
    with django_capture_on_commit_callbacks(execute=False):
        again = policy_demo.seed(today=DAY)
    assert not again.changed
    assert again.documents == again.items == again.published == again.facts == 0
    assert _counts() == before
    assert AuditRecord.objects.count() == audits


def test_an_item_with_date_conditions_can_be_drafted(world):
    """Many demo rules compare dates (certificate valid until as_of, first counted in 2025);
    drafting one must work — its version's diff describes those atoms too."""
    from yiwang.policies import actions
    from yiwang.policies.tests import factories

    doc = factories.document(world)
    _d, spec = next((d, i) for d, i in content.iter_items() if i.code == "tax-high-tech-rate")
    item = actions.create_item(
        world.users["dept_staff_a"],
        doc,
        code=spec.code,
        title=spec.title,
        benefit_type=spec.benefit_type,
        department=world.departments["bureau_a"],
        summary=spec.summary,
        rule=spec.rule,
        opens_on=spec.opens_on,
    )
    assert item.versions.get().rule["id"] == spec.code


def test_profiles_are_deterministic():
    org = Organisation(
        credit_code="91330106MA0000001X",
        industry_code="C3911",
        size_class="small",
        founded_on=dt.date(2015, 5, 1),
    )
    import random

    a = policy_demo.enterprise_facts(org, random.Random(7), DAY)
    b = policy_demo.enterprise_facts(org, random.Random(7), DAY)
    assert a == b
    cat = content.catalog()
    normal = cat.normalize(a, DAY)  # every generated fact fits the catalog
    assert normal


def test_certificates_granted_on_a_leap_day_expire_on_28_february():
    assert policy_demo._add_years(dt.date(2024, 2, 29), 3) == dt.date(2027, 2, 28)
    assert policy_demo._add_years(dt.date(2024, 3, 1), 3) == dt.date(2027, 3, 1)
