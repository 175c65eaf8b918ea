"""The application flow through the actions: prefill, drafts, materials, submission, parallel
department approvals, supplements pausing the clock, stages, completion and deadlines."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yiwang.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yiwang.core.models import AuditRecord
from yiwang.onestop import actions, selectors
from yiwang.onestop.models import ApplicationStatus, MaterialState, TaskState
from yiwang.onestop.tests.factories import PDF, PNG, build_kit

pytestmark = pytest.mark.django_db


@pytest.fixture
def kit(world):
    return build_kit(world)


def _ready(world, kit, *, has_sign=True, area=40, commitment=True):
    from yiwang.registry.models import Organisation

    applicant = world["enterprise_a"]
    Organisation.objects.get_or_create(
        credit_code=applicant.credit_code, defaults={"name": "测试企业a", "synthetic": True}
    )
    app = actions.do_start_application(actor=applicant, bundle_code="shop")
    answers = {"has_sign": has_sign, "area": area}
    if area > 50:
        answers["food"] = "hot"
    app, errors = actions.do_save_draft(
        actor=applicant, application_id=app.pk, answers=answers, form={"shop_name": "小馆"}
    )
    assert errors == {}
    actions.do_upload_material(
        actor=applicant,
        application_id=app.pk,
        material_id=kit.materials["lease"].pk,
        name="lease.pdf",
        data=PDF,
    )
    if has_sign:
        actions.do_upload_material(
            actor=applicant,
            application_id=app.pk,
            material_id=kit.materials["sign_design"].pk,
            name="sign.png",
            data=PNG,
        )
    return actions.do_submit_application(
        actor=applicant, application_id=app.pk, commitment=commitment
    )


def _task(app, key):
    return app.tasks.get(implementation__code=f"I-{key}")


def test_start_prefills_from_the_account_and_says_from_where(world, kit):
    app = actions.do_start_application(actor=world["enterprise_a"], bundle_code="shop")
    values = actions.form_values(app)
    assert values["credit_code"] == world["enterprise_a"].credit_code
    assert values["phone"] == world["enterprise_a"].phone
    assert app.prefilled["credit_code"]["source"] == "profile:credit_code"
    assert app.prefilled["credit_code"]["label"]
    assert "phone" not in app.form  # personal fields are sealed, not in the plain JSON


def test_start_with_the_same_key_returns_the_same_draft(world, kit):
    a = actions.do_start_application(
        actor=world["enterprise_a"], bundle_code="shop", idempotency_key="k1"
    )
    b = actions.do_start_application(
        actor=world["enterprise_a"], bundle_code="shop", idempotency_key="k1"
    )
    assert a.pk == b.pk


def test_unknown_bundle_is_not_found(world, kit):
    with pytest.raises(NotFound):
        actions.do_start_application(actor=world["enterprise_a"], bundle_code="nope")


def test_staff_cannot_apply(world, kit):
    with pytest.raises(Forbidden):
        actions.do_start_application(actor=world["dept_staff_a"], bundle_code="shop")


def test_answers_decide_the_matters_and_materials(world, kit):
    app = actions.do_start_application(actor=world["enterprise_a"], bundle_code="shop")
    p = actions.plan(kit.bundle, {"has_sign": False, "area": 80, "food": "cold"})
    assert {i.implementation.code for i in p.items} == {"I-reg", "I-fire", "I-tax"}
    assert "cold_room" in {m.key for m in p.materials}
    assert "seats" in {f.key for f in p.fields}
    p2 = actions.plan(kit.bundle, {"has_sign": True, "area": 10})
    assert "I-sign" in {i.implementation.code for i in p2.items}
    assert "cold_room" not in {m.key for m in p2.materials}
    assert app.status == ApplicationStatus.DRAFT


def test_a_question_shown_only_on_a_condition(world, kit):
    p = actions.plan(kit.bundle, {"has_sign": True, "area": 80})
    assert [q.key for q in p.situation.unanswered] == ["food"]
    p = actions.plan(kit.bundle, {"has_sign": True, "area": 20})
    assert p.situation.unanswered == []


def test_draft_keeps_good_values_and_reports_bad_ones(world, kit):
    applicant = world["enterprise_a"]
    app = actions.do_start_application(actor=applicant, bundle_code="shop")
    app, errors = actions.do_save_draft(
        actor=applicant,
        application_id=app.pk,
        answers={"has_sign": "maybe", "area": "12"},
        form={"shop_name": "好店", "phone": "12345"},
    )
    assert set(errors) == {"answers.has_sign", "phone"}
    assert app.answers == {"area": 12}
    values = actions.form_values(app)
    assert values["shop_name"] == "好店"
    assert values["phone"] == applicant.phone  # the bad value did not replace the good one


def test_material_from_shared_data_and_from_a_certificate_issued_in_the_bundle_are_waived(
    world, kit
):
    from yiwang.registry.models import Organisation

    Organisation.objects.create(
        credit_code=world["enterprise_a"].credit_code, name="测试企业a", synthetic=True
    )
    applicant = world["enterprise_a"]
    app = actions.do_start_application(actor=applicant, bundle_code="shop")
    actions.do_save_draft(
        actor=applicant, application_id=app.pk, answers={"has_sign": False, "area": 10}
    )
    states = {am.material.key: am for am in app.materials.select_related("material")}
    assert states["id_copy"].state == MaterialState.WAIVED
    assert states["id_copy"].waived_by == "registry:organisation"
    assert states["licence"].state == MaterialState.WAIVED
    assert states["licence"].waived_by == "issued-in-application:business_licence"
    assert states["lease"].state == MaterialState.MISSING


def test_wrong_type_or_size_is_refused_and_nothing_changes(world, kit):
    applicant = world["enterprise_a"]
    app = actions.do_start_application(actor=applicant, bundle_code="shop")
    lease = kit.materials["lease"]
    with pytest.raises(ValidationFailed) as e:
        actions.do_upload_material(
            actor=applicant, application_id=app.pk, material_id=lease.pk, name="a.png", data=PNG
        )
    assert "pdf" in e.value.fields["materials.lease"][0]
    with pytest.raises(ValidationFailed) as e:
        actions.do_upload_material(
            actor=applicant, application_id=app.pk, material_id=lease.pk, name="a.pdf", data=PNG
        )
    assert "materials.lease" in e.value.fields
    with pytest.raises(ValidationFailed) as e:
        actions.do_upload_material(
            actor=applicant,
            application_id=app.pk,
            material_id=lease.pk,
            name="big.pdf",
            data=PDF + b"0" * 200 * 1024,
        )
    assert "KB" in e.value.fields["materials.lease"][0]
    assert app.materials.get(material=lease).state == MaterialState.MISSING


def test_submission_lists_every_missing_answer_field_and_material(world, kit):
    applicant = world["enterprise_a"]
    app = actions.do_start_application(actor=applicant, bundle_code="shop")
    actions.do_save_draft(actor=applicant, application_id=app.pk, answers={"area": 80})
    with pytest.raises(ValidationFailed) as e:
        actions.do_submit_application(actor=applicant, application_id=app.pk)
    fields = e.value.fields
    assert {"answers.has_sign", "answers.food", "shop_name", "materials.lease"} <= set(fields)
    app.refresh_from_db()
    assert app.status == ApplicationStatus.DRAFT
    assert not app.tasks.exists()


def test_deferrable_material_needs_the_commitment(world, kit):
    with pytest.raises(ValidationFailed) as e:
        _ready(world, kit, commitment=False)
    assert "materials.plan" in e.value.fields


def test_submit_opens_parallel_tasks_with_working_day_deadlines(world, kit):
    app = _ready(world, kit)
    assert app.status == ApplicationStatus.SUBMITTED
    assert app.commitment is True
    assert app.materials.get(material__key="plan").state == MaterialState.DEFERRED
    states = {t.implementation.code: t.state for t in app.tasks.all()}
    assert states == {
        "I-reg": TaskState.PENDING,
        "I-sign": TaskState.PENDING,
        "I-fire": TaskState.PENDING,
        "I-tax": TaskState.WAITING,
    }
    reg = _task(app, "reg")
    worked = actions.CALENDAR.between(reg.started_at, reg.due_at)
    assert worked == dt.timedelta(hours=8 * 3)


def test_submit_once(world, kit):
    app = _ready(world, kit)
    with pytest.raises(Conflict):
        actions.do_submit_application(actor=world["enterprise_a"], application_id=app.pk)


def test_another_department_cannot_approve(world, kit):
    app = _ready(world, kit)
    reg = _task(app, "reg")
    with pytest.raises(Forbidden) as e:
        actions.do_claim_task(actor=kit.staff["cgj"], task_id=reg.pk)
    assert "scj" in str(e.value.message)
    with pytest.raises(NotFound):
        actions.do_claim_task(actor=world["dept_staff_b"], task_id=reg.pk)
    reg.refresh_from_db()
    assert reg.state == TaskState.PENDING


def test_rejection_needs_a_reason(world, kit):
    app = _ready(world, kit)
    reg = _task(app, "reg")
    actions.do_claim_task(actor=kit.staff["scj"], task_id=reg.pk)
    with pytest.raises(ValidationFailed) as e:
        actions.do_decide_task(actor=kit.staff["scj"], task_id=reg.pk, approve=False)
    assert "reason" in e.value.fields


def test_supplement_pauses_the_clock_and_the_answer_resumes_it(world, kit):
    app = _ready(world, kit)
    reg = _task(app, "reg")
    staff = kit.staff["scj"]
    actions.do_claim_task(actor=staff, task_id=reg.pk)
    before = _task(app, "reg").due_at
    actions.do_request_supplement(
        actor=staff, task_id=reg.pk, note="租赁合同缺少盖章页", materials=["lease"]
    )
    app.refresh_from_db()
    assert app.status == ApplicationStatus.SUPPLEMENT
    assert app.materials.get(material__key="lease").state == MaterialState.MISSING
    with pytest.raises(ValidationFailed):  # the new file is not there yet
        actions.do_answer_supplement(actor=world["enterprise_a"], application_id=app.pk)
    actions.do_upload_material(
        actor=world["enterprise_a"],
        application_id=app.pk,
        material_id=kit.materials["lease"].pk,
        name="lease2.pdf",
        data=PDF + b"%stamped",
    )
    actions.do_answer_supplement(actor=world["enterprise_a"], application_id=app.pk, note="已补")
    reg = _task(app, "reg")
    assert reg.state == TaskState.CLAIMED
    assert reg.due_at >= before
    app.refresh_from_db()
    assert app.status == ApplicationStatus.IN_REVIEW


def test_all_approve_then_the_next_stage_then_completed(world, kit):
    app = _ready(world, kit)
    for key in ("reg", "sign", "fire"):
        t = _task(app, key)
        actions.do_claim_task(
            actor=kit.staff[{"reg": "scj", "sign": "cgj", "fire": "xfj"}[key]], task_id=t.pk
        )
        actions.do_decide_task(
            actor=kit.staff[{"reg": "scj", "sign": "cgj", "fire": "xfj"}[key]],
            task_id=t.pk,
            approve=True,
        )
    tax = _task(app, "tax")
    assert tax.state == TaskState.PENDING and tax.due_at is not None
    app.refresh_from_db()
    assert app.status == ApplicationStatus.IN_REVIEW
    actions.do_claim_task(actor=kit.staff["swj"], task_id=tax.pk)
    actions.do_decide_task(actor=kit.staff["swj"], task_id=tax.pk, approve=True)
    app.refresh_from_db()
    assert app.status == ApplicationStatus.COMPLETED
    assert app.completed_at is not None
    kinds = list(app.timeline.values_list("kind", flat=True))
    assert kinds[-1] == "finished"
    assert AuditRecord.objects.filter(event="onestop.task_approved").count() == 4


def test_a_rejection_in_stage_one_cancels_the_later_stage(world, kit):
    app = _ready(world, kit, has_sign=False)
    fire = _task(app, "fire")
    actions.do_claim_task(actor=kit.staff["xfj"], task_id=fire.pk)
    actions.do_decide_task(actor=kit.staff["xfj"], task_id=fire.pk, approve=False, reason="不合格")
    reg = _task(app, "reg")
    actions.do_claim_task(actor=kit.staff["scj"], task_id=reg.pk)
    actions.do_decide_task(actor=kit.staff["scj"], task_id=reg.pk, approve=True)
    app.refresh_from_db()
    assert _task(app, "tax").state == TaskState.CANCELLED
    assert app.status == ApplicationStatus.PARTLY


def test_any_completion_cancels_the_others(world):
    kit = build_kit(world, completion="any", two_stages=False)
    app = _ready(world, kit, has_sign=False)
    reg = _task(app, "reg")
    actions.do_claim_task(actor=kit.staff["scj"], task_id=reg.pk)
    actions.do_decide_task(actor=kit.staff["scj"], task_id=reg.pk, approve=True)
    app.refresh_from_db()
    assert app.status == ApplicationStatus.COMPLETED
    assert _task(app, "fire").state == TaskState.CANCELLED


def test_a_stale_version_is_refused(world, kit):
    app = _ready(world, kit)
    reg = _task(app, "reg")
    with pytest.raises(Conflict):
        actions.do_claim_task(actor=kit.staff["scj"], task_id=reg.pk, version=reg.version + 5)


def test_matter_completed_event_carries_the_rating_payload(world, kit, monkeypatch):
    from yiwang.core import events

    seen = []
    monkeypatch.setattr(events, "publish", lambda name, payload: seen.append((name, payload)))
    app = _ready(world, kit)
    reg = _task(app, "reg")
    actions.do_claim_task(actor=kit.staff["scj"], task_id=reg.pk)
    actions.do_decide_task(actor=kit.staff["scj"], task_id=reg.pk, approve=True)
    done = [p for n, p in seen if n == "onestop.matter_completed"]
    assert done and done[0]["service_ref"] == f"onestop.approvaltask:{reg.pk}"
    assert done[0]["applicant_user_id"] == world["enterprise_a"].pk


def test_sweep_reminds_then_escalates_once(world, kit):
    app = _ready(world, kit)
    reg = _task(app, "reg")
    counts = actions.do_sweep_deadlines(now=reg.due_at - dt.timedelta(minutes=30))
    assert counts["reminded"] >= 1
    counts = actions.do_sweep_deadlines(now=reg.due_at + dt.timedelta(hours=1))
    assert counts["escalated"] >= 1
    again = actions.do_sweep_deadlines(now=reg.due_at + dt.timedelta(hours=2))
    assert again == {"reminded": 0, "escalated": 0}
    reg.refresh_from_db()
    assert reg.escalated_at is not None


def test_staff_see_only_their_departments_tasks(world, kit):
    app = _ready(world, kit)
    seen = {t.implementation.code for t in selectors.list_tasks_for(kit.staff["scj"])}
    assert seen == {"I-reg"}
    assert not selectors.list_tasks_for(kit.staff["swj"]).exists()  # stage 2 still waiting
    assert not selectors.list_tasks_for(world["resident_a"]).exists()
    with pytest.raises(NotFound):
        selectors.access_task(kit.staff["cgj"], _task(app, "reg").pk)


def test_statistics_count_on_time_decisions(world, kit):
    app = _ready(world, kit)
    reg = _task(app, "reg")
    actions.do_claim_task(actor=kit.staff["scj"], task_id=reg.pk)
    actions.do_decide_task(actor=kit.staff["scj"], task_id=reg.pk, approve=True)
    stats = selectors.department_statistics(kit.staff["scj"])
    assert stats.decided == 1 and stats.on_time_rate == 1.0
    assert stats.by_matter[0]["code"] == "I-reg"
    assert timezone.now() >= reg.started_at


def test_a_field_named_like_a_question_takes_the_answer(world, kit):
    from yiwang.onestop.models import FormField

    FormField.objects.create(bundle=kit.bundle, key="area", label="面积", kind="number", order=9)
    applicant = world["enterprise_a"]
    app = actions.do_start_application(actor=applicant, bundle_code="shop")
    app, errors = actions.do_save_draft(
        actor=applicant, application_id=app.pk, answers={"area": 42}, form={"area": "7"}
    )
    assert errors == {}
    assert actions.form_values(app)["area"] == 42
    assert app.prefilled["area"]["source"] == "answer:area"


def test_one_upload_serves_every_matter_asking_for_the_same_material(world, kit):
    from yiwang.onestop.models import Material

    twin = Material.objects.create(
        implementation=kit.implementations["fire"], key="lease", name="租赁合同", formats=["pdf"]
    )
    applicant = world["enterprise_a"]
    app = actions.do_start_application(actor=applicant, bundle_code="shop")
    actions.do_save_draft(
        actor=applicant, application_id=app.pk, answers={"has_sign": False, "area": 10}
    )
    actions.do_upload_material(
        actor=applicant,
        application_id=app.pk,
        material_id=kit.materials["lease"].pk,
        name="lease.pdf",
        data=PDF,
    )
    other = app.materials.get(material=twin)
    assert other.state == MaterialState.UPLOADED
    assert other.file.name == app.materials.get(material=kit.materials["lease"]).file.name


def test_staff_find_an_application_by_the_applicants_code(world, kit):
    app = _ready(world, kit)
    found = selectors.list_tasks_for(kit.staff["scj"], q=world["enterprise_a"].credit_code)
    assert {t.application_id for t in found} == {app.pk}
    assert not selectors.list_tasks_for(kit.staff["scj"], q="91330106MA0000000X").exists()
