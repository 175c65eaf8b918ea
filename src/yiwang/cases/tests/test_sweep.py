"""The deadline sweep: yellow, red, escalation in bulk; suspended and closed cases untouched."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yiwang.cases import actions
from yiwang.cases.models import Case, Escalation, Message
from yiwang.cases.tests.factories import report, step, to_state
from yiwang.core.models import AuditRecord

pytestmark = pytest.mark.django_db
H = dt.timedelta(hours=1)


def _set(case, *, warn, due):
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(warn_at=now + warn, due_at=now + due)


def test_sweep_marks_yellow_and_red_and_escalates(cw):
    green = cw.extra["case_a"]
    yellow = report(cw, "a")
    red = to_state(cw, report(cw, "a"), "dispatched")
    suspended = step(cw, report(cw, "a"), "operator_a", "suspend", note="暂缓")
    closed = to_state(cw, report(cw, "a"), "closed")
    _set(green, warn=H, due=2 * H)
    _set(yellow, warn=-H, due=H)
    _set(red, warn=-2 * H, due=-H)
    _set(suspended, warn=-2 * H, due=-H)
    Case.objects.filter(pk=closed.pk).update(due_at=timezone.now() - H)

    out = actions.do_sweep_deadlines()
    assert out == {"yellow": 1, "red": 1, "escalated": 1}
    levels = dict(Case.objects.values_list("pk", "sla_level"))
    assert levels[green.pk] == "green"
    assert levels[yellow.pk] == "yellow"
    assert levels[red.pk] == "red"
    assert levels[suspended.pk] == "green"
    assert levels[closed.pk] == "green"
    esc = Escalation.objects.get()
    assert esc.case_id == red.pk and esc.stage == "handle"
    assert esc.department == cw.departments["bureau_a"]
    assert Message.objects.filter(
        kind="overdue", department=cw.departments["bureau_a"], role="dept_leader"
    ).exists()
    assert Message.objects.filter(
        kind="overdue", department=cw.departments["centre_a"], role="operator"
    ).exists()
    assert Case.objects.get(pk=red.pk).overdue_count == 1
    assert AuditRecord.objects.filter(event="cases.sweep").exists()


def test_sweep_is_idempotent(cw):
    _set(cw.extra["case_a"], warn=-2 * H, due=-H)
    assert actions.do_sweep_deadlines()["red"] == 1
    assert actions.do_sweep_deadlines() == {"yellow": 0, "red": 0, "escalated": 0}
    assert Escalation.objects.count() == 1


def test_yellow_turns_red_later(cw):
    case = cw.extra["case_a"]
    _set(case, warn=-H, due=H)
    # The other side's case keeps its real deadline, which (on the working-hours calendar) may
    # fall within the next two hours depending on when the test runs: move it out of the way.
    _set(cw.extra["case_b"], warn=100 * H, due=200 * H)
    actions.do_sweep_deadlines()
    out = actions.do_sweep_deadlines(now=timezone.now() + 2 * H)
    assert out["red"] == 1
    assert Case.objects.get(pk=case.pk).sla_level == "red"


def test_approved_extension_clears_red(cw):
    case = to_state(cw, cw.extra["case_a"], "handling")
    _set(case, warn=-2 * H, due=-H)
    actions.do_sweep_deadlines()
    case = step(
        cw,
        Case.objects.get(pk=case.pk),
        "dept_staff_a",
        "request_extension",
        note="等材料",
        hours=40,
    )
    case = step(cw, case, "operator_a", "approve_extension")
    assert case.sla_level in {"green", "yellow"} and case.overdue_since is None


def test_the_periodic_task_runs_the_sweep(cw):
    from yiwang.cases.tasks import sweep_deadlines

    _set(cw.extra["case_a"], warn=-2 * H, due=-H)
    result = sweep_deadlines.call_local()
    assert result["red"] == 1
