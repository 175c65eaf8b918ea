"""The demo district's 一网通办: the catalog loads, every approving department has staff, and
applications exist in every state; a second seed changes nothing."""

from __future__ import annotations

import pytest

from yiwang import demo
from yiwang.onestop.models import Application, ApplicationStatus, Bundle, TaskState

pytestmark = pytest.mark.django_db


def test_demo_has_applications_in_every_state():
    report = demo.seed(policies=False, exchange=False)
    assert report.onestop.problems == []
    assert Bundle.objects.filter(status="published").count() >= 3
    done = Application.objects.get(idempotency_key="demo-restaurant-done")
    assert done.status == ApplicationStatus.COMPLETED
    departments = {t.department_id for t in done.tasks.all()}
    assert len(departments) >= 4
    assert all(t.state == TaskState.APPROVED for t in done.tasks.all())
    waiting = Application.objects.get(idempotency_key="demo-restaurant-supplement")
    assert waiting.status == ApplicationStatus.SUPPLEMENT
    assert Application.objects.get(idempotency_key="demo-relocation-draft").status == "draft"
    again = demo.seed(policies=False, exchange=False)
    assert again.onestop.applications == []
    assert Application.objects.count() == 4
