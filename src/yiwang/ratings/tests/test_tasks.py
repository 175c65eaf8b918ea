"""The rectification sweep: overdue once, the department notified once; unconfirmed closed."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from yiwang.core import notify
from yiwang.core.models import AuditRecord
from yiwang.ratings import actions
from yiwang.ratings.models import RectificationStatus
from yiwang.ratings.tests import factories as f

pytestmark = pytest.mark.django_db


def _sms_lines():
    path = notify.outbox_dir() / "sms.jsonl"
    return [json.loads(x) for x in path.read_text("utf-8").splitlines()] if path.exists() else []


def test_a_rectification_past_its_deadline_is_marked_overdue(world, run):
    rect = f.rate(world, f.invite(world), "1").rectification
    counts = run(actions.do_sweep_rectifications, now=rect.due_at + dt.timedelta(minutes=1))
    rect.refresh_from_db()
    assert (counts["overdue"], rect.overdue) == (1, True)


def test_a_rectification_before_its_deadline_is_not_overdue(world, run):
    rect = f.rate(world, f.invite(world), "1").rectification
    run(actions.do_sweep_rectifications, now=rect.due_at - dt.timedelta(minutes=1))
    rect.refresh_from_db()
    assert rect.overdue is False


def test_the_department_is_notified_once_by_sms_and_email(world, run, settings):
    settings.YIWANG_SMS_BACKEND = "file"
    before = len(_sms_lines())
    rect = f.rate(world, f.invite(world), "1").rectification
    later = rect.due_at + dt.timedelta(hours=1)
    run(actions.do_sweep_rectifications, now=later)
    run(actions.do_sweep_rectifications, now=later + dt.timedelta(hours=1))
    sent = AuditRecord.objects.filter(event="ratings.notification_sent")
    handlers = {world.users["dept_staff_a"].pk, world.users["dept_leader_a"].pk}
    assert {int(r.subject_id) for r in sent} == handlers
    assert sent.count() == 4  # two people × sms and email
    new = _sms_lines()[before:]
    assert len(new) == 2 and all("差评整改任务" in x["body"] and "****" in x["to"] for x in new)


def test_several_overdue_tasks_make_one_message_per_person_and_channel(world, run, settings):
    settings.YIWANG_SMS_BACKEND = "file"
    before = len(_sms_lines())
    rects = [f.rate(world, f.invite(world), "1").rectification for _ in range(3)]
    run(actions.do_sweep_rectifications, now=max(r.due_at for r in rects) + dt.timedelta(hours=1))
    new = _sms_lines()[before:]
    assert len(new) == 2 and all("有 3 件" in x["body"] for x in new)


def test_each_handler_is_written_to_in_their_own_language(world, run, settings):
    """ADR 0022: the leader chose English, the staff member nothing (zh-Hans)."""
    settings.YIWANG_SMS_BACKEND = "file"
    leader, staff = world.users["dept_leader_a"], world.users["dept_staff_a"]
    leader.language = "en"
    leader.save(update_fields=["language"])
    before = len(_sms_lines())
    rect = f.rate(world, f.invite(world), "1").rectification
    run(actions.do_sweep_rectifications, now=rect.due_at + dt.timedelta(hours=1))
    by_to = {x["to"]: x["body"] for x in _sms_lines()[before:]}
    assert by_to[notify.mask_recipient("sms", leader.phone)] == (
        f"【好差评】1 rectification task of your department for a poor rating is past its "
        f"deadline (#{rect.pk}): follow up and rectify it as soon as possible."
    )
    assert by_to[notify.mask_recipient("sms", staff.phone)] == (
        f"【好差评】您部门有 1 件差评整改任务已超过整改期限（#{rect.pk}），请尽快回访并整改。"
    )


def test_a_rectified_task_is_not_marked_overdue(world, run):
    rect = f.rate(world, f.invite(world), "1").rectification
    staff = world.users["dept_staff_a"]
    actions.do_record_callback(actor=staff, rectification_id=rect.pk, notes="已回访")
    actions.do_record_rectification(actor=staff, rectification_id=rect.pk, result="已整改")
    run(actions.do_sweep_rectifications, now=rect.due_at + dt.timedelta(days=1))
    rect.refresh_from_db()
    assert rect.overdue is False


def test_an_unconfirmed_rectification_is_closed_after_five_working_days(world, run):
    rect = f.rate(world, f.invite(world), "1").rectification
    staff = world.users["dept_staff_a"]
    actions.do_record_callback(actor=staff, rectification_id=rect.pk, notes="已回访")
    rect = actions.do_record_rectification(actor=staff, rectification_id=rect.pk, result="已整改")
    run(actions.do_sweep_rectifications, now=timezone.now() + dt.timedelta(days=20))
    rect.refresh_from_db()
    assert rect.status == RectificationStatus.CLOSED


def test_the_sweep_runs_as_a_periodic_job(world, monkeypatch):
    from yiwang.ratings.tasks import sweep_rectifications

    rect = f.rate(world, f.invite(world), "1").rectification
    monkeypatch.setattr(timezone, "now", lambda: rect.due_at + dt.timedelta(minutes=5))
    assert sweep_rectifications.call_local() == {"overdue": 1, "closed": 0}
