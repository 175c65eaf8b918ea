"""The 好差评 demo: services to rate for ``resident``, a spread of levels, rectifications in
several states, one appeal for ``dataadmin``; a second run adds nothing."""

from __future__ import annotations

import pytest

from yiwang import demo
from yiwang.accounts.models import User
from yiwang.core import audit
from yiwang.ratings import demo as ratings_demo
from yiwang.ratings import selectors
from yiwang.ratings.models import Appeal, Rating, Rectification


@pytest.mark.django_db
def test_ratings_demo_seed():
    report = demo.seed(
        residents=6,
        enterprises=1,
        people=10,
        things=5,
        organisations=5,
        cases=0,
        policies=False,
        exchange=False,
    )
    first = report.ratings  # yiwang.demo.seed runs the ratings seed
    assert first.invitations == 40 and first.ratings == 38 and first.rectifications >= 1
    resident = User.objects.get(username="resident")
    assert selectors.list_invitations_for(resident, status="pending").count() == 2
    assert Rectification.objects.filter(rating__rater=resident, status="rectified").exists()
    assert len({r.level for r in Rating.objects.all()}) >= 3
    dataadmin = User.objects.get(username="dataadmin")
    assert Appeal.objects.count() == 1
    assert selectors.list_appeals_for(dataadmin, status="pending").count() == 1
    assert selectors.public_statistics()
    again = ratings_demo.seed()
    assert (again.invitations, again.ratings) == (0, 0)
    assert audit.verify().ok
