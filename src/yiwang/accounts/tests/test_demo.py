"""The demo district: seeded once, synthetic, audited, every role present."""

from __future__ import annotations

import pytest
from django.apps import apps

from yiwang import demo
from yiwang.accounts.models import Division, User
from yiwang.accounts.roles import Role
from yiwang.core import audit
from yiwang.core.ids import validate_credit_code, validate_resident_id


def _counts() -> dict[str, int]:
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label in {"accounts", "core"}
    }


@pytest.mark.django_db
def test_seed_is_idempotent_and_audited():
    first = demo.seed(residents=3, enterprises=2)
    assert first.users == len(demo.ACCOUNTS) + 5
    after_first = _counts()
    second = demo.seed(residents=3, enterprises=2)
    assert not second.changed
    assert _counts() == after_first
    assert audit.verify().ok
    assert after_first["core.AuditRecord"] > first.users  # every user, department, division


@pytest.mark.django_db
def test_demo_has_one_account_per_role_with_valid_ids():
    demo.seed(residents=2, enterprises=1, policies=False, exchange=False, onestop=False)
    roles = set(
        User.objects.filter(username__in=[a.username for a in demo.ACCOUNTS]).values_list(
            "role", flat=True
        )
    )
    assert roles == set(Role.values)
    for user in User.objects.filter(synthetic=True):
        assert validate_resident_id(user.id_number).valid
        if user.role == Role.ENTERPRISE:
            assert validate_credit_code(user.credit_code).valid


@pytest.mark.django_db
def test_demo_district_has_4_streets_and_12_synthetic_communities():
    demo.seed(residents=1, enterprises=1, policies=False, exchange=False, onestop=False)
    communities = Division.objects.filter(level="community")
    assert communities.count() == 12 and all(c.synthetic for c in communities)
    assert len({c.parent_id for c in communities}) == 4
    assert all("演示" in c.name for c in communities)


@pytest.mark.django_db
def test_demo_cases_spread_over_the_workflow_through_the_actions():
    from yiwang.cases.models import Case

    kw = {"policies": False, "exchange": False, "onestop": False}
    demo.seed(residents=4, enterprises=1, people=50, things=5, organisations=5, cases=30, **kw)
    states = set(Case.objects.values_list("state_id", flat=True))
    assert Case.objects.count() == 30
    assert {"reported", "closed"} <= states and len(states) >= 4
    assert audit.verify().ok
    assert (
        demo.seed(
            residents=4, enterprises=1, people=50, things=5, organisations=5, cases=30, **kw
        ).cases
        == 0
    )
