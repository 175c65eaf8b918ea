"""The anonymous 政策计算器: answers → catalog facts, field errors, and the same outcome as the
enterprise matching for the same facts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yiwang.core.errors import ValidationFailed
from yiwang.policies import calculator, matching
from yiwang.policies.tests import factories as f

TODAY = dt.date(2026, 6, 30)
pytestmark = pytest.mark.django_db


def test_answers_become_catalog_facts():
    a = calculator.parse(
        {
            "industry": "C39",
            "industry_class": "C3911",
            "founded_on": "2019-04-01",
            "company_size": "small",
            "employees": "1,200",
            "revenue": "800",
            "rd_expense": "40",
            "is_high_tech": "yes",
            "on_dishonesty_list": "no",
            "fact:export_value@FY-1": "300",
        },
        as_of=TODAY,
    )
    assert a.facts == {
        "industry": "C3911",
        "founded_on": dt.date(2019, 4, 1),
        "company_size": "small",
        "employees": 1200.0,
        "revenue@FY-1": 800.0,
        "rd_expense@FY-1": 40.0,
        "rd_ratio@FY-1": 5.0,
        "is_high_tech": True,
        "on_dishonesty_list": False,
        "export_value@FY-1": 300.0,
    }
    assert a.answered == 10


def test_blank_answers_are_unknown_not_zero():
    a = calculator.parse({"revenue": "", "is_high_tech": "", "employees": "  "}, as_of=TODAY)
    assert a.facts == {} and a.answered == 0


def test_each_bad_answer_is_named():
    with pytest.raises(ValidationFailed) as exc:
        calculator.parse(
            {
                "industry": "C",  # a section, not a division
                "industry_class": "Q9999",
                "founded_on": "2030-01-01",
                "company_size": "huge",
                "employees": "-3",
                "revenue": "1e12",
                "rd_expense": "nan",
                "tax_credit_level": "AAA",
                "is_srdi": "maybe",
                "fact:no_such_fact": "1",
                "fact:revenue": "1",  # a periodic fact without a period
            },
            as_of=TODAY,
        )
    assert set(exc.value.fields) == {
        "industry",
        "industry_class",
        "founded_on",
        "company_size",
        "employees",
        "revenue",
        "rd_expense",
        "tax_credit_level",
        "is_srdi",
        "fact:no_such_fact",
        "fact:revenue",
    }


def test_a_class_must_belong_to_the_division():
    with pytest.raises(ValidationFailed) as exc:
        calculator.parse({"industry": "C39", "industry_class": "C2611"}, as_of=TODAY)
    assert list(exc.value.fields) == ["industry_class"]


ANSWER = st.one_of(
    st.just(""),
    st.sampled_from(["yes", "no", "C39", "330106", "2020-01-01", "small", "A", "12", "-1"]),
    st.text(max_size=12),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(answers=st.dictionaries(st.sampled_from([q.name for q in calculator.QUESTIONS]), ANSWER))
def test_any_input_gives_facts_the_catalog_accepts_or_field_errors(answers):
    from yiwang.policies import profile

    try:
        a = calculator.parse(answers, as_of=TODAY)
    except ValidationFailed as exc:
        assert exc.fields and set(exc.fields) <= set(answers)
        return
    profile.catalog().normalize(a.facts, TODAY)  # raises if a fact does not fit the catalog
    for name, raw in answers.items():
        if not str(raw).strip():
            assert not any(k.startswith(name) for k in a.facts if name != "industry_class")


def test_the_calculator_agrees_with_the_enterprise_matching(pw):
    """The same facts through the calculator and through an enterprise's profile give the
    same outcome for every open item."""
    org = pw.extra["pol_org_a"]
    f.published_item(pw, "a", code="needs-rd", rule=_rd_rule())
    day = timezone.localdate()
    answers = {
        "area": pw.divisions["street_a"].code[:9],
        "industry": "C39",
        "industry_class": "C3911",
        "founded_on": "2015-05-01",
        "company_size": "small",
        "revenue": "800",
    }
    result = calculator.calculate(answers, as_of=day)
    by_calc = {m.item.code: m.outcome for m in result.matches}
    by_org = {m.item.code: m.outcome for m in matching.for_enterprise(org, as_of=day)}
    assert by_calc == by_org
    assert by_calc["needs-rd"] == "possibly"
    assert any(p.fact == "rd_expense@FY-1" and p.key == "rd_expense" for p in result.prompts)


def _rd_rule():
    r = f.rule(f.DISTRICT["a"])
    r["when"]["all"].append({"id": "rd", "expr": "rd_expense@FY-1 >= 50万元"})
    return r
