"""The department console pages: inbox (scope, search, overdue), one task (what it shows, what it
masks), claim → decide through the forms, field errors that change nothing, 补正 pausing the
clock, downloads (scoped and audited), statistics, and the scope walk over the console cases."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from yiwang.core import testing
from yiwang.core.models import AuditRecord
from yiwang.onestop import present
from yiwang.onestop.models import ApprovalTask, TaskState
from yiwang.onestop.tests import scope_console  # noqa: F401  (registers the console cases)
from yiwang.onestop.tests.factories import PDF, build_kit, submitted_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def kit(world):
    return build_kit(world)


@pytest.fixture
def app(world, kit):
    from yiwang.registry.models import Organisation

    # the enterprise is in the registry, so its identity material is waived (shared data)
    Organisation.objects.create(
        credit_code=world["enterprise_a"].credit_code, name="测试企业a", synthetic=True
    )
    return submitted_application(kit, world["enterprise_a"])


@pytest.fixture
def reg(app):
    """The registration task (department scj; materials lease uploaded, id_copy waived)."""
    return app.tasks.get(implementation__code="I-reg")


@pytest.fixture
def scj(client, kit):
    client.force_login(kit.staff["scj"])
    return client


def _url(name, *args):
    return reverse(f"onestop:{name}", args=args)


def _html(resp):
    assert resp.status_code == 200, resp.status_code
    return resp.content.decode()


def _messages(resp):
    return [str(m) for m in resp.context["messages"]] if resp.context else []


# --- The inbox ----------------------------------------------------------------------------------
def test_inbox_lists_only_the_departments_own_tasks(scj, app, reg):
    html = _html(scj.get(_url("console_tasks")))
    assert f'data-task="{reg.pk}"' in html
    others = app.tasks.exclude(department=reg.department)
    assert others.exists()
    for t in others:
        assert f'data-task="{t.pk}"' not in html
    assert app.number in html and "事项reg" in html


def test_inbox_masks_the_applicant_code(scj, app, reg):
    html = _html(scj.get(_url("console_tasks")))
    assert app.applicant_code not in html
    assert present.staff_task(reg)["applicant_code"] in html


def test_inbox_counts_tasks_per_state(scj, reg):
    html = _html(scj.get(_url("console_tasks")))
    assert 'data-count="pending">' in html
    resp = scj.get(_url("console_tasks"))
    pending = next(c for c in resp.context["counts"] if c["state"] == TaskState.PENDING)
    assert pending["n"] == 1


def test_inbox_search_finds_by_number_and_by_applicant_name(scj, app, reg):
    assert f'data-task="{reg.pk}"' in _html(scj.get(_url("console_tasks"), {"q": app.number}))
    name = app.applicant_name[:2]
    assert f'data-task="{reg.pk}"' in _html(scj.get(_url("console_tasks"), {"q": name}))
    assert f'data-task="{reg.pk}"' not in _html(scj.get(_url("console_tasks"), {"q": "无此申请"}))


def test_overdue_filter_shows_only_overdue_tasks_in_red(scj, world, kit, reg):
    late_app = submitted_application(kit, world["enterprise_a"])
    late = late_app.tasks.get(implementation__code="I-reg")
    ApprovalTask.objects.filter(pk=late.pk).update(due_at=timezone.now() - dt.timedelta(hours=2))
    html = _html(scj.get(_url("console_tasks"), {"overdue": "1"}))
    assert f'data-task="{late.pk}"' in html
    assert f'data-task="{reg.pk}"' not in html
    assert 'data-due="overdue"' in html


def test_a_task_due_within_one_working_day_is_marked(scj, reg):
    ApprovalTask.objects.filter(pk=reg.pk).update(due_at=timezone.now() + dt.timedelta(minutes=5))
    html = _html(scj.get(_url("console_tasks")))
    assert 'data-due="soon"' in html


def test_inbox_is_audited_as_a_read_of_applicant_names(scj, kit, app, reg):
    scj.get(_url("console_tasks"))
    rec = AuditRecord.objects.filter(event="onestop.task_list_read").latest("seq")
    assert rec.actor == kit.staff["scj"].username
    assert app.pk in rec.detail["applications"]
    assert rec.purpose


# --- One task -----------------------------------------------------------------------------------
def test_task_page_shows_application_answers_form_materials_and_others(scj, app, reg):
    html = _html(scj.get(_url("console_task", reg.pk)))
    assert app.number in html
    assert 'data-answer="has_sign"' in html and 'data-answer="area"' in html
    assert 'data-field="shop_name"' in html and "小馆" in html
    lease = app.materials.get(material__key="lease")
    assert 'data-material="lease" data-state="uploaded"' in html
    assert lease.sha256 in html
    assert _url("console_material_file", reg.pk, lease.material_id) in html
    assert 'data-material="id_copy" data-state="waived"' in html
    # only this matter's materials
    assert 'data-material="sign_design"' not in html
    # other departments: department, matter and state only
    assert "xfj局" in html and "事项fire" in html
    assert 'data-testid="timeline"' in html and 'data-kind="submitted"' in html


def test_task_page_masks_personal_form_fields(scj, world, reg):
    html = _html(scj.get(_url("console_task", reg.pk)))
    phone = world["enterprise_a"].phone
    assert phone not in html
    assert f"{phone[:3]}****{phone[-4:]}" in html


def test_reading_the_task_is_audited_with_its_purpose(scj, kit, reg):
    scj.get(_url("console_task", reg.pk))
    rec = AuditRecord.objects.filter(event="onestop.application_read").latest("seq")
    assert rec.actor == kit.staff["scj"].username
    assert rec.object_id == str(reg.application_id)
    assert rec.purpose == "examining an application"


def test_a_pending_task_offers_only_the_claim(scj, reg):
    html = _html(scj.get(_url("console_task", reg.pk)))
    assert 'data-testid="claim-form"' in html
    assert 'data-testid="decide-form"' not in html
    assert 'data-testid="supplement-form"' not in html


def test_claim_then_approve_through_the_pages(scj, kit, reg):
    resp = scj.post(_url("console_task_claim", reg.pk), {"version": reg.version}, follow=True)
    assert resp.redirect_chain[-1][0] == _url("console_task", reg.pk)
    html = _html(resp)
    assert 'data-state="claimed"' in html
    assert 'data-testid="decide-form"' in html and 'data-testid="release-form"' in html
    reg.refresh_from_db()
    assert reg.claimed_by == kit.staff["scj"]
    resp = scj.post(
        _url("console_task_decide", reg.pk),
        {"decision": "approve", "version": reg.version},
        follow=True,
    )
    reg.refresh_from_db()
    assert reg.state == TaskState.APPROVED
    html = _html(resp)
    assert 'data-testid="task-state" data-state="approved"' in html
    assert 'data-testid="no-actions"' in html


def test_reject_without_a_reason_shows_the_field_error_and_changes_nothing(scj, reg):
    scj.post(_url("console_task_claim", reg.pk), {"version": reg.version})
    reg.refresh_from_db()
    before = (reg.state, reg.version)
    resp = scj.post(
        _url("console_task_decide", reg.pk), {"decision": "reject", "version": reg.version}
    )
    assert resp.status_code == 422
    html = resp.content.decode()
    assert 'data-error-for="reason"' in html
    reg.refresh_from_db()
    assert (reg.state, reg.version) == before


def test_reject_with_a_reason_shows_it(scj, reg):
    scj.post(_url("console_task_claim", reg.pk), {"version": reg.version})
    reg.refresh_from_db()
    resp = scj.post(
        _url("console_task_decide", reg.pk),
        {"decision": "reject", "reason": "经营范围不符", "version": reg.version},
        follow=True,
    )
    reg.refresh_from_db()
    assert reg.state == TaskState.REJECTED
    assert 'data-testid="reason">经营范围不符' in _html(resp)


def test_a_stale_version_is_a_conflict_message_and_changes_nothing(scj, reg):
    resp = scj.post(_url("console_task_claim", reg.pk), {"version": reg.version + 7}, follow=True)
    assert resp.status_code == 200
    assert any("reload" in m.lower() or "刷新" in m for m in _messages(resp))
    reg.refresh_from_db()
    assert reg.state == TaskState.PENDING


def test_supplement_request_pauses_the_task_and_shows_on_the_page(scj, reg):
    scj.post(_url("console_task_claim", reg.pk), {"version": reg.version})
    resp = scj.post(
        _url("console_task_supplement", reg.pk),
        {"note": "租赁合同缺页", "materials": ["lease"]},
        follow=True,
    )
    reg.refresh_from_db()
    assert reg.state == TaskState.SUPPLEMENT
    html = _html(resp)
    assert 'data-testid="supplement-open"' in html and "租赁合同缺页" in html
    assert 'data-due="paused"' in html
    inbox = _html(resp.client.get(_url("console_tasks")))
    assert 'data-due="paused"' in inbox


def test_supplement_without_a_note_shows_the_field_error(scj, reg):
    scj.post(_url("console_task_claim", reg.pk), {"version": reg.version})
    resp = scj.post(_url("console_task_supplement", reg.pk), {"note": "", "materials": ["lease"]})
    assert resp.status_code == 422
    html = resp.content.decode()
    assert 'data-error-for="note"' in html
    assert 'value="lease" checked' in html  # the ticked material stays ticked
    reg.refresh_from_db()
    assert reg.state == TaskState.CLAIMED


def test_release_puts_the_task_back_in_the_inbox(scj, reg):
    scj.post(_url("console_task_claim", reg.pk), {"version": reg.version})
    scj.post(_url("console_task_release", reg.pk))
    reg.refresh_from_db()
    assert reg.state == TaskState.PENDING and reg.claimed_by is None


# --- Scope --------------------------------------------------------------------------------------
def test_another_departments_staff_gets_404_on_the_task_and_its_file(client, kit, app, reg):
    client.force_login(kit.staff["xfj"])
    assert client.get(_url("console_task", reg.pk)).status_code == 404
    lease = kit.materials["lease"]
    assert client.get(_url("console_material_file", reg.pk, lease.pk)).status_code == 404
    assert client.post(_url("console_task_claim", reg.pk), {}).status_code == 404
    reg.refresh_from_db()
    assert reg.state == TaskState.PENDING


def test_a_resident_gets_404_on_the_console(client, world):
    client.force_login(world["resident_a"])
    assert client.get(_url("console_tasks")).status_code == 404


def test_a_material_of_another_matter_is_not_served_through_this_task(scj, kit, reg):
    sign = kit.materials["sign_design"]  # uploaded, but the signage department's
    assert scj.get(_url("console_material_file", reg.pk, sign.pk)).status_code == 404


# --- Downloads ----------------------------------------------------------------------------------
def test_download_serves_the_file_as_an_attachment_and_is_audited(scj, kit, reg):
    lease = kit.materials["lease"]
    resp = scj.get(_url("console_material_file", reg.pk, lease.pk))
    assert resp.status_code == 200
    assert b"".join(resp.streaming_content) == PDF
    assert resp["Content-Type"] == "application/pdf"
    assert resp["Content-Disposition"].startswith("attachment")
    rec = AuditRecord.objects.filter(event="onestop.material_downloaded").latest("seq")
    assert rec.actor == kit.staff["scj"].username
    assert rec.object_id == str(reg.application_id)
    assert rec.purpose and rec.detail["material"] == lease.pk


# --- Statistics ---------------------------------------------------------------------------------
def test_statistics_show_on_time_rate_average_time_and_matters(scj, reg):
    scj.post(_url("console_task_claim", reg.pk), {"version": reg.version})
    reg.refresh_from_db()
    scj.post(_url("console_task_decide", reg.pk), {"decision": "approve", "version": reg.version})
    resp = scj.get(_url("console_statistics"))
    html = _html(resp)
    assert 'data-figure="on_time">100.0%' in html
    assert 'data-count="approved">1<' in html
    assert 'data-matter="I-reg"' in html
    assert resp.context["hours"] is not None and resp.context["days"] is not None
    assert 'id="matter-data"' in html and "vendor/echarts/echarts.min.js" in html


def test_statistics_with_nothing_decided_show_dashes(scj, reg):
    html = _html(scj.get(_url("console_statistics")))
    assert 'data-figure="on_time">—' in html
    assert 'data-count="total">1<' in html


# --- The scope walk over the console cases ------------------------------------------------------
def _cases():
    testing.load_cases()
    return sorted(
        (k, c) for k, c in testing.REGISTRY.items() if k[1].startswith("/services/console")
    )


def test_every_console_page_has_a_scope_case():
    paths = {p for (_, p), _case in _cases()}
    pages = [p for p in testing.page_routes() if p.startswith("/services/console")]
    assert pages
    assert not [p for p in pages if p not in paths]


@pytest.fixture
def scoped_world(world):
    from yiwang.onestop.tests.scope_cases import build_onestop

    build_onestop(world)
    return world


@pytest.mark.parametrize(("key", "case"), _cases(), ids=[f"{m} {p}" for (m, p), _ in _cases()])
def test_scope(key, case, client, scoped_world):
    """Anonymous → login, out of scope → 404, in scope → success."""
    from yiwang.accounts.tests.test_scope import test_scope as walk

    walk(key, case, client, scoped_world)


# --- Claimed by someone else --------------------------------------------------------------------
def test_a_colleague_sees_who_claimed_it_and_gets_no_decision_form(client, kit, reg):
    from yiwang.accounts.roles import Role
    from yiwang.accounts.tests.factories import UserFactory

    colleague = UserFactory(
        username="staff_scj_2", role=Role.DEPT_STAFF, department=kit.departments["scj"]
    )
    client.force_login(kit.staff["scj"])
    client.post(_url("console_task_claim", reg.pk), {"version": reg.version})
    client.force_login(colleague)
    html = _html(client.get(_url("console_task", reg.pk)))
    assert kit.staff["scj"].username in html
    assert 'data-testid="decide-form"' not in html
    resp = client.post(_url("console_task_decide", reg.pk), {"decision": "approve"}, follow=True)
    assert _messages(resp)
    reg.refresh_from_db()
    assert reg.state == TaskState.CLAIMED


def test_the_department_leader_may_decide_a_task_a_colleague_claimed(client, kit, reg):
    client.force_login(kit.staff["scj"])
    client.post(_url("console_task_claim", reg.pk), {"version": reg.version})
    client.force_login(kit.staff["leader_scj"])
    html = _html(client.get(_url("console_task", reg.pk)))
    assert 'data-testid="decide-form"' in html
    reg.refresh_from_db()
    client.post(
        _url("console_task_decide", reg.pk),
        {"decision": "reject", "reason": "材料不实", "version": reg.version},
    )
    reg.refresh_from_db()
    assert reg.state == TaskState.REJECTED


def test_the_inbox_filters_update_in_place_with_htmx(scj, reg):
    html = _html(scj.get(_url("console_tasks")))
    assert 'hx-select="#task-region"' in html and 'id="task-region"' in html
