"""The four-week follow-up of 部件 cases: asked once, answered, reopened when still broken."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from yiwang.cases import followup
from yiwang.cases.models import Case, CaseEvent, Category, CategoryKind, Message, RoutingRule
from yiwang.cases.tests.factories import report, step, to_state
from yiwang.core.errors import Conflict, Forbidden, NotFound
from yiwang.core.models import AuditRecord

pytestmark = pytest.mark.django_db

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _daytime_after(case: Case) -> dt.datetime:
    """10:00 Shanghai on the day after the follow-up date."""
    d = timezone.localtime(case.follow_up_at).date() + dt.timedelta(days=1)
    return dt.datetime(d.year, d.month, d.day, 10, tzinfo=SHANGHAI)


@pytest.fixture
def outbox(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.YIWANG_EMAIL_BACKEND = "file"
    settings.YIWANG_SMS_BACKEND = "file"

    def read(channel: str) -> list[dict]:
        path = tmp_path / "outbox" / f"{channel}.jsonl"
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]

    return read


@pytest.fixture
def closed(cw):
    case = to_state(cw, report(cw), "closed")
    assert case.category.kind == CategoryKind.COMPONENT
    assert case.follow_up_at is not None
    return case


def test_closing_a_component_case_sets_the_date_four_weeks_ahead(closed):
    assert closed.follow_up_at - closed.closed_at == dt.timedelta(weeks=4)


def test_nothing_is_due_before_the_date(closed):
    before = closed.follow_up_at - dt.timedelta(days=1)
    assert followup.do_send_follow_ups(now=before, daytime_only=False) == {"asked": 0}


def test_due_case_is_asked_once(cw, closed, outbox, django_capture_on_commit_callbacks):
    now = _daytime_after(closed)
    with django_capture_on_commit_callbacks(execute=True):
        assert followup.do_send_follow_ups(now=now) == {"asked": 1}
    assert followup.do_send_follow_ups(now=now) == {"asked": 0}
    assert CaseEvent.objects.filter(case=closed, transition="follow_up").count() == 1
    msg = Message.objects.get(case=closed, kind="follow_up")
    assert msg.recipient == cw.users["resident_a"]
    assert "是否仍已解决" in msg.text
    sms = outbox("sms")[-1]
    assert sms["body"].startswith(f"【一网统管】您反映的问题案件 #{closed.pk}（井盖破损）已于")
    assert AuditRecord.objects.filter(event="cases.follow_up_sent", object_id=closed.pk).exists()


def test_no_questions_at_night(closed):
    d = timezone.localtime(closed.follow_up_at).date() + dt.timedelta(days=1)
    night = dt.datetime(d.year, d.month, d.day, 23, tzinfo=SHANGHAI)
    assert followup.do_send_follow_ups(now=night)["asked"] == 0
    assert followup.do_send_follow_ups(now=night, daytime_only=False)["asked"] == 1


def test_rated_cases_are_asked_too_but_event_cases_are_not(cw, closed):
    from yiwang.cases import actions

    actions.do_rate_case(actor=cw.users["resident_a"], case_id=closed.pk, rating=5)
    event_cat = Category.objects.filter(kind=CategoryKind.EVENT, public=True).first()
    RoutingRule.objects.create(category=event_cat, department=cw.departments["bureau_a"])
    other = report(cw, category=event_cat.service_code, attributes={})
    other = to_state(cw, other, "closed")
    assert other.follow_up_at is None
    assert set(followup.due_follow_ups(_daytime_after(closed))) == {closed}


def test_reporter_says_still_fixed(cw, closed):
    followup.do_send_follow_ups(now=_daytime_after(closed))
    case = followup.do_answer_follow_up(
        actor=cw.users["resident_a"], case_id=closed.pk, still_fixed=True
    )
    assert case.state_id == "closed" and not case.under_review
    with pytest.raises(Conflict):  # answered once
        followup.do_answer_follow_up(
            actor=cw.users["resident_a"], case_id=closed.pk, still_fixed=False
        )


def test_reporter_says_still_broken_sends_the_case_to_review(cw, closed):
    followup.do_send_follow_ups(now=_daytime_after(closed))
    case = followup.do_answer_follow_up(
        actor=cw.users["resident_a"], case_id=closed.pk, still_fixed=False, note="又坏了"
    )
    assert case.under_review and case.state_id == "closed"
    msg = Message.objects.get(case=closed, kind="follow_up_broken")
    assert msg.department == cw.departments["centre_a"] and msg.role == "operator"
    event = CaseEvent.objects.get(case=closed, transition="follow_up_answer")
    assert event.detail == {"still_fixed": False, "on_behalf": False}
    assert event.note == "又坏了"


def test_operator_recording_still_broken_reopens_the_case(cw, closed):
    followup.do_send_follow_ups(now=_daytime_after(closed))
    case = followup.do_answer_follow_up(
        actor=cw.users["operator_a"], case_id=closed.pk, still_fixed=False
    )
    assert case.state_id == "registered"
    assert case.closed_at is None and case.follow_up_at is None
    reopen = CaseEvent.objects.get(case=closed, transition="reopen")
    assert reopen.note == "回访：报告人反映问题仍未解决"
    assert AuditRecord.objects.filter(event="cases.reopen", object_id=closed.pk).exists()


def test_closing_again_starts_a_new_follow_up(cw, closed):
    followup.do_send_follow_ups(now=_daytime_after(closed))
    followup.do_answer_follow_up(actor=cw.users["operator_a"], case_id=closed.pk, still_fixed=False)
    case = Case.objects.get(pk=closed.pk)
    for actor, t, kw in [
        ("operator_a", "dispatch", {}),
        ("dept_staff_a", "start", {}),
        ("dept_staff_a", "feedback", {"note": "再次修复"}),
        ("operator_a", "verify_pass", {}),
    ]:
        case = step(cw, case, actor, t, **kw)
    assert case.state_id == "closed"
    assert followup.do_send_follow_ups(now=_daytime_after(case)) == {"asked": 1}


def test_no_answer_without_a_question(cw, closed):
    with pytest.raises(Conflict):
        followup.do_answer_follow_up(
            actor=cw.users["resident_a"], case_id=closed.pk, still_fixed=False
        )


def test_only_the_reporter_or_the_centre_answers(cw, closed):
    followup.do_send_follow_ups(now=_daytime_after(closed))
    with pytest.raises(Forbidden):
        followup.do_answer_follow_up(
            actor=cw.users["dept_staff_a"], case_id=closed.pk, still_fixed=False
        )
    with pytest.raises(NotFound):
        followup.do_answer_follow_up(
            actor=cw.users["operator_b"], case_id=closed.pk, still_fixed=False
        )
