"""Intake, the workflow, ratings, routing, pausing and extensions, through the actions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yiwang.cases import actions, selectors
from yiwang.cases.models import Case, CaseEvent, Category, Message, RoutingRule
from yiwang.cases.tests.factories import loc, report, step, to_state
from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditRecord

pytestmark = pytest.mark.django_db


def test_seeded_catalog_has_the_common_categories():
    names = set(Category.objects.values_list("name", flat=True))
    assert {
        "井盖破损",
        "路灯不亮",
        "占道经营",
        "乱堆物料",
        "违章停车",
        "噪声扰民",
        "暴露垃圾",
    } <= names
    assert Category.objects.count() >= 40
    assert all(len(c) == 5 and c.isdigit() for c in Category.objects.values_list("code", flat=True))


def test_resident_report_is_located_routed_and_timed(cw):
    case = cw.extra["case_a"]
    assert case.state_id == "reported"
    assert case.grid == cw.extra["grid_a"]
    assert case.department == cw.departments["bureau_a"]
    assert case.routing_reason.startswith("rule ")
    assert case.sla_stage == "accept" and case.due_at > case.created_at
    assert case.channel == "portal"
    assert CaseEvent.objects.filter(case=case, transition="report").exists()
    assert AuditRecord.objects.filter(event="cases.reported", object_id=str(case.pk)).exists()
    assert Message.objects.filter(case=case, department=cw.departments["centre_a"]).exists()


def test_routing_falls_back_to_the_command_centre(cw):
    RoutingRule.objects.all().delete()
    case = report(cw, "a")
    assert case.department == cw.departments["centre_a"]
    assert "fallback" in case.routing_reason


def test_grid_and_category_rule_beats_the_area_rule(cw):
    other = cw.departments["admin_a"]
    cat = Category.objects.get(kind="component", code="01004")
    RoutingRule.objects.create(grid=cw.extra["grid_a"], category=cat, department=other)
    assert report(cw, "a").department == other


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lng": 10.0, "lat": 10.0}, "lat"),
        ({"category": "C99999"}, "category"),
        ({"attributes": {}}, "attribute[hazard]"),
        ({"attributes": {"hazard": "maybe"}}, "attribute[hazard]"),
        ({"description": "x" * 4001}, "description"),
        ({"photos": [{"name": "a.gif", "content_type": "image/gif", "size": 10}]}, "photos.0"),
        (
            {"photos": [{"name": "a.jpg", "content_type": "image/jpeg", "size": 11 << 20}]},
            "photos.0",
        ),
        ({"channel": "12345"}, "channel"),
        ({"contact_phone": "call me"}, "contact_phone"),
    ],
)
def test_bad_intake_is_rejected_and_nothing_is_saved(cw, data, field):
    before = Case.objects.count()
    channel = data.pop("channel", None)
    body = {"category": "C01004", "description": "井盖", "attributes": {"hazard": "yes"}}
    body.update(loc(cw))
    body.update(data)
    with pytest.raises(ValidationFailed) as exc:
        actions.do_report_case(actor=cw.users["resident_a"], data=body, channel=channel)
    assert field in exc.value.fields
    assert Case.objects.count() == before


def test_hotline_report_needs_a_request_type(cw):
    body = {"category": "E02001", "description": "占道经营", **loc(cw)}
    with pytest.raises(ValidationFailed) as exc:
        actions.do_report_case(actor=cw.users["operator_a"], data=body)
    assert "request_type" in exc.value.fields
    case = actions.do_report_case(
        actor=cw.users["operator_a"], data={**body, "request_type": "complaint", "address": "x"}
    )
    assert case.channel == "12345" and case.request_type == "complaint"


def test_admins_may_not_report(cw):
    with pytest.raises(Forbidden):
        report(cw, "a", actor="sysadmin_a")


def test_the_main_path_to_rating(cw):
    case = cw.extra["case_a"]
    case = step(cw, case, "operator_a", "accept")
    assert case.state_id == "registered" and case.sla_stage == "dispatch"
    case = step(cw, case, "operator_a", "dispatch")
    assert case.state_id == "dispatched" and case.sla_stage == "handle"
    assert Message.objects.filter(case=case, department=cw.departments["bureau_a"]).exists()
    case = step(cw, case, "dept_staff_a", "start")
    case = step(
        cw,
        case,
        "dept_staff_a",
        "feedback",
        note="已处置",
        attachments=[{"name": "after.jpg", "content_type": "image/jpeg", "size": 2048}],
    )
    assert case.state_id == "verifying" and case.sla_stage == "verify"
    case = step(cw, case, "grid_worker_a", "verify_fail", note="井盖仍松动")
    assert case.state_id == "handling"
    case = step(cw, case, "dept_staff_a", "feedback", note="已加固")
    case = step(cw, case, "grid_worker_a", "verify_pass")
    assert case.state_id == "closed" and case.closed_at and case.sla_stage == ""
    assert case.follow_up_at is not None  # 部件: the four-week follow-up
    case = actions.do_rate_case(actor=cw.users["resident_a"], case_id=case.pk, rating=5)
    assert case.state_id == "rated" and not case.under_review
    timeline = list(case.events.values_list("transition", flat=True))
    assert timeline == [
        "report",
        "accept",
        "dispatch",
        "start",
        "feedback",
        "verify_fail",
        "feedback",
        "verify_pass",
        "rate",
    ]
    assert (
        case.events.get(transition="feedback", note="已处置").attachments[0]["name"] == "after.jpg"
    )
    assert Message.objects.filter(recipient=cw.users["resident_a"]).count() >= 6


def test_dissatisfied_rating_goes_to_review_and_may_be_reopened(cw):
    case = to_state(cw, cw.extra["case_a"], "closed")
    case = actions.do_rate_case(
        actor=cw.users["resident_a"], case_id=case.pk, rating=2, comment="没修好"
    )
    assert case.under_review
    assert Message.objects.filter(kind="review", department=cw.departments["centre_a"]).exists()
    case = step(cw, case, "operator_a", "reopen", note="回访不满意")
    assert case.state_id == "registered" and not case.under_review


def test_only_the_reporter_rates_and_only_once(cw):
    case = to_state(cw, cw.extra["case_a"], "closed")
    with pytest.raises(Forbidden):
        actions.do_rate_case(actor=cw.users["operator_a"], case_id=case.pk, rating=4)
    actions.do_rate_case(actor=cw.users["resident_a"], case_id=case.pk, rating=4)
    with pytest.raises(Conflict):
        actions.do_rate_case(actor=cw.users["resident_a"], case_id=case.pk, rating=1)
    with pytest.raises(ValidationFailed):
        actions.do_rate_case(actor=cw.users["resident_a"], case_id=case.pk, rating=6)


def test_who_may_take_a_step_is_enforced(cw):
    case = cw.extra["case_a"]
    with pytest.raises(NotFound):  # another district's operator does not see it
        step(cw, case, "operator_b", "accept")
    with pytest.raises(NotFound):  # the department sees it only once dispatched
        step(cw, case, "dept_staff_a", "accept")
    with pytest.raises(Forbidden):  # the reporter sees it but may not accept it
        step(cw, case, "resident_a", "accept")
    with pytest.raises(Conflict):  # not from this state
        step(cw, case, "operator_a", "dispatch")
    with pytest.raises(ValidationFailed):
        step(cw, case, "operator_a", "reject")  # no reason
    assert Case.objects.get(pk=case.pk).state_id == "reported"


def test_reject_with_a_reason_closes(cw):
    case = step(cw, cw.extra["case_a"], "operator_a", "reject", note="不属于城市管理范围")
    assert case.state_id == "rejected" and case.state.open311_status == "closed"


def test_dispatch_to_another_department_needs_a_reason_and_records_it(cw):
    case = step(cw, cw.extra["case_a"], "operator_a", "accept")
    other = cw.departments["admin_a"]
    with pytest.raises(ValidationFailed):
        step(cw, case, "operator_a", "dispatch", department_id=other.pk)
    case = step(cw, case, "operator_a", "dispatch", department_id=other.pk, note="数据局负责")
    assert case.department == other and case.routing_reason.startswith("manual")


def test_return_and_reassign(cw):
    case = to_state(cw, cw.extra["case_a"], "dispatched")
    case = step(cw, case, "dept_staff_a", "return", note="非本部门职责")
    assert case.state_id == "registered" and case.dispatched_at is None
    with pytest.raises(NotFound):
        step(cw, case, "dept_staff_a", "start")
    case = step(cw, case, "operator_a", "dispatch")
    case = step(
        cw, case, "operator_a", "reassign", department_id=cw.departments["admin_a"].pk, note="改派"
    )
    assert case.department == cw.departments["admin_a"]


def test_suspension_pauses_the_clock(cw):
    case = to_state(cw, cw.extra["case_a"], "dispatched")
    due = case.due_at
    case = step(cw, case, "operator_a", "suspend", note="等待天气好转")
    assert case.suspended_at is not None
    with pytest.raises(Conflict):
        step(cw, case, "dept_staff_a", "start")
    Case.objects.filter(pk=case.pk).update(suspended_at=case.suspended_at - dt.timedelta(days=7))
    case = step(cw, Case.objects.get(pk=case.pk), "operator_a", "resume")
    assert case.suspended_at is None and case.due_at > due


def test_extension_request_and_approval_moves_the_deadline(cw):
    case = to_state(cw, cw.extra["case_a"], "handling")
    due = case.due_at
    with pytest.raises(ValidationFailed):
        step(cw, case, "dept_staff_a", "request_extension", note="需采购", hours=0)
    case = step(cw, case, "dept_staff_a", "request_extension", note="需采购井盖", hours=16)
    assert case.extension_hours == 16 and case.due_at == due
    with pytest.raises(Forbidden):
        step(cw, case, "dept_staff_a", "approve_extension")
    case = step(cw, case, "operator_a", "approve_extension")
    assert case.extension_hours is None
    from yiwang.cases.calendar import DEFAULT

    assert DEFAULT.between(due, case.due_at) == dt.timedelta(hours=16)


def test_merge_into_an_open_case(cw):
    first = cw.extra["case_a"]
    dupe = report(cw, "a", description="同一个井盖")
    dupe = step(cw, dupe, "operator_a", "merge", target_id=first.pk)
    assert dupe.state_id == "merged" and dupe.merged_into == first
    with pytest.raises(ValidationFailed):
        step(cw, report(cw, "a"), "operator_a", "merge", target_id=cw.extra["case_b"].pk)


def test_void_and_allowed_transitions(cw):
    case = cw.extra["case_a"]
    codes = {t.code for t in selectors_allowed(cw, "operator_a", case)}
    assert {"accept", "reject", "suspend", "merge", "void"} <= codes
    assert "resume" not in codes
    assert not selectors_allowed(cw, "resident_a", case)
    case = step(cw, case, "operator_a", "void", note="恶意举报")
    assert case.state_id == "void"


def selectors_allowed(cw, actor, case):
    from yiwang.cases.workflow import allowed_transitions

    return allowed_transitions(cw.users[actor], case)


def test_scoping_of_lists(cw):
    a, b = cw.extra["case_a"], cw.extra["case_b"]
    ids = lambda actor: set(selectors.list_cases_for(cw.users[actor]).values_list("pk", flat=True))  # noqa: E731
    assert ids("resident_a") == {a.pk}
    assert ids("grid_worker_a") == {a.pk}
    assert ids("operator_a") == {a.pk}
    assert ids("dept_staff_a") == set()
    assert ids("sysadmin_a") == set()
    to_state(cw, a, "dispatched")
    assert ids("dept_staff_a") == {a.pk}
    assert b.pk not in ids("dept_leader_a")


def test_nearby_duplicates(cw):
    case = cw.extra["case_a"]
    g = cw.extra["grid_a"]
    cat = case.category
    near = selectors.nearby_open_cases(cat, g.centroid_lng + 0.0003, g.centroid_lat)  # ~29 m
    assert [c.pk for c, _ in near] == [case.pk]
    assert not selectors.nearby_open_cases(cat, g.centroid_lng + 0.001, g.centroid_lat)  # ~96 m
    other = Category.objects.get(kind="event", code="01001")
    assert not selectors.nearby_open_cases(other, g.centroid_lng, g.centroid_lat)
    later = timezone.now() + dt.timedelta(hours=73)
    assert not selectors.nearby_open_cases(cat, g.centroid_lng, g.centroid_lat, now=later)


def test_statistics_rates(cw):
    a = to_state(cw, cw.extra["case_a"], "closed")
    actions.do_rate_case(actor=cw.users["resident_a"], case_id=a.pk, rating=5)
    report(cw, "a")
    rows = selectors.statistics_for(cw.users["operator_a"], "department")
    assert len(rows) == 1
    r = rows[0]
    assert r["total"] == 2 and r["response_rate"] == 0.5
    assert r["resolution_rate"] == 1.0 and r["satisfaction_rate"] == 1.0
    assert r["on_time_rate"] == 1.0
