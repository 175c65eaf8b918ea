"""The resident's side: inbox with unread marks, email/SMS opt-out, the follow-up answer on
"my case", and a dissatisfied rating that asks the centre to reopen."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from yiwang.cases import followup
from yiwang.cases.models import Case, Message, ReporterSettings
from yiwang.cases.tests.factories import step, to_state
from yiwang.core.models import AuditRecord

pytestmark = pytest.mark.django_db


def _login(client, cw, key):
    client.force_login(cw.users[key])
    return client


def test_inbox_lists_unread_and_marks_read(client, cw):
    me = cw.users["resident_a"]
    case = step(cw, cw.extra["case_a"], "operator_a", "accept")
    mine = list(Message.objects.filter(recipient=me).order_by("pk"))
    assert len(mine) == 2  # received, accepted
    _login(client, cw, "resident_a")
    page = client.get("/console/cases/messages/").content.decode()
    assert page.count('data-unread="true"') == 2 and 'data-testid="unread-count"' in page
    assert f'href="/console/cases/mine/{case.pk}/"' in page
    # one read
    assert client.post("/console/cases/messages/read/", {"id": mine[0].pk}).status_code == 302
    mine[0].refresh_from_db()
    mine[1].refresh_from_db()
    assert mine[0].read_at is not None and mine[1].read_at is None
    # someone else cannot mark mine
    _login(client, cw, "resident_b")
    client.post("/console/cases/messages/read/", {"id": mine[1].pk})
    mine[1].refresh_from_db()
    assert mine[1].read_at is None
    assert str(mine[1].text) not in client.get("/console/cases/messages/").content.decode()
    # the API: all
    _login(client, cw, "resident_a")
    out = client.post("/api/v1/cases/messages/read", {}, content_type="application/json").json()
    assert out == {"marked": 1, "unread": 0}
    assert AuditRecord.objects.filter(event="cases.messages_read").count() == 2


def test_staff_see_department_messages_without_marking_them(client, cw):
    _login(client, cw, "operator_a")
    page = client.get("/console/cases/messages/").content.decode()
    assert 'data-unread="false"' in page and 'data-testid="read-' not in page


def test_opt_out_on_my_reports(client, cw):
    _login(client, cw, "resident_a")
    assert 'data-testid="notify-form"' in client.get("/console/cases/mine/").content.decode()
    assert client.post("/console/cases/mine/settings/", {"notify_opt_out": "1"}).status_code == 302
    assert ReporterSettings.objects.get(user=cw.users["resident_a"]).notify_opt_out is True
    assert client.get("/api/v1/cases/settings").json() == {"notify_opt_out": True}
    resp = client.put(
        "/api/v1/cases/settings", {"notify_opt_out": False}, content_type="application/json"
    )
    assert resp.json() == {"notify_opt_out": False}
    assert AuditRecord.objects.filter(event="cases.reporter_settings").count() == 2


def test_dissatisfied_reporter_asks_to_reopen_and_the_centre_decides(client, cw):
    case = to_state(cw, cw.extra["case_a"], "closed")
    _login(client, cw, "resident_a")
    bad = client.post(f"/console/cases/mine/{case.pk}/rate/", {"rating": "5", "reopen": "1"})
    assert bad.status_code == 422 and 'id="reopen-err"' in bad.content.decode()
    resp = client.post(
        f"/console/cases/mine/{case.pk}/rate/",
        {"rating": "2", "reopen": "1", "comment": "井盖还是松的"},
    )
    assert resp.status_code == 302
    case.refresh_from_db()
    assert (case.state_id, case.rating, case.under_review) == ("rated", 2, True)
    centre = cw.departments["centre_a"]
    asked = Message.objects.get(department=centre, kind="review", case=case)
    assert "asks to reopen" in asked.text or "重开" in asked.text
    assert case.events.get(transition="rate").detail["reopen_requested"] is True
    # the centre's choices now: reopen, or keep it closed with a reason
    _login(client, cw, "operator_a")
    codes = [t["code"] for t in client.get(f"/api/v1/cases/{case.pk}").json()["transitions"]]
    assert {"reopen", "close_review"} <= set(codes)
    step(cw, case, "operator_a", "close_review", note="现场复核：井盖已固定")
    case.refresh_from_db()
    assert (case.state_id, case.under_review) == ("rated", False)
    codes = [t["code"] for t in client.get(f"/api/v1/cases/{case.pk}").json()["transitions"]]
    assert "close_review" not in codes
    # the reporter hears of the decision
    assert Message.objects.filter(
        recipient=cw.users["resident_a"], case=case, kind="close_review"
    ).exists()


def test_follow_up_answered_on_my_case(client, cw):
    case = to_state(cw, cw.extra["case_a"], "closed")
    assert case.follow_up_at is not None  # 部件: asked four weeks later
    _login(client, cw, "resident_a")
    assert (
        'data-testid="follow-up"'
        not in client.get(f"/console/cases/mine/{case.pk}/").content.decode()
    )
    Case.objects.filter(pk=case.pk).update(follow_up_at=timezone.now() - dt.timedelta(hours=1))
    assert followup.do_send_follow_ups(daytime_only=False)["asked"] == 1
    page = client.get(f"/console/cases/mine/{case.pk}/").content.decode()
    assert 'data-testid="follow-up"' in page
    assert (
        client.post(f"/console/cases/mine/{case.pk}/follow-up/", {"still_fixed": "maybe"})
    ).status_code == 422
    resp = client.post(
        f"/console/cases/mine/{case.pk}/follow-up/", {"still_fixed": "no", "note": "又坏了"}
    )
    assert resp.status_code == 302
    case.refresh_from_db()
    assert case.under_review is True
    page = client.get(f"/console/cases/mine/{case.pk}/").content.decode()
    assert 'data-testid="follow-up"' not in page and 'data-testid="under-review"' in page
    # answered once: a second answer is refused with a message, nothing recorded
    client.post(f"/console/cases/mine/{case.pk}/follow-up/", {"still_fixed": "yes"})
    assert case.events.filter(transition=followup.ANSWERED).count() == 1
