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


def test_the_record_of_a_prefill_read_stays_when_the_draft_fails(monkeypatch):
    """The exchange is asked before the draft's transaction: if creating the draft fails
    afterwards, the log of what was read (and its audit record) is not rolled back with it."""
    from yiwang.accounts.models import User
    from yiwang.core.models import AuditRecord
    from yiwang.onestop import actions

    demo.seed(policies=False, exchange=True)
    enterprise = Application.objects.get(idempotency_key="demo-relocation-draft").applicant
    assert isinstance(enterprise, User)
    before = set(ExchangeLog.objects.values_list("pk", flat=True))
    apps_before = Application.objects.count()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(actions, "_sync_materials", broken)
    with pytest.raises(RuntimeError):
        actions.do_start_application(actor=enterprise, bundle_code="enterprise-relocation")
    assert Application.objects.count() == apps_before
    new_logs = ExchangeLog.objects.exclude(pk__in=before)
    assert new_logs.exists()
    assert all(log.case_ref.startswith("onestop:YW") for log in new_logs)
    audited = AuditRecord.objects.filter(
        event="exchange.call", object_id__in=[str(log.pk) for log in new_logs]
    )
    assert audited.count() == new_logs.count()
