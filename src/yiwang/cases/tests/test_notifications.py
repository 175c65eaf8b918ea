"""Email and SMS for case messages: who gets what, in zh-Hans, once, and failures retried."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone, translation

from yiwang.cases import actions, notifications
from yiwang.cases.models import Message, Open311Client
from yiwang.cases.tests.factories import loc, report, step
from yiwang.core import notify
from yiwang.core.models import AuditRecord

pytestmark = pytest.mark.django_db


class BrokenSms:
    """A gateway that is down (a transient failure)."""

    def send(self, message: notify.Outgoing) -> None:
        raise notify.NotifyError("gateway unreachable: ConnectionRefusedError")


class RefusingSms:
    def send(self, message: notify.Outgoing) -> None:
        raise notify.NotifyError("gateway answered 400", permanent=True)


@pytest.fixture
def outbox(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    settings.YIWANG_EMAIL_BACKEND = "file"
    settings.YIWANG_SMS_BACKEND = "file"
    box = tmp_path / "outbox"

    def read(channel: str) -> list[dict]:
        path = box / f"{channel}.jsonl"
        if not path.exists():
            return []
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]

    return read


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run an action and deliver its after-commit events (huey is immediate in tests)."""

    def go(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return go


def _masked(phone: str) -> str:
    return notify.mask_recipient("sms", phone)


def _to(lines: list[dict]) -> list[str]:
    return [m["to"] for m in lines]


def test_report_sends_the_reporter_and_the_centre_sms_and_email(cw, outbox, run):
    case = run(report, cw)
    resident, operator = cw.users["resident_a"], cw.users["operator_a"]
    sms = outbox("sms")
    assert _to(sms) == [_masked(resident.phone), _masked(operator.phone)]
    assert sms[0]["body"] == (
        f"【一网统管】您反映的问题（井盖破损）已收到，案件编号 #{case.pk}。我们将尽快处理。"
    )
    assert sms[1]["body"] == f"【一网统管】新案件 #{case.pk}（井盖破损）待受理。"
    mail = outbox("email")
    assert _to(mail) == [
        notify.mask_recipient("email", resident.email),
        notify.mask_recipient("email", operator.email),
    ]
    assert mail[0]["subject"] == f"【一网统管】案件 #{case.pk} 已受理登记"


def test_contact_details_given_with_the_report_are_preferred(cw, outbox, run):
    run(report, cw, contact_phone="13900001111", contact_email="li@example.org")
    assert _to(outbox("sms"))[0] == "139****1111"
    assert _to(outbox("email"))[0] == "l***@example.org"


def test_each_message_is_sent_once(cw, outbox, run):
    case = run(report, cw)
    before = len(outbox("sms"))
    for m in Message.objects.filter(case=case):
        assert notifications.deliver_message(m.pk)["sent"] == 0
    notifications.queue_case_messages({"case_id": case.pk})
    # The next change sends only its own messages.
    run(step, cw, case, "operator_a", "accept")
    sms = outbox("sms")
    assert len(sms) == before + 1
    assert sms[-1]["body"].endswith("有新进展：受理立案。")
    assert AuditRecord.objects.filter(
        event=notifications.SENT, detail__case=case.pk
    ).count() == len(sms) + len(outbox("email"))


def test_handlers_hear_of_dispatched_cases(cw, outbox, run):
    case = run(report, cw)
    case = run(step, cw, case, "operator_a", "accept")
    run(step, cw, case, "operator_a", "dispatch")
    staff = {_masked(cw.users[u].phone) for u in ("dept_staff_a", "dept_leader_a")}
    last = outbox("sms")[-3:]
    assert {m["to"] for m in last[1:]} == staff
    assert all(m["body"] == f"【一网统管】案件 #{case.pk}（井盖破损）：派遣。" for m in last[1:])


def test_texts_follow_the_readers_language_not_the_actors(cw, outbox, run):
    """An operator working in English leaves messages a Chinese reader reads in Chinese; the
    stored text is the platform default's (ADR 0022)."""
    with translation.override("en"):
        case = run(report, cw)
        run(step, cw, case, "operator_a", "accept")
    m = Message.objects.filter(case=case, kind="accept", recipient__isnull=False).get()
    assert m.text == f"案件 #{case.pk}：受理立案。"
    with translation.override("zh-hans"):
        assert m.render() == m.text
    with translation.override("en"):
        assert m.render() == f"Case #{case.pk}: Accept and register."
    assert outbox("sms")[-1]["body"].endswith("受理立案。")


def test_email_and_sms_in_the_recipients_own_language(cw, outbox, run):
    resident, operator = cw.users["resident_a"], cw.users["operator_a"]
    resident.language = "en"
    resident.save(update_fields=["language"])
    case = run(report, cw)
    sms = {m["to"]: m["body"] for m in outbox("sms")}
    assert sms[_masked(resident.phone)] == (
        f"【一网统管】Your report (井盖破损) was received; case number #{case.pk}. "
        "We will deal with it as soon as possible."
    )
    # The operator chose nothing: the platform default.
    assert sms[_masked(operator.phone)] == f"【一网统管】新案件 #{case.pk}（井盖破损）待受理。"
    mail = {m["to"]: m for m in outbox("email")}
    mine = mail[notify.mask_recipient("email", resident.email)]
    assert mine["subject"] == f"【一网统管】Case #{case.pk} Report received"
    assert mine["body"].endswith("This email was sent automatically; please do not reply to it.")
    run(step, cw, case, "operator_a", "accept")
    assert outbox("sms")[-1]["body"] == (
        f"【一网统管】Your report case #{case.pk} (井盖破损) has progressed: Accept and register."
    )


def test_in_app_messages_in_the_readers_language_over_the_api(cw, client, run):
    case = run(report, cw)
    resident = cw.users["resident_a"]
    client.force_login(resident)
    zh = client.get("/api/v1/cases/messages").json()["items"]
    en = client.get("/api/v1/cases/messages", HTTP_ACCEPT_LANGUAGE="en").json()["items"]
    assert [m["text"] for m in zh if m["case_id"] == case.pk] == ["您的反映已收到。"]
    assert [m["text"] for m in en if m["case_id"] == case.pk] == ["Your report was received."]
    assert en[0]["params"] == {}
    # The inbox page follows the account's language on a device with no language cookie.
    page = client.get("/console/cases/messages/").text
    assert "您的反映已收到。" in page and "Your report was received." not in page
    resident.language = "en"
    resident.save(update_fields=["language"])
    page = client.get("/console/cases/messages/").text
    assert "Your report was received." in page and "您的反映已收到。" not in page


def test_overdue_summaries_render_per_reader_and_old_rows_keep_their_text(cw):
    m = Message.objects.create(kind="overdue", params={"n": 3, "scope": "area"}, text="x")
    with translation.override("en"):
        assert m.render() == "3 cases in your area became overdue."
    with translation.override("zh-hans"):
        assert m.render() != "3 cases in your area became overdue."
    old = Message.objects.create(kind="overdue", text="旧的文本")  # written before params
    with translation.override("en"):
        assert old.render() == "旧的文本"


def test_reporter_without_an_account_gets_the_public_steps(cw, outbox, run):
    client = Open311Client.objects.get()
    data = {
        "category": "C01004",
        "description": "井盖破损",
        "attributes": {"hazard": "yes"},
        "contact_phone": "13700002222",
        **loc(cw),
    }
    case = run(actions.do_report_case, actor=None, data=data, open311_client=client)
    run(step, cw, case, "operator_a", "accept")
    mine = [m for m in outbox("sms") if m["to"] == "137****2222"]
    assert [m["body"][-5:] for m in mine] == ["尽快处理。", "受理立案。"]
    assert "13700002222" not in json.dumps(list(AuditRecord.objects.values("detail")))


def test_opted_out_reporter_gets_in_app_messages_only(cw):
    from yiwang.cases.actions import do_set_reporter_settings
    from yiwang.cases.models import Message

    case = report(cw)
    assert notifications.reporter_deliveries(case) != []
    do_set_reporter_settings(actor=cw.users["resident_a"], notify_opt_out=True)
    assert notifications.reporter_deliveries(case) == []
    assert Message.objects.filter(recipient=cw.users["resident_a"], case=case).exists()
    do_set_reporter_settings(actor=cw.users["resident_a"], notify_opt_out=False)
    assert notifications.reporter_deliveries(case) != []


def test_personal_data_reads_are_audited_without_the_values(cw, outbox, run):
    case = run(report, cw, contact_phone="13900001111")
    rec = AuditRecord.objects.filter(event=notifications.SENT, detail__ref="sms:reporter").get()
    assert rec.fields == ["contact_phone"]
    assert rec.detail["to"] == "139****1111"
    assert rec.detail["case"] == case.pk


def test_a_failing_gateway_never_breaks_the_action_and_is_retried(settings, cw, outbox, run):
    settings.YIWANG_SMS_BACKEND = f"{__name__}.BrokenSms"
    case = run(report, cw)
    assert case.pk and case.state_id == "reported"
    failed = AuditRecord.objects.filter(event=notifications.FAILED, result="failed")
    assert failed.count() == 2  # reporter and operator SMS
    assert len(outbox("email")) == 2  # email went out regardless
    message = Message.objects.get(case=case, recipient=cw.users["resident_a"])
    with pytest.raises(notifications.DeliveryFailed):
        notifications.deliver_message(message.pk)
    # The gateway is back: the queue's retry sends the SMS and not the email again.
    settings.YIWANG_SMS_BACKEND = "file"
    assert notifications.deliver_message(message.pk) == {"sent": 1, "skipped": 1, "failed": 0}
    assert len(outbox("email")) == 2


def test_a_refused_message_is_recorded_and_not_retried(settings, cw, outbox):
    settings.YIWANG_SMS_BACKEND = f"{__name__}.RefusingSms"
    case = report(cw)
    message = Message.objects.get(case=case, recipient=cw.users["resident_a"])
    counts = notifications.deliver_message(message.pk)
    assert counts == {"sent": 1, "skipped": 0, "failed": 1}
    rec = AuditRecord.objects.get(event=notifications.FAILED)
    assert rec.detail["permanent"] is True


def test_old_messages_are_not_sent_on_a_later_change(cw):
    case = report(cw)
    later = timezone.now() + notifications.MAX_AGE + dt.timedelta(hours=1)
    assert notifications.pending_message_ids(case.pk) != []
    assert notifications.pending_message_ids(case.pk, now=later) == []
