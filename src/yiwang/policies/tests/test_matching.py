"""The per-enterprise path (``matching.for_enterprise``, rules.evaluate_many) and the bulk
path (``matching.for_item``, the numpy sweep) agree on random enterprises."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yiwang.policies import actions, matching
from yiwang.policies.tests import factories as f

pytestmark = pytest.mark.django_db

LAST_FY = f"FY{timezone.localdate().year - 1}"

RULES: dict[str, dict[str, Any]] = {
    "plain": f.rule(revenue=500),
    "either": {
        "when": {
            "all": [
                {"id": "in_district", "expr": 'registered_district == "330106"'},
                {
                    "id": "size_or_jobs",
                    "any": [
                        {"id": "sme", "expr": 'company_size <= "medium"'},
                        {"id": "jobs", "expr": "employees >= 50人"},
                    ],
                },
                {"id": "not_listed", "not": {"id": "dishonest", "expr": "on_dishonesty_list"}},
                {"id": "young", "expr": "years_since(founded_on) <= 10"},
            ]
        },
        "amount": {
            "unit": "万元",
            "label": {"zh": "奖励", "en": "award"},
            "formula": {
                "tiers": {
                    "by": {"fact": "revenue@FY-1"},
                    "brackets": [
                        {"from": "100万元", "value": {"const": 5, "unit": "万元"}},
                        {"from": "1000万元", "value": {"const": 20, "unit": "万元"}},
                    ],
                }
            },
        },
    },
}

enterprise = st.fixed_dictionaries(
    {
        "side": st.sampled_from(["a", "a", "b"]),
        "industry": st.sampled_from(["C3911", "C2710", "I6510", "F5123", ""]),
        "size": st.sampled_from(["micro", "small", "medium", "large", ""]),
        "founded": st.one_of(
            st.none(), st.dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2025, 12, 31))
        ),
        "revenue": st.one_of(st.none(), st.integers(min_value=0, max_value=3000)),
        "employees": st.one_of(st.none(), st.integers(min_value=0, max_value=200)),
        "dishonest": st.one_of(st.none(), st.booleans()),
        "declared_revenue": st.booleans(),
    }
)


@pytest.fixture
def items(gw):
    return {k: f.published_item(gw, rule=r, code=f"agree-{k}") for k, r in RULES.items()}


def _make(gw: Any, spec: dict[str, Any]) -> Any:
    org = f.organisation(
        gw,
        spec["side"],
        industry_code=spec["industry"],
        size_class=spec["size"],
        founded_on=spec["founded"],
    )
    values: dict[str, Any] = {}
    if spec["employees"] is not None:
        values["employees"] = spec["employees"]
    if spec["dishonest"] is not None:
        values["on_dishonesty_list"] = spec["dishonest"]
    if spec["revenue"] is not None and not spec["declared_revenue"]:
        values[f"revenue@{LAST_FY}"] = spec["revenue"]
    if values:
        actions.set_facts(None, org, values, source="测试数据集", notify=False)
    if spec["revenue"] is not None and spec["declared_revenue"]:
        from yiwang.policies.models import EnterpriseFact

        EnterpriseFact.objects.create(
            organisation=org,
            name="revenue",
            period=LAST_FY,
            value=spec["revenue"],
            source="企业自行申报",
            source_kind="self_declared",
            as_of=timezone.localdate(),
        )
    return org


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(specs=st.lists(enterprise, min_size=1, max_size=8))
def test_for_enterprise_and_for_item_agree(gw, items, specs):
    with transaction.atomic():
        orgs = [_make(gw, s) for s in specs]
        bulk = {k: matching.for_item(i, orgs=orgs) for k, i in items.items()}
        for k, i in items.items():  # the whole-population path (fact rows read by a join)
            whole = matching.for_item(i)
            assert sorted(whole.pass_ids) == sorted(bulk[k].pass_ids)
            assert sorted(whole.unknown_ids) == sorted(bulk[k].unknown_ids)
            assert whole.amounts == bulk[k].amounts
        for org in orgs:
            found = {m.item.code: m for m in matching.for_enterprise(org)}
            for k, item in items.items():
                m = found[item.code]
                s = bulk[k]
                expected = (
                    "pass"
                    if org.pk in s.pass_ids
                    else "unknown"
                    if org.pk in s.unknown_ids
                    else "fail"
                )
                assert m.verdict == expected, (k, org.pk, m.explanation)
                if m.verdict != "fail":
                    a, b = m.amount, s.amounts.get(org.pk)
                    assert (a is None and b is None) or abs(a - b) < 1e-9, (k, a, b)
        total = sum(
            b.counts["pass"] + b.counts["unknown"] + b.counts["fail"] for b in bulk.values()
        )
        assert total == len(orgs) * len(items)
        transaction.set_rollback(True)
