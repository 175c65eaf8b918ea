"""With the exchange seeded, the lead department holds a grant and the relocation form of the
demo enterprise arrives with fields from the market regulator's dataset, each with its source."""

from __future__ import annotations

import pytest

from yiwang import demo
from yiwang.exchange.models import ExchangeLog
from yiwang.onestop.models import Application

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_relocation_form_is_prefilled_through_the_exchange():
    report = demo.seed(policies=False, exchange=True)
    assert report.onestop.problems == []
    draft = Application.objects.get(idempotency_key="demo-relocation-draft")
    sources = {k: v["source"] for k, v in draft.prefilled.items()}
    assert sources.get("legal_rep") == "exchange:scj_enterprise_registration.legal_rep"
    assert ExchangeLog.objects.filter(case_ref=f"onestop:{draft.number}").exists()
