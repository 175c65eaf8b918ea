"""The exchange demo: five departments' datasets, grants, logged calls; idempotent."""

from __future__ import annotations

import pytest

from yiwang import demo
from yiwang.core import audit
from yiwang.exchange import demo as exchange_demo
from yiwang.exchange import selectors
from yiwang.exchange.models import Dataset, ExchangeLog, Grant


@pytest.mark.django_db
def test_exchange_demo_seed():
    demo.seed(
        residents=6,
        enterprises=2,
        people=20,
        things=5,
        organisations=8,
        cases=0,
        exchange=False,
        onestop=False,
    )
    first = exchange_demo.seed()
    assert first.datasets == 5 and first.rows > 0 and first.grants == len(exchange_demo.GRANTS)
    owners = set(Dataset.objects.values_list("owner__code", flat=True))
    assert {o.rsplit("-", 1)[-1] for o in owners} == {"scj", "swj", "rsj", "kjj", "mzj"}
    statuses = set(Grant.objects.values_list("status", flat=True))
    assert {"approved", "narrowed", "refused", "requested"} <= statuses
    assert ExchangeLog.objects.filter(result="ok").count() >= 3
    assert ExchangeLog.objects.filter(result="denied").count() >= 1
    from yiwang.accounts.models import User

    ent = User.objects.get(username="enterprise")
    assert selectors.list_my_accesses(ent).count() >= 2
    again = exchange_demo.seed()
    assert (again.datasets, again.rows, again.grants, again.calls) == (0, 0, 0, 0)
    assert audit.verify().ok
