"""The public statistics are cached, and every change that moves them drops the cache."""

from __future__ import annotations

import pytest

from yiwang.ratings import actions, selectors
from yiwang.ratings.models import Rating
from yiwang.ratings.tests import factories as f

pytestmark = pytest.mark.django_db


def test_a_new_rating_shows_at_once(world):
    f.rate(world, f.invite(world), "5")
    assert selectors.public_statistics()[0]["total"] == 1
    f.rate(world, f.invite(world), "4")
    assert selectors.public_statistics()[0]["total"] == 2


def test_a_write_outside_the_actions_waits_for_the_cache_to_expire(world):
    rating = f.rate(world, f.invite(world), "5")
    assert selectors.public_statistics()[0]["levels"]["5"] == 1
    Rating.objects.filter(pk=rating.pk).update(level="1")
    assert selectors.public_statistics()[0]["levels"]["5"] == 1
    assert selectors.compute_public_statistics()[0]["levels"]["5"] == 0


def test_an_appeal_decision_drops_the_cache(world):
    rating = f.rate(world, f.invite(world), "1")
    appeal = actions.do_appeal_rating(
        actor=world.users["dept_staff_a"], rating_id=rating.pk, reason="恶意评价"
    )
    assert selectors.public_statistics()[0]["total"] == 1
    actions.do_decide_appeal(
        actor=world.users["data_admin_a"], appeal_id=appeal.pk, exclude=True, notes="经核实"
    )
    assert selectors.public_statistics() == []
